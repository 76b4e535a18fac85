"""The portable session file: its format, the fingerprint that ties a session to a scene, checked reading, backups.

A session file is JSON: ``format`` (``"s2label-session"``), ``version``, ``fingerprint`` (shapes and SHA-256 of
the segment raster, grid and clustering), ``edits`` (the whole edit log), ``annotations`` (who made each edit,
and when) and ``position`` (how many of them are applied; the rest can be redone). It is what
:meth:`LabelSession.save` exports (atomically, the previous version kept beside it as ``<name>.bak``) and what an
s2label before the session store (:mod:`s2label.session.store`) autosaved; :meth:`LabelSession.load` reads it and
migrates it into a store.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from s2label.clustering.clusterer import Clustering
from s2label.errors import SessionError
from s2label.segmentation.superpixels import Segmentation

__all__ = ["FILE_FORMAT", "FILE_VERSION", "fingerprint", "backup_path", "with_backup", "read_session_file"]

FILE_FORMAT = "s2label-session"
FILE_VERSION = 1


def fingerprint(segmentation: Segmentation, clustering: Clustering) -> dict[str, Any]:
    """What ties a session file to its scene: shapes and SHA-256 of the segment raster and the clustering.

    Parameters
    ----------
    segmentation : Segmentation
        Its ids, shape, transform and CRS are hashed.
    clustering : Clustering
        Its clusters and segment ids are hashed.

    Returns
    -------
    dict
        ``n_segments``, ``shape``, ``segmentation_sha256`` and ``clustering_sha256`` (JSON-serialisable).
    """
    seg = hashlib.sha256(np.ascontiguousarray(segmentation.ids).tobytes())
    seg.update(repr((segmentation.shape, tuple(segmentation.transform)[:6], segmentation.crs.to_wkt())).encode())
    clu = hashlib.sha256(np.ascontiguousarray(clustering.cluster, dtype=np.int32).tobytes())
    clu.update(np.ascontiguousarray(clustering.segment_ids, dtype=np.int64).tobytes())
    return {"n_segments": int(clustering.cluster.size), "shape": list(segmentation.shape),
            "segmentation_sha256": seg.hexdigest(), "clustering_sha256": clu.hexdigest()}


def backup_path(path: Path) -> Path:
    """Where the previous good version of a session file is kept: ``<name>.bak`` beside it.

    Parameters
    ----------
    path : pathlib.Path
        The session file.

    Returns
    -------
    pathlib.Path
    """
    return path.with_name(path.name + ".bak")


def with_backup(problem: str, path: Path) -> str:
    """An error message about a session file, saying where its previous good version is when it has a readable one.

    Parameters
    ----------
    problem : str
        What is wrong with the file.
    path : pathlib.Path
        The session file.

    Returns
    -------
    str
        ``problem``, followed by the backup's path when :func:`backup_path` holds a readable session file.
    """
    bak = backup_path(path)
    if bak.is_file():
        try:
            read_session_file(bak)
            return f"{problem}; the previous good version is kept in {bak}"
        except SessionError:
            pass
    return problem


def read_session_file(path: Path) -> dict[str, Any]:
    """Read and check the structure of a session file (:class:`SessionError` naming the problem).

    Parameters
    ----------
    path : pathlib.Path
        The session file (JSON).

    Returns
    -------
    dict
        The document, of this s2label's format and version, with an edit log (``edits``, ``position``) and a
        ``fingerprint``.

    Raises
    ------
    SessionError
        No such file, unreadable or not JSON, another format or version, or a damaged edit log.
    """
    if not path.is_file():
        raise SessionError("no session file here", path=path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(with_backup(f"cannot be read ({exc})", path), path=path) from None
    except json.JSONDecodeError as exc:
        raise SessionError(with_backup(f"is not valid JSON (line {exc.lineno}, column {exc.colno}): corrupt or "
                                        "cut short", path), path=path) from None
    if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
        raise SessionError(with_backup("is not an s2label session file", path), path=path)
    if doc.get("version") != FILE_VERSION:
        raise SessionError(f"session file version {doc.get('version')!r} is not supported (this s2label reads "
                           f"version {FILE_VERSION})", path=path)
    edits, position = doc.get("edits"), doc.get("position")
    if (not isinstance(edits, list) or isinstance(position, bool) or not isinstance(position, int)
            or not 0 <= position <= len(edits) or not isinstance(doc.get("fingerprint"), dict)):
        raise SessionError(with_backup("has a damaged edit log", path), path=path)
    return doc
