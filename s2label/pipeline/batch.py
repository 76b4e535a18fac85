"""Many scenes, each through the whole pipeline, one task each (:class:`s2label._tasks.Tasks`): in this process,
on any :class:`concurrent.futures.Executor`, on a ``LocalCluster`` made here (``workers=N``) or on any
``dask.distributed`` cluster whose client you pass.

Each scene runs :func:`s2label.run` into a temporary folder beside its output folder, which is renamed into
place only when the run is complete: an output folder is always a finished run, never a partial one, whatever
happens to the worker.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
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
from s2label._tasks import Tasks, local_client
from s2label.errors import OutputError, S2LabelError
from s2label.io.scene import Scene
from s2label.pipeline.options import RunOptions
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


def _run_one(source: Any, folder: str, options: RunOptions) -> SceneRun:
    """One scene into ``folder``, published by a rename when complete (runs on a worker)."""
    target = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    t0 = time.perf_counter()
    try:
        result = run(source, options, out=tmp)
        os.replace(tmp, target)
    except S2LabelError as exc:
        return SceneRun(target.name, target, False, str(exc), seconds=time.perf_counter() - t0)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return SceneRun(target.name, target, True, n_segments=result.segmentation.n_segments,
                    n_clusters=result.clustering.n_clusters, seconds=time.perf_counter() - t0)


def run_many(scenes: Sequence[Any], out: str | os.PathLike[str], options: RunOptions | None = None, *,
             executor: concurrent.futures.Executor | None = None, client: Any = None, workers: int | None = None,
             retries: int = 1, progress: bool = True, **keywords: Any) -> list[SceneRun]:
    """Run the pipeline on many scenes, one task each.

    Parameters
    ----------
    scenes : sequence
        Anything :func:`s2label.run` takes: paths, ``.SAFE`` folders, STAC items, :class:`~s2label.Scene`.
    out : path-like
        Parent folder: scene ``i`` goes to ``out/<iii>-<name>``. An existing scene folder is refused up front.
    options : RunOptions, optional
        The settings of every scene's run (:class:`~s2label.pipeline.options.RunOptions`); ``keywords`` change
        some of them (``encoder``, ``segment_size``, ``seed``...: those of :func:`s2label.run`).
    executor : concurrent.futures.Executor, optional
        Run the scenes on it: a ``ProcessPoolExecutor`` (best with the ``"spawn"`` context, as torch is not
        safe to fork) or a Dask cluster's ``client.get_executor()``. Whole runs want processes: threads
        share one process's random generators, which every run seeds.
    client : dask.distributed.Client, optional
        Run the scenes on this cluster.
    workers : int, optional
        Start a ``LocalCluster`` of this many single-threaded worker processes for the call. None of the
        three: the scenes one after the other in this process.
    retries : int
        On Dask: times a scene whose task raised an unexpected error is retried (a worker lost mid-run is
        rescheduled by Dask itself). A scene that fails with an :class:`~s2label.errors.S2LabelError` (bad
        input) is not retried: it is reported in its :class:`SceneRun`.
    progress : bool
        A progress bar over the scenes (the runs themselves show none).
    **keywords
        Options of :func:`s2label.run`. On an executor torch uses one thread per scene unless ``num_threads``
        is given.

    Returns
    -------
    list of SceneRun
        In the order of ``scenes``; ``ok`` is False for the scenes that failed (no folder is left for them).

    Raises
    ------
    OutputError
        If a scene's output folder exists already, or ``out`` cannot be written.
    """
    if "out" in keywords:
        raise TypeError("run_many sets each scene's out itself")
    options = (options or RunOptions()).replace(**keywords)
    if sum(x is not None for x in (executor, client, workers)) > 1:
        raise S2LabelError("give one of executor, client and workers")
    parent = ensure_writable_dir(out)
    folders = [parent / _name(s, i) for i, s in enumerate(scenes)]
    existing = [f for f in folders if f.exists()]
    if existing:
        raise OutputError(f"holds {len(existing)} run(s) already ({existing[0].name}...); choose another folder",
                          path=parent)
    options = options.replace(progress=False)
    if executor is not None or client is not None or workers is not None:
        if options.encoder.num_threads is None:
            options = options.replace(num_threads=1)
    with contextlib.ExitStack() as stack:
        if workers is not None:
            client = stack.enter_context(local_client(int(workers)))
        tasks = Tasks(executor, retries=retries) if client is None else Tasks.for_client(client, retries=retries)
        return _run_all(tasks, scenes, folders, options, progress)


def _run_all(tasks: Tasks, scenes: Sequence[Any], folders: list[Path], options: RunOptions,
             progress: bool) -> list[SceneRun]:
    # scenes already in memory travel to Dask workers as data, not inside the task graph
    sources = [tasks.scatter(s, broadcast=False) if isinstance(s, Scene) else s for s in scenes]
    bar = tqdm(total=len(folders), desc="scenes", unit="scene", disable=not progress)
    if not tasks.distributed:  # one after the other, the bar moving as each finishes
        results = []
        for source, folder in zip(sources, folders, strict=True):
            results.append(_run_one(source, str(folder), options))
            bar.update()
        bar.close()
        return results
    handles = tasks.map(_run_one, [(source, str(folder), options)
                                   for source, folder in zip(sources, folders, strict=True)], name="scene")
    settled = tasks.settle(handles, on_done=bar.update)
    bar.close()
    # a task that itself failed (a worker lost too often, a bug) is reported, not raised
    return [value if error is None else SceneRun(folder.name, folder, False, f"{type(error).__name__}: {error}")
            for (value, error), folder in zip(settled, folders, strict=True)]
