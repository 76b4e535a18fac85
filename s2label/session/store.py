"""The session store: a labelling session's edit log in SQLite, one row per edit, each change one transaction.

A store is one SQLite database in the run folder (``session.sqlite``) in WAL mode: nothing to start, readable
with any SQLite tool, safe for many windows and processes on one machine. Table ``edits`` holds one row per edit
(``seq``, the edit as JSON, its annotator and time, ``dropped`` once a later edit made an undone edit unreachable:
kept, never deleted); table ``head`` one row with the undo position and a ``revision`` that every change bumps;
table ``info`` the format, version and the fingerprint that ties the store to its scene. A change (an edit, an
undo, a redo) is one ``BEGIN IMMEDIATE`` transaction: read what others appended since, write, commit; a commit
that returned is on disk (``synchronous=FULL``), a killed process leaves the store as of its last commit.

:class:`~s2label.session.LabelSession` is the only writer; this module knows nothing of edits' meaning.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "session.sqlite"
>>> store = SessionStore.create(path, {"n_segments": 3})
>>> with store.transaction() as txn:
...     txn.write(dropped=[], new=[({"op": "rename", "label": 0, "name": "water"},
...                                 {"annotator": "ana", "time": None})], position=1)
[1]
>>> log = SessionStore.open(path).read()
>>> log.edits, log.position, log.records[0]["annotator"]
([{'op': 'rename', 'label': 0, 'name': 'water'}], 1, 'ana')
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from s2label._version import __version__
from s2label.errors import OutputError, SessionError

__all__ = ["STORE_FORMAT", "STORE_VERSION", "SessionStore", "StoredLog", "Transaction", "is_store"]

STORE_FORMAT = "s2label-session-store"
STORE_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA = """
CREATE TABLE info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE head (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, revision INTEGER NOT NULL);
CREATE TABLE edits (seq INTEGER PRIMARY KEY, edit TEXT NOT NULL, annotator TEXT, time TEXT,
                    dropped INTEGER NOT NULL DEFAULT 0);
INSERT INTO head VALUES (1, 0, 0);
"""


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an SQLite database (by its first 16 bytes; ``False`` for a missing file).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    bool
        ``False`` too for a file that cannot be read.
    """
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


@dataclass(frozen=True)
class StoredLog:
    """The edit log in force (not dropped) as a store holds it: ``seqs[i]`` is the row of ``edits[i]``."""

    seqs: list[int]
    edits: list[dict[str, Any]]
    records: list[dict[str, Any]]
    position: int
    revision: int


def _problem(exc: sqlite3.Error) -> str:
    """SQLite's words, with what they usually mean where they are terse."""
    name = getattr(exc, "sqlite_errorname", "")
    text = str(exc) or type(exc).__name__
    if name.startswith(("SQLITE_FULL", "SQLITE_IOERR")):
        return f"{text}: is the disk full, or a size limit reached?"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return f"{text}: another window held the store's lock for over a minute"
    if name.startswith("SQLITE_READONLY"):
        return f"{text}: the store or its folder is read-only"
    return text


