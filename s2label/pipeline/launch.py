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

import os
from pathlib import Path
from typing import Any

from s2label._atomic import ensure_writable_dir
from s2label.errors import OutputError
from s2label.io import read_scene
from s2label.io.scene import Scene
from s2label.pipeline.result import PipelineResult
from s2label.pipeline.run_folder import OLD_SESSION_FILE, SESSION_FILE, default_folder, is_finished, load_run
from s2label.pipeline.runner import run
from s2label.session.label_session import LabelSession

__all__ = ["explore"]

#: Where :func:`explore` put runs before 0.2 (``s2label-runs/<file name>``): a run there is still found.
_OLD_ROOT = "s2label-runs"


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
        pipeline runs (with a progress bar) and writes there. Default: ``s2label-output/<scene name>`` in the
        working folder, as for ``s2label run`` (a run an earlier s2label left in ``s2label-runs/<file name>`` is
        found and reused there, with its session).
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
        folder = Path(out) if out is not None else _default_folder(scene)
        for old_session in ([Path(session_file)] if session_file is not None
                            else [folder / SESSION_FILE, folder / OLD_SESSION_FILE]):
            if rerun and old_session.exists():
                raise OutputError("holds a labelling session of the previous run; move it away before rerun=True",
                                  path=old_session)
        if is_finished(folder) and not rerun:
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


def _default_folder(scene: Scene) -> Path:
    """The default run folder of ``scene``, or where an earlier s2label's :func:`explore` put its run."""
    folder = Path.cwd() / default_folder(scene)
    name = Path(str(scene.source)).name or "scene"
    old = Path.cwd() / _OLD_ROOT / ("".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80] or "scene")
    return old if not folder.exists() and is_finished(old) else folder
