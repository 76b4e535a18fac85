"""Atomic file writing: write beside the target, then :func:`os.replace` it into place.

A reader (or a kernel restarted mid-write) sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from s2label.errors import OutputError

__all__ = ["atomic_path", "write_json_atomic", "ensure_writable_dir"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path`` atomically.

    The temporary file keeps ``path``'s suffix so that format drivers (GDAL, numpy) recognise it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    target = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
                                        dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror})", path=target) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # let the writer create it (some drivers refuse to overwrite)
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror or exc})", path=target) from None
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".aux.xml")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (fsynced before the rename)."""
    target = Path(path)
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=indent, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
    return target


def ensure_writable_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and parents) if needed and check that files can be written in it.

    Raises
    ------
    OutputError
        If the folder cannot be created or written.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError("exists and is not a folder", path=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".s2label-write-test-"):
            pass
    except OSError as exc:
        raise OutputError(f"output folder cannot be written ({exc.strerror or exc})", path=folder) from None
    return folder
