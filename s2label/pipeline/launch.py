"""One call from a notebook: run the pipeline (or reuse a finished run), resume the labelling session, and
return the explorer.

Examples
--------
>>> import tempfile, s2label
>>> scene = s2label.sample_scene(window=((600, 728), (600, 728)))
>>> out = tempfile.mkdtemp()
>>> explorer = s2label.explore(scene, out=out, encoder="spectral", reduce="pca", progress=False)
>>> again = s2label.explore(scene, out=out, encoder="spectral", progress=False)   # reuses the run
>>> print(again.session.n_segments == explorer.session.n_segments, again.session.autosave_path.name)
True session.sqlite
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from s2label._atomic import ensure_writable_dir
from s2label.clustering.clusterer import clustering_from_model, predict_clustering
from s2label.encoders.embeddings import Embeddings
from s2label.errors import OutputError, SceneError
from s2label.io import read_scene
from s2label.io.scene import Scene
from s2label.pipeline.model import load_model
from s2label.pipeline.runner import PipelineResult, run
from s2label.segmentation.graph import build_graph
from s2label.segmentation.superpixels import Segmentation
from s2label.session.label_session import LabelSession

__all__ = ["explore", "load_run", "SESSION_FILE", "OLD_SESSION_FILE"]

#: The session store :func:`explore` keeps in the run folder (:mod:`s2label.session.store`).
SESSION_FILE = "session.sqlite"
#: The session file of an s2label before the store: migrated into :data:`SESSION_FILE` when found alone.
OLD_SESSION_FILE = "session.json"
_RUN_FILES = ("report.json", "segments.tif", "embeddings.npz", "model")


def load_run(out: str | os.PathLike[str], scene: Scene) -> PipelineResult:
    """Rebuild the :class:`PipelineResult` of a finished run (``s2label run ... --out DIR``) of ``scene``.

    Raises
    ------
    OutputError
        The folder does not hold a finished run.
    SceneError
        The run was made on another scene (another grid).
    """
    folder = Path(out)
    missing = [name for name in _RUN_FILES if not (folder / name).exists()]
    if missing:
        raise OutputError(f"not a finished s2label run (missing {', '.join(missing)})", path=folder)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    with rasterio.open(folder / "segments.tif") as src:
        labels = src.read(1).astype(np.int32)
        transform, crs = src.transform, src.crs
    if labels.shape != scene.shape or not transform.almost_equals(scene.transform) or crs != scene.crs:
        raise SceneError(f"the run in this folder was made on another scene ({labels.shape[1]} x {labels.shape[0]} "
                         f"px); use another folder or rerun=True", path=folder)
    seg = Segmentation(labels, transform, crs, params=report.get("params", {}).get("segmentation", {}))
    with np.load(folder / "embeddings.npz", allow_pickle=False) as npz:
        emb = Embeddings(npz["vectors"], npz["segment_ids"], str(npz["method"]))
    saved = load_model(folder / "model")
    predicted = report.get("params", {}).get("model") is not None
    clus = predict_clustering(saved.clusterer, emb) if predicted else clustering_from_model(saved.clusterer, emb)
    return PipelineResult(scene, seg, build_graph(seg), emb, clus, report=report, out_dir=folder,
                          encoder=saved.encoder, segmentation_params=dict(saved.segmentation), bands=scene.bands)


def explore(scene: Scene | PipelineResult | str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
            rerun: bool = False, session_file: str | os.PathLike[str] | None = None, basemap: Any = None,
            projection: str = "pca", progress: bool = True, annotator: str | None = None,
            **run_options: Any) -> Any:
    """Open the cluster explorer on a scene.

    Parameters
    ----------
    scene : Scene, PipelineResult or path
        A scene (read with :func:`s2label.read_scene` if a path), or a pipeline result already computed.
    out : path, optional
        Run folder. When it holds a finished run of this scene it is reused (no training); otherwise the
        pipeline runs (with a progress bar) and writes there. Default: ``s2label-runs/<scene name>`` in the
        working folder.
    rerun : bool
        Run the pipeline again even if ``out`` holds a run (the labelling session there must then be moved
        away first: it belongs to the old segments).
    session_file : path, optional
        The labelling session's store (default ``out/session.sqlite``); resumed when it exists, in step with every
        other explorer on it. A ``session.json`` of an earlier s2label found alone there is migrated once (and
        kept as it was).
    annotator : str, optional
        Who labels in this explorer (default: the operating-system user), recorded with each edit.
    basemap, projection
        See :class:`~s2label.widget.ClusterExplorer`.
    **run_options
        Passed to :func:`s2label.run` (``encoder``, ``segment_size``, ``reduce``, ``seed``...).

    Returns
    -------
    ClusterExplorer
    """
    from s2label.widget import ClusterExplorer

    if isinstance(scene, PipelineResult):
        result = scene
        folder = Path(out) if out is not None else result.out_dir
    else:
        if not isinstance(scene, Scene):
            scene = read_scene(scene, progress=progress)
        folder = Path(out) if out is not None else Path.cwd() / "s2label-runs" / _slug(scene.source)
        for old_session in ([Path(session_file)] if session_file is not None
                            else [folder / SESSION_FILE, folder / OLD_SESSION_FILE]):
            if rerun and old_session.exists():
                raise OutputError("holds a labelling session of the previous run; move it away before rerun=True",
                                  path=old_session)
        if (folder / "report.json").exists() and not rerun:
            result = load_run(folder, scene)
        else:
            result = run(scene, out=folder, progress=progress, **run_options)
    if folder is not None:
        folder = ensure_writable_dir(folder)  # the session is saved there from the first edit on
    path = Path(session_file) if session_file is not None else (folder / SESSION_FILE if folder else None)
    if session_file is None and path is not None and not path.exists() and (folder / OLD_SESSION_FILE).exists():
        path = folder / OLD_SESSION_FILE  # migrated into SESSION_FILE beside it
    session = LabelSession.from_result(result, autosave=path, resume=True, annotator=annotator)
    return ClusterExplorer(session, result.scene, basemap=basemap, projection=projection,
                           export_dir=folder if folder is not None else None)


def _slug(source: object) -> str:
    name = Path(str(source)).name or "scene"
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80] or "scene"
