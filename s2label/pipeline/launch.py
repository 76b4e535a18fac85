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

import contextlib
import functools
import os
import uuid
from pathlib import Path
from typing import Any

from s2label._atomic import ensure_writable_dir
from s2label.errors import OutputError
from s2label.io import read_scene
from s2label.io.scene import Scene
from s2label.pipeline.background import LearnedRun, remove_stale_jobs
from s2label.pipeline.first_look import first_look_folder, first_look_options
from s2label.pipeline.options import RunOptions
from s2label.pipeline.result import PipelineResult
from s2label.pipeline.run_folder import OLD_SESSION_FILE, SESSION_FILE, default_folder, is_finished, load_run
from s2label.pipeline.runner import run
from s2label.session.carry import CarriedEdits, carry_over
from s2label.session.label_session import LabelSession
from s2label.session.store import SessionStore

__all__ = ["explore", "open_learned"]

#: Where :func:`explore` put runs before 0.2 (``s2label-runs/<file name>``): a run there is still found.
_OLD_ROOT = "s2label-runs"


def explore(scene: Scene | PipelineResult | str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None,
            rerun: bool = False, session_file: str | os.PathLike[str] | None = None, basemap: Any = None,
            projection: str = "pca", progress: bool = True, annotator: str | None = None,
            background: bool = True, **run_options: Any) -> Any:
    """Open the cluster explorer on a scene.

    With a learned encoder (the default ``cnn-gnn``) and no finished run in ``out``, the explorer opens within
    seconds on the *first look* (the spectral clusters of the run's segments, ``out/spectral``;
    :mod:`s2label.pipeline.first_look`) while the encoder trains in another process; a banner shows its
    progress, and when it has finished the explorer switches to its clusters (at once before any edit; with
    edits, when asked, carrying them over: :mod:`s2label.session.carry`). Closing the explorer or the kernel
    stops the training and leaves no half-written run.

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
    background : bool
        Train a learned encoder in the background behind the first look (above). ``False``: run the whole
        pipeline first (the explorer opens on the learned clusters, minutes later); so does a run by tiles, with
        a saved model or with ``session_file``.
    basemap, projection
        See :class:`~s2label.widget.ClusterExplorer`.
    progress : bool
        Progress bars while the scene is read and the pipeline runs.
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
        look_session = first_look_folder(folder) / SESSION_FILE
        if is_finished(folder) and not rerun:
            remove_stale_jobs(folder)  # e.g. a training whose kernel ended just after it had finished
            result = load_run(folder, scene)
            if session_file is None and not (folder / SESSION_FILE).exists() and _edited(look_session):
                # the first look was edited and the switch not made yet (a restart while it trained): offer it
                explorer = _first_look_explorer(scene, folder, None, annotator=annotator, basemap=basemap,
                                                projection=projection)
                explorer.follow_learned(None, functools.partial(open_learned, folder, scene, annotator=annotator))
                return explorer
        elif background and not rerun and session_file is None and _in_background(run_options):
            options = RunOptions.from_keywords(progress=progress, **run_options)
            look = first_look_folder(folder)
            made = None if is_finished(look) else run(scene, first_look_options(options), out=look)
            explorer = _first_look_explorer(scene, folder, made, annotator=annotator, basemap=basemap,
                                            projection=projection)
            # started once the map is there: the child's start-up takes nothing from the first look
            job = LearnedRun.find(folder) or LearnedRun(scene, folder, options).start()
            explorer.follow_learned(job, functools.partial(open_learned, folder, scene, annotator=annotator))
            return explorer
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


#: Options that make a run that :func:`explore` does not put in the background.
_FOREGROUND = ("model", "executor", "client", "workers", "tile_size")


def _in_background(run_options: dict[str, Any]) -> bool:
    """Whether :func:`explore` trains these options' encoder in the background behind a first look."""
    return (run_options.get("encoder", "cnn-gnn") != "spectral"
            and not any(run_options.get(key) is not None for key in _FOREGROUND))


def _edited(store: Path) -> bool:
    """Whether the session store ``store`` exists and holds an edit."""
    if not store.exists():
        return False
    with contextlib.closing(SessionStore.open(store, writable=False)) as opened:
        return opened.read().position > 0


def _first_look_explorer(scene: Scene, folder: Path, look: PipelineResult | None, *, annotator: str | None,
                         basemap: Any, projection: str) -> Any:
    """The explorer on the first look of ``folder`` (``look``: just made; ``None``: read back)."""
    from s2label.widget import ClusterExplorer

    look = look if look is not None else load_run(first_look_folder(folder), scene)
    session = LabelSession.from_result(look, autosave=first_look_folder(folder) / SESSION_FILE, resume=True,
                                       annotator=annotator)
    return ClusterExplorer(session, scene, basemap=basemap, projection=projection, export_dir=folder)


def open_learned(folder: str | os.PathLike[str], scene: Scene, first: LabelSession, *,
                 annotator: str | None = None) -> tuple[LabelSession, CarriedEdits | None]:
    """The session of the finished run in ``folder``, with the edits of ``first`` (the first look's session)
    carried over (:func:`~s2label.session.carry.carry_over`).

    The carried session is made in a file of its own and put in place as ``folder/session.sqlite`` only once
    whole, and only if no other window has put one there first: then that one is opened, nothing carried.

    Parameters
    ----------
    folder : str or path-like
        The finished run's folder.
    scene : Scene
        The scene of the run.
    first : LabelSession
        The first look's session (synced to its store before its edits are carried).
    annotator : str, optional
        Who labels in the new session (default: the operating-system user).

    Returns
    -------
    (LabelSession, CarriedEdits or None)
    """
    folder = Path(folder)
    result = load_run(folder, scene)
    path = folder / SESSION_FILE
    carried = None
    if not path.exists():
        partial = folder / f".{SESSION_FILE}.{uuid.uuid4().hex[:8]}"
        try:
            new = LabelSession.from_result(result, autosave=partial, annotator=annotator)
            try:
                first.sync()
                carried = carry_over(first, new)
            finally:
                new.close()
            try:
                os.link(partial, path)  # made only if absent: a second window's switch never overwrites
            except FileExistsError:
                carried = None
            except OSError:  # no hard links here
                if not path.exists():
                    os.replace(partial, path)
        finally:
            for suffix in ("", "-wal", "-shm"):
                partial.with_name(partial.name + suffix).unlink(missing_ok=True)
    session = LabelSession.from_result(result, autosave=path, resume=True, annotator=annotator)
    return session, carried


def _default_folder(scene: Scene) -> Path:
    """The default run folder of ``scene``, or where an earlier s2label's :func:`explore` put its run."""
    folder = Path.cwd() / default_folder(scene)
    name = Path(str(scene.source)).name or "scene"
    old = Path.cwd() / _OLD_ROOT / ("".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:80] or "scene")
    return old if not folder.exists() and is_finished(old) else folder
