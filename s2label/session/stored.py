"""Saving a labelling session through its store, in step with every other window on it.

Every change of a :class:`~s2label.session.LabelSession` with a store (:mod:`s2label.session.store`) is one
transaction: take the store's write lock, *catch up* (replay what other windows or processes appended since this
session last looked, so it edits the labels as they are now), apply the change, write its row, commit. Two
explorers on one run therefore never lose each other's edits; each shows the other's after its own next edit, a
*Refresh* (:meth:`StoredSession.sync`), or within a second when it polls (the explorer does). Observers hear
``{"op": "sync", ...}`` for what was brought in, then the change itself.

A change that cannot be written (a read-only folder, a full disk) is not made: the session's memory goes back to
its last saved state with the store, and :class:`~s2label.errors.OutputError` says why. ``session.json`` is the
portable export: :meth:`StoredSession.save` writes it (or another store), :meth:`LabelSession.load` reads it
and, with autosave, migrates it once into a store beside it (``session.sqlite``), leaving the file as it was.

Examples
--------
>>> store_path_for(Path("run/session.json")).name
'session.sqlite'
>>> store_path_for(Path("run/labels.db")).name
'labels.db'
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from s2label._atomic import write_json_atomic
from s2label._digest import file_sha256
from s2label.errors import OutputError, S2LabelWarning, SessionError
from s2label.session.file import backup_path, read_session_file, with_backup
from s2label.session.rules import EditRules, SessionState
from s2label.session.store import SessionStore, StoredLog, Transaction, is_store

if TYPE_CHECKING:
    from s2label.session.label_session import LabelSession

__all__ = ["StoredSession", "store_path_for", "load_into"]


def store_path_for(path: Path) -> Path:
    """The store a session path stands for: itself, or for a ``.json`` name (s2label's session file before the
    store) the ``.sqlite`` beside it.

    Parameters
    ----------
    path : pathlib.Path
        A session store or session file.

    Returns
    -------
    pathlib.Path
    """
    return path.with_suffix(".sqlite") if path.suffix.lower() == ".json" else path


@dataclass(frozen=True)
class _Saved:
    """A session's log as last written with its store: what a change that could not be written goes back to.

    A change only moves the position or cuts the log at the position and appends, so the part after the
    position is all there is to keep (nothing that grows with the log is copied).
    """

    position: int
    revision: int
    segment_labels: np.ndarray
    edits: list[dict[str, Any]]  # the log after the position
    annotations: list[dict[str, Any]]
    seqs: list[int | None]
    states: list[SessionState]  # the states after the position's


class StoredSession:
    """Commits through the store and catching up with other windows (a mixin of :class:`LabelSession`)."""

    _lock: threading.RLock
    _rules: EditRules
    _edits: list[dict[str, Any]]
    _annotations: list[dict[str, Any]]
    _states: list[SessionState]
    _seqs: list[int | None]  # the store row of each edit of the log (None: not written yet)
    _position: int
    _revision: int
    _segment_labels: np.ndarray
    _store: SessionStore | None
    _closed: bool = False
    autosave_path: Path | None
    fingerprint: dict[str, Any]
    _derive: Callable[[SessionState], np.ndarray]
    _notify: Callable[[dict[str, Any]], None]
    to_dict: Callable[[], dict[str, Any]]
    segmentation: Any
    embeddings: Any
    clustering: Any
    edits: tuple[dict[str, Any], ...]
    annotations: tuple[dict[str, Any], ...]
    _edit: Callable[..., None]

    # --- the log in memory ----------------------------------------------------------------------------

    def _take_log(self, edits: Sequence[dict[str, Any]], records: Sequence[dict[str, Any]], position: int,
                  path: Path | None, *, keep: int = 0, seqs: Sequence[int | None] | None = None) -> int:
        """Replace the log after its first ``keep`` edits by ``edits`` (validated one by one: nothing changes on
        error) and move to ``position``; the number of edits replayed."""
        states = self._states[: keep + 1]
        for i, edit in enumerate(edits):
            try:
                states.append(self._rules.apply(states[-1], edit))
            except SessionError as exc:
                raise SessionError(with_backup(f"edit {keep + i + 1} of {keep + len(edits)} cannot be replayed "
                                                f"({exc})", path) if path is not None else str(exc),
                                   path=path) from None
        labels = self._derive(states[position])
        with self._lock:
            self._edits = [*self._edits[:keep], *edits]
            self._annotations = [*self._annotations[:keep], *(dict(r) for r in records)]
            self._seqs = [*self._seqs[:keep], *(seqs if seqs is not None else [None] * len(edits))]
            self._states, self._position, self._segment_labels = states, position, labels
        return len(edits)

    def _saved(self) -> _Saved:
        p = self._position
        return _Saved(p, self._revision, self._segment_labels, self._edits[p:],
                      self._annotations[p:], self._seqs[p:], self._states[p + 1:])

    def _restore(self, saved: _Saved) -> None:
        p = saved.position
        for kept, tail in ((self._edits, saved.edits), (self._annotations, saved.annotations),
                           (self._seqs, saved.seqs)):
            del kept[p:]
            kept.extend(tail)
        del self._states[p + 1:]
        self._states.extend(saved.states)
        self._position, self._revision, self._segment_labels = p, saved.revision, saved.segment_labels

    def _attach(self, store: SessionStore, log: StoredLog) -> None:
        self._store, self.autosave_path = store, store.path
        self._seqs, self._revision = list(log.seqs), log.revision

    # --- committing -----------------------------------------------------------------------------------

    def _commit(self, change: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Apply ``change`` (which edits the log in memory and returns its event) and write it, in one
        transaction of the store after catching up with it. Observers hear what was brought in from other
        windows, then the event, after the locks are released (so they may edit in turn).

        Raises
        ------
        SessionError
            From ``change`` (nothing is written; what was brought in stays).
        OutputError
            The store cannot be written: the change is not made, memory goes back to the store's state.
        """
        synced: dict[str, Any] | None = None
        if self._closed:
            raise SessionError("this session was closed (session.close()): nothing more is saved through it; open "
                               "the session again with LabelSession.load", path=self.autosave_path)
        try:
            with self._lock:
                store = self._store
                if store is None:
                    event = change()
                else:
                    saved = None
                    try:
                        with store.transaction() as txn:
                            synced = self._catch_up(txn)
                            saved = self._saved()
                            event = change()
                            self._write_change(txn, saved)
                    except BaseException:
                        if saved is not None:
                            self._restore(saved)
                        raise
        finally:
            if synced is not None:
                self._notify(synced)
        self._notify(event)
        return event

    def _write_change(self, txn: Transaction, saved: _Saved) -> None:
        """Write what a change did to the log: undone edits it dropped, the edit it appended, the position."""
        kept = len(self._seqs)
        while kept and self._seqs[kept - 1] is None:  # new edits are only ever at the end
            kept -= 1
        new = list(range(kept, len(self._seqs)))
        if kept < saved.position:  # a change cuts the log at the position at most
            raise RuntimeError("an edit cut the log before its position")
        dropped = [s for s in saved.seqs[kept - saved.position:] if s is not None]
        seqs = txn.write(dropped=dropped, new=[(self._edits[i], self._annotations[i]) for i in new],
                         position=self._position)
        for i, seq in zip(new, seqs, strict=True):
            self._seqs[i] = seq
        self._revision = txn.revision

    def _catch_up(self, txn: Transaction) -> dict[str, Any] | None:
        """Replay what other windows wrote since this session last read the store; the event, or ``None``."""
        if txn.revision == self._revision:  # nothing new: the common case, one row read
            return None
        delta = txn.read_after([int(s) for s in self._seqs if s is not None], self._revision)
        if delta is None:
            return None
        keep, log = delta
        before = (len(self._edits), self._position)
        n = self._take_log(log.edits, log.records, log.position, txn.path, keep=keep, seqs=log.seqs)
        self._revision = log.revision
        if (len(self._edits), self._position) == before and n == 0:
            return None
        who = sorted({str(r["annotator"]) for r in log.records if r.get("annotator") is not None})
        words = f"{n} edit{'s' * (n != 1)}" + (f" by {', '.join(who)}" if who else "") if n else "an undo or redo"
        return {"op": "sync", "n_new": n, "n_edits": len(self._edits), "position": self._position,
                "annotators": who, "message": f"brought in {words} from another window"}

    def sync(self) -> bool:
        """Bring in what other windows or processes wrote to the store since; ``True`` if anything came.

        Observers hear ``{"op": "sync", ...}``. Every edit does this by itself first.
        """
        store = self._store
        if store is None:
            return False
        with self._lock:
            if store.revision() == self._revision:
                return False
            with store.reading() as txn:
                event = self._catch_up(txn)
        if event is not None:
            self._notify(event)
        return event is not None

    @property
    def behind(self) -> bool:
        """Whether another window wrote to the store since this session last read it (cheap: one row).

        ``False`` while this session is busy with a change of its own (which catches up anyway).
        """
        if not self._lock.acquire(blocking=False):
            return False
        try:
            store = self._store
            return store is not None and store.revision() != self._revision
        finally:
            self._lock.release()

    # --- files ----------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the session to ``path``: ``.json``, the portable session file (atomically, the previous file kept
        as ``.bak``); any other name, a session store (SQLite) holding the same log.

        Without ``path``, the session's own store, which holds every edit already (nothing to do).
        """
        target = Path(path) if path is not None else self.autosave_path
        if target is None:
            raise SessionError("no file to save to: pass a path, or start the session with autosave=...")
        if self._store is not None and target.resolve() == self._store.path.resolve():
            return target
        with self._lock:
            if target.suffix.lower() != ".json":
                SessionStore.create(target, self.fingerprint, position=self._position, replace=True,
                                    log=list(zip(self._edits, self._annotations, strict=True))).close()
                return target
            doc = self.to_dict()
        if target.exists():
            try:
                shutil.copyfile(target, backup_path(target))
            except OSError as exc:
                raise OutputError(f"cannot keep a backup ({exc.strerror or exc})", path=backup_path(target)) from None
        return write_json_atomic(target, doc, indent=None)

    def merge_from(self, source: str | os.PathLike[str] | LabelSession) -> tuple[int, int]:
        """Bring in a colleague's copy of this session: every edit in force there that this log lacks, in its
        order, with its annotator and time (a ``session.json``, a store, or a session over the same scene).

        Edits are matched by content, annotator and time, so merging the same copy twice brings in nothing new.
        An edit that no longer applies here (a rename of a label deleted here) is skipped.

        Returns
        -------
        (int, int)
            Edits brought in, edits skipped.

        Examples
        --------
        >>> applied, skipped = session.merge_from("colleague/session.json")  # doctest: +SKIP
        """
        from s2label.session.label_session import LabelSession

        other = source if isinstance(source, LabelSession) else LabelSession.load(
            source, self.segmentation, self.embeddings, self.clustering, autosave=False)
        self.sync()
        mine = {_key(e, r) for e, r in zip(self.edits, self.annotations, strict=True)}
        applied = skipped = 0
        for edit, record in zip(other.edits, other.annotations, strict=True):
            if _key(edit, record) in mine:
                continue
            try:
                self._edit(edit, record)
                applied += 1
            except SessionError:
                skipped += 1
        return applied, skipped

    def close(self) -> None:
        """Close the store's connection: the session stays readable in memory, and refuses edits from then on
        (none could be saved)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
                self._closed = True