class Transaction:
    """One change of a store, inside ``BEGIN IMMEDIATE`` (no other writer until it commits)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn, self.path = conn, path

    @property
    def revision(self) -> int:
        return int(self._conn.execute("SELECT revision FROM head").fetchone()[0])

    def read_after(self, seqs: Sequence[int], revision: int) -> tuple[int, StoredLog] | None:
        """What changed since a reader that holds rows ``seqs`` at ``revision``; ``None`` when nothing did.

        Returns the length of the prefix of ``seqs`` still in force and the log from there on (its ``seqs``,
        ``edits`` and ``records`` start after that prefix; ``position`` and ``revision`` are the whole log's).
        """
        head = self._conn.execute("SELECT position, revision FROM head").fetchone()
        if int(head[1]) == revision:
            return None
        current = [int(r[0]) for r in self._conn.execute("SELECT seq FROM edits WHERE dropped = 0 ORDER BY seq")]
        keep = 0
        for mine, theirs in zip(seqs, current, strict=False):
            if mine != theirs:
                break
            keep += 1
        after = current[keep - 1] if keep else 0
        rows = self._conn.execute("SELECT seq, edit, annotator, time FROM edits WHERE dropped = 0 AND seq > ? "
                                  "ORDER BY seq", (after,)).fetchall()
        return keep, _log(rows, int(head[0]), int(head[1]), self.path)

    def write(self, *, dropped: Sequence[int], new: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
              position: int) -> list[int]:
        """Mark rows ``dropped``, append ``new`` (edit, annotation) rows, set the position; the new rows' seqs."""
        conn = self._conn
        if dropped:
            conn.executemany("UPDATE edits SET dropped = 1 WHERE seq = ?", [(int(s),) for s in dropped])
        seqs = []
        for edit, record in new:
            cur = conn.execute("INSERT INTO edits (edit, annotator, time) VALUES (?, ?, ?)",
                               (json.dumps(edit, separators=(",", ":")), record.get("annotator"),
                                record.get("time")))
            seqs.append(int(cur.lastrowid))
        conn.execute("UPDATE head SET position = ?, revision = revision + 1", (int(position),))
        return seqs


def _log(rows: Sequence[tuple[Any, ...]], position: int, revision: int, path: Path) -> StoredLog:
    seqs, edits, records = [], [], []
    for seq, text, annotator, time in rows:
        try:
            edit = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            raise SessionError(f"is damaged: edit row {seq} is not JSON", path=path) from None
        if not isinstance(edit, dict):
            raise SessionError(f"is damaged: edit row {seq} is not an edit", path=path)
        seqs.append(int(seq))
        edits.append(edit)
        records.append({"annotator": annotator, "time": time})
    return StoredLog(seqs, edits, records, position, revision)


class SessionStore:
    """An open session store (one SQLite connection; use it under the session's lock from any thread).

    Use :meth:`create` or :meth:`open`, not the constructor.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, info: dict[str, str], *, writable: bool) -> None:
        self.path, self._conn, self.info, self.writable = path, conn, info, writable

    @property
    def fingerprint(self) -> dict[str, Any]:
        return json.loads(self.info["fingerprint"])

    # --- opening ----------------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], fingerprint: Mapping[str, Any], *,
               info: Mapping[str, str] | None = None,
               log: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]] = (), position: int = 0,
               replace: bool = False) -> SessionStore:
        """Make a new store at ``path`` (which must not exist, unless ``replace``) holding ``log`` (edit, annotation).

        The store is built in a temporary file beside ``path`` and moved into place when complete: a crash
        leaves no half-made store.

        Raises
        ------
        SessionError
            ``path`` exists (and not ``replace``).
        OutputError
            The folder cannot be written (read-only, full).
        """
        target = Path(path)
        if target.exists() and not replace:
            raise SessionError("already exists; open it (LabelSession.load) or choose another file", path=target)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        values = {"format": STORE_FORMAT, "version": str(STORE_VERSION), "s2label": __version__,
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "fingerprint": json.dumps(dict(fingerprint), sort_keys=True), **dict(info or {})}
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.executescript(_SCHEMA)
                with contextlib.closing(conn.cursor()) as cur:
                    cur.execute("BEGIN")
                    cur.executemany("INSERT INTO info VALUES (?, ?)", sorted(values.items()))
                    Transaction(conn, target).write(dropped=[], new=list(log), position=position)
                    cur.execute("COMMIT")
            finally:
                conn.close()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except (OSError, sqlite3.Error) as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise OutputError(f"cannot write here ({why})", path=target) from None
        return cls.open(target)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, writable: bool = True) -> SessionStore:
        """Open and check an existing store (:class:`SessionError` naming the problem; the file is never changed).

        ``writable=False`` opens it read-only (a folder that cannot be written, a copy to look at).

        Raises
        ------
        SessionError
            Missing, not a store, damaged, or of an unsupported version.
        OutputError
            ``writable`` and the store or its folder cannot be written (read-only): open it with
            ``writable=False`` to read it.
        """
        target = Path(path)
        if not target.is_file():
            raise SessionError("no session store here", path=target)
        if not is_store(target):
            raise SessionError("is not an s2label session store (not an SQLite database: damaged, or another "
                               "kind of file)", path=target)
        if writable and not os.access(target.parent, os.W_OK | os.X_OK):
            raise OutputError("the session store's folder is read-only: open it with autosave=False to read it, "
                              "or copy the run folder somewhere writable", path=target)
        conn = None
        try:
            conn = _connect(target, writable)
            info = dict(conn.execute("SELECT key, value FROM info").fetchall())
            if info.get("format") != STORE_FORMAT:
                raise SessionError("is an SQLite database but not an s2label session store", path=target)
            if info.get("version") != str(STORE_VERSION):
                raise SessionError(f"session store version {info.get('version')!r} is not supported (this s2label "
                                   f"reads version {STORE_VERSION})", path=target)
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise SessionError(f"is damaged ({check}); it is left as it is", path=target)
            conn.execute("SELECT position, revision FROM head").fetchone()[0]
            json.loads(info["fingerprint"])
            if writable:  # only once it is known to be a store: nothing else is ever changed
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
        except SessionError:
            if conn is not None:
                conn.close()
            raise
        except (sqlite3.Error, KeyError, TypeError, json.JSONDecodeError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
                raise OutputError("cannot be written (read-only): open it with autosave=False to read it",
                                  path=target) from None
            raise SessionError(f"is damaged or not an s2label session store ({exc}); it is left as it is",
                               path=target) from None
        return cls(target, conn, info, writable=writable)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # --- reading and writing ------------------------------------------------------------------------------

    def read(self) -> StoredLog:
        """The whole log in force, as of now (one read transaction)."""
        try:
            with self.reading() as txn:
                _, log = txn.read_after([], -1)  # everything, as to a reader that holds nothing
        except sqlite3.Error as exc:
            raise SessionError(f"cannot be read ({_problem(exc)})", path=self.path) from None
        if not 0 <= log.position <= len(log.edits):
            raise SessionError(f"is damaged: position {log.position} of {len(log.edits)} edits", path=self.path)
        return log

    def revision(self) -> int:
        """The store's revision now (cheap: one row): it changes with every change from any window."""
        try:
            return Transaction(self._conn, self.path).revision
        except sqlite3.Error as exc:
            raise SessionError(f"cannot be read ({_problem(exc)})", path=self.path) from None

    @contextlib.contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A read transaction (a consistent view; writers go on meanwhile)."""
        self._conn.execute("BEGIN")
        try:
            yield Transaction(self._conn, self.path)
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` when the body raises).

        Raises
        ------
        OutputError
            The store cannot be written (read-only, the disk is full, locked by another writer for 60 s): the
            change was not made and the store holds its last good state.
        """
        if not self.writable:
            raise OutputError("was opened read-only (autosave=False): nothing can be saved to it", path=self.path)
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise OutputError(f"cannot be written ({_problem(exc)}): the change was not made", path=self.path) from None
        try:
            yield Transaction(self._conn, self.path)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            raise OutputError(f"cannot be written ({_problem(exc)}): the change was not made; the store keeps its "
                              "last good state", path=self.path) from None


def _connect(path: Path, writable: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), patient with locks (WAL and fully
    synchronous writes are set by :meth:`SessionStore.open` once the file is known to be a store)."""
    if writable:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:  # WAL needs its -shm file: a folder that cannot be written takes the file as is
        conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None, check_same_thread=False)
    return conn

