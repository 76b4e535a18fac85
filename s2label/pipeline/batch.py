"""Many scenes, each through the whole pipeline, as Dask tasks (in this process when no cluster is asked for).

Each scene runs :func:`s2label.run` into a temporary folder beside its output folder, which is renamed into
place only when the run is complete: an output folder is always a finished run, never a partial one, whatever
happens to the worker. The same code runs on a ``LocalCluster`` made here (``workers=N``) or on any
``dask.distributed`` cluster whose client you pass.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from s2label._atomic import ensure_writable_dir
from s2label._dask import local_client
from s2label.errors import OutputError, S2LabelError
from s2label.io.scene import Scene
from s2label.pipeline.run_folder import run_name
from s2label.pipeline.runner import run

__all__ = ["SceneRun", "run_many"]


@dataclass(frozen=True)
class SceneRun:
    """What one scene's run gave.

    Attributes
    ----------
    name : str
        The scene's output folder name.
    out_dir : Path
        The finished run (``report.json``, rasters, GeoJSON, model), or where it would have been.
    ok : bool
    error : str
        Why it failed ("" when ``ok``).
    n_segments, n_clusters : int
    seconds : float
        Wall time of the run on its worker.
    """

    name: str
    out_dir: Path
    ok: bool
    error: str = ""
    n_segments: int = 0
    n_clusters: int = 0
    seconds: float = 0.0


def _name(source: Any, index: int) -> str:
    """``<iii>-<run name>``: the index keeps scenes of the same name apart."""
    return f"{index:03d}-{run_name(source)}"


def _run_one(source: Any, folder: str, options: dict[str, Any]) -> SceneRun:
    """One scene into ``folder``, published by a rename when complete (runs on a worker)."""
    target = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    t0 = time.perf_counter()
    try:
        result = run(source, out=tmp, progress=False, **options)
        os.replace(tmp, target)
    except S2LabelError as exc:
        return SceneRun(target.name, target, False, str(exc), seconds=time.perf_counter() - t0)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return SceneRun(target.name, target, True, n_segments=result.segmentation.n_segments,
                    n_clusters=result.clustering.n_clusters, seconds=time.perf_counter() - t0)


def run_many(scenes: Sequence[Any], out: str | os.PathLike[str], *, client: Any = None, workers: int | None = None,
             retries: int = 1, progress: bool = True, **run_options: Any) -> list[SceneRun]:
    """Run the pipeline on many scenes, one Dask task each.

    Parameters
    ----------
    scenes : sequence
        Anything :func:`s2label.run` takes: paths, ``.SAFE`` folders, STAC items, :class:`~s2label.Scene`.
    out : path-like
        Parent folder: scene ``i`` goes to ``out/<iii>-<name>``. An existing scene folder is refused up front.
    client : dask.distributed.Client, optional
        Run the scenes on this cluster.
    workers : int, optional
        Without ``client``: start a ``LocalCluster`` of this many single-threaded worker processes for the
        call. Neither: run the scenes one after the other in this process.
    retries : int
        Times Dask retries a scene whose task raised an unexpected error (a worker lost mid-run is
        rescheduled by Dask itself). A scene that fails with an :class:`~s2label.errors.S2LabelError`
        (bad input) is not retried: it is reported in its :class:`SceneRun`.
    progress : bool
        A progress bar over the scenes.
    **run_options
        Passed to :func:`s2label.run` (``encoder``, ``segment_size``, ``seed``...). On Dask workers torch
        uses one thread unless ``num_threads`` is given.

    Returns
    -------
    list of SceneRun
        In the order of ``scenes``; ``ok`` is False for the scenes that failed (no folder is left for them).

    Raises
    ------
    OutputError
        If a scene's output folder exists already, or ``out`` cannot be written.
    """
    parent = ensure_writable_dir(out)
    folders = [parent / _name(s, i) for i, s in enumerate(scenes)]
    existing = [f for f in folders if f.exists()]
    if existing:
        raise OutputError(f"holds {len(existing)} run(s) already ({existing[0].name}...); choose another folder",
                          path=parent)
    if "out" in run_options or "progress" in run_options:
        raise TypeError("run_many sets out and progress itself")
    bar = tqdm(total=len(folders), desc="scenes", unit="scene", disable=not progress)
    if client is None and workers is None:
        results = []
        for source, folder in zip(scenes, folders, strict=True):
            results.append(_run_one(source, str(folder), dict(run_options)))
            bar.update()
        bar.close()
        return results
    options = {"num_threads": 1} | dict(run_options)
    if client is not None:
        return _on_dask(client, scenes, folders, options, retries, bar)
    with local_client(int(workers or 1)) as own_client:
        return _on_dask(own_client, scenes, folders, options, retries, bar)


def _on_dask(client: Any, scenes: Sequence[Any], folders: list[Path], options: dict[str, Any], retries: int,
             bar: Any) -> list[SceneRun]:
    from dask.distributed import as_completed

    # scenes already in memory travel to the workers as data, not inside the task graph
    sources = [client.scatter(s) if isinstance(s, Scene) else s for s in scenes]
    futures = [client.submit(_run_one, source, str(folder), options, pure=False, retries=retries,
                             key=f"s2label-{folder.name}-{id(folders)}")
               for source, folder in zip(sources, folders, strict=True)]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[SceneRun | None] = [None] * len(futures)
    for future in as_completed(futures):
        i = index[future.key]
        try:
            results[i] = future.result()
        except Exception as exc:  # the task itself failed (a worker lost too often, a bug): reported
            results[i] = SceneRun(folders[i].name, folders[i], False, f"{type(exc).__name__}: {exc}")
        bar.update()
    bar.close()
    return [r for r in results if r is not None]