def _starts_like_json(path: Path) -> bool:
    """Whether a file begins as a JSON object does (a session file under another name, e.g. a ``.bak``)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


def _key(edit: Mapping[str, Any], record: Mapping[str, Any]) -> tuple[str, Any, Any]:
    return json.dumps(edit, sort_keys=True), record.get("annotator"), record.get("time")


def load_into(session: LabelSession, path: Path, *, autosave: bool) -> None:
    """Take the log saved at ``path`` (a store, or a session file: migrated into a store beside it once, with
    ``autosave``) into a new ``session`` and, with ``autosave``, keep saving to the store.

    Parameters
    ----------
    session : LabelSession
        A new session (no edits yet) of the scene and clustering the log was saved for.
    path : pathlib.Path
        The store, or a session file (then the store beside it, if one was migrated there, is read instead).
    autosave : bool
        Keep the store open and save every later edit to it (a session file is migrated first); ``False``
        reads the log only.

    Raises
    ------
    SessionError
        The log was saved for another scene or clustering (another fingerprint), or cannot be read or replayed.
    """
    migrated_from = None
    if not is_store(path):
        store = store_path_for(path)
        if store != path and store.exists():  # migrated before: the store holds the session now
            migrated_from, path = path, store
    if is_store(path) or not (path.suffix.lower() == ".json" or _starts_like_json(path)):  # a store, or says why not
        opened = SessionStore.open(path, writable=autosave)
        try:
            if opened.fingerprint != session.fingerprint:
                raise SessionError("was saved for another scene or clustering (its fingerprint differs)", path=path)
            log = opened.read()
            session._take_log(log.edits, log.records, log.position, path)
            if migrated_from is not None:
                _warn_if_changed_since_migrated(migrated_from, opened)
        except BaseException:
            opened.close()
            raise
        if autosave:
            session._attach(opened, log)
        else:
            opened.close()
        return
    from s2label.session.annotators import read_annotations

    doc = read_session_file(path)
    if doc["fingerprint"] != session.fingerprint:
        raise SessionError(with_backup("was saved for another scene or clustering (its fingerprint differs)", path),
                           path=path)
    records = read_annotations(doc, path)
    session._take_log(doc["edits"], records, doc["position"], path)
    if autosave:  # migrate once: the store beside it, the file left exactly as it was
        target = store_path_for(path)
        info = {"migrated_from": path.name, "migrated_sha256": file_sha256(path)}
        store = SessionStore.create(target, session.fingerprint, info=info, position=doc["position"],
                                    log=list(zip(copy.deepcopy(doc["edits"]), records, strict=True)))
        session._attach(store, store.read())


def _warn_if_changed_since_migrated(path: Path, store: SessionStore) -> None:
    """Warn when a session file was changed after it was migrated into ``store`` (an older s2label used it
    since): the store is what is opened; the file's later edits can be brought in with ``merge_from``."""
    migrated = store.info.get("migrated_sha256")
    if migrated is not None and path.is_file() and file_sha256(path) != migrated:
        warnings.warn(f"{path} changed after it was migrated into {store.path.name}: the store is opened; bring the "
                      f"file's later edits in with session.merge_from({str(path)!r}) if they are wanted",
                      S2LabelWarning, stacklevel=4)
