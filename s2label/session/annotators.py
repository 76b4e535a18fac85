"""Who made each edit of a labelling session, and when: the annotator of every edit, per-label annotators for the
exports, and one annotator's own view of a shared session.

Each edit of the log has a record ``{"annotator": name, "time": ISO 8601 UTC}`` beside it (the session file's
``annotations`` list, one per edit; files written before it have none, read as ``annotator: None``). The
edits themselves are unchanged, so replaying a log never depends on who made it.

Examples
--------
>>> record = annotation("ana")
>>> record["annotator"], record["time"].endswith("+00:00")
('ana', True)
>>> read_annotations({"edits": [{"op": "rename"}]}, None)
[{'annotator': None, 'time': None}]
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s2label.errors import SessionError
from s2label.session.rules import SessionState, clean_name

if TYPE_CHECKING:
    from s2label.session.label_session import LabelSession

__all__ = ["Annotations", "default_annotator", "annotation", "read_annotations", "labels_touched",
           "label_annotators", "annotator_view"]


def default_annotator() -> str:
    """The operating-system user (``"unknown"`` when it cannot be told).

    Returns
    -------
    str
        The login name, cleaned as a label name is (:func:`~s2label.session.rules.clean_name`).
    """
    try:
        return clean_name(getpass.getuser())
    except Exception:  # noqa: BLE001 - getpass raises several types where no user is set
        return "unknown"


def annotation(annotator: str) -> dict[str, Any]:
    """The record kept beside a new edit.

    Parameters
    ----------
    annotator : str
        Who made the edit.

    Returns
    -------
    dict
        ``{"annotator": annotator, "time": ...}``, the time now in UTC, ISO 8601 to the second.
    """
    return {"annotator": annotator, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def read_annotations(doc: Mapping[str, Any], path: Path | None) -> list[dict[str, Any]]:
    """The ``annotations`` of a session file, one per edit (unknown for a file written before they existed).

    Parameters
    ----------
    doc : mapping
        The session file's JSON document (:func:`~s2label.session.file.read_session_file`).
    path : pathlib.Path or None
        The file, named in errors.

    Returns
    -------
    list of dict
        ``{"annotator": str or None, "time": str or None}`` for each of ``doc["edits"]``.

    Raises
    ------
    SessionError
        A list of another length, or records that are not objects with a text or null annotator.
    """
    edits = doc["edits"]
    records = doc.get("annotations")
    if records is None:
        return [{"annotator": None, "time": None} for _ in edits]
    if (not isinstance(records, list) or len(records) != len(edits)
            or not all(isinstance(r, Mapping) and isinstance(r.get("annotator"), (str, type(None)))
                       for r in records)):
        raise SessionError("its 'annotations' do not match its edits (one record per edit)", path=path)
    return [{"annotator": r.get("annotator"), "time": r.get("time")} for r in records]


def labels_touched(before: SessionState, after: SessionState) -> set[int]:
    """Ids of the labels an edit made or changed (name, colour, members, hand assignments, ...).

    Parameters
    ----------
    before, after : SessionState
        The states before and after the edit.

    Returns
    -------
    set of int
        The ids of ``after``'s labels that are not the very same objects in ``before``.
    """
    old = {lab.id: lab for lab in before.labels}
    return {lab.id for lab in after.labels if old.get(lab.id) is not lab}


def label_annotators(states: Sequence[SessionState], records: Sequence[Mapping[str, Any]]) -> dict[int, list[str]]:
    """For each label id, the annotators (sorted) of the edits in force that made or changed it.

    ``states[i + 1]`` is the state after edit ``i``; ``records[i]`` its annotation.

    Parameters
    ----------
    states : sequence of SessionState
        The state before any edit, then after each edit in force.
    records : sequence of mapping
        The annotation of each edit (edits with no known annotator are skipped).

    Returns
    -------
    dict of int to list of str
        Only labels that some known annotator made or changed.
    """
    out: dict[int, set[str]] = {}
    for i, record in enumerate(records):
        name = record.get("annotator")
        if name is None:
            continue
        for lid in labels_touched(states[i], states[i + 1]):
            out.setdefault(lid, set()).add(str(name))
    return {lid: sorted(names) for lid, names in out.items()}


def annotator_view(session: LabelSession, annotator: str) -> LabelSession:
    """A new in-memory session replaying only ``annotator``'s edits in force of ``session``
    (:meth:`LabelSession.view_of`); edits that cannot stand without another annotator's are left out and counted
    in the view's ``skipped``.

    Parameters
    ----------
    session : LabelSession
        The shared session.
    annotator : str
        Whose edits to replay.

    Returns
    -------
    LabelSession
        Not saved anywhere; its ``annotator`` is ``annotator``.
    """
    from s2label.session.label_session import LabelSession

    view = LabelSession(session.segmentation, session.embeddings, session.clustering, spectra=session.spectra,
                        bands=session.bands, scene=session.scene, annotator=annotator)
    for edit, record in zip(session.edits, session.annotations, strict=True):
        if record.get("annotator") != view.annotator:
            continue
        try:
            view._edit(edit)
        except SessionError:
            view.skipped += 1
    return view


class Annotations:
    """Who made the edits of a session (a mixin of :class:`~s2label.session.LabelSession`)."""

    _annotations: list[dict[str, Any]]
    _states: list[SessionState]
    _position: int

    @property
    def annotations(self) -> tuple[dict[str, Any], ...]:
        """Who made each edit of :attr:`edits`, and when: ``{"annotator", "time"}`` (``None`` for edits saved by
        an s2label that did not record them)."""
        return tuple(dict(r) for r in self._annotations[: self._position])

    def label_annotators(self) -> dict[int, list[str]]:
        """Label id -> the annotators whose edits in force made or changed it."""
        return label_annotators(self._states[: self._position + 1], self._annotations[: self._position])

    def view_of(self, annotator: str) -> LabelSession:
        """One annotator's own labels: a new in-memory session replaying only their edits in force.

        Edits that cannot stand without another annotator's (a rename of a label someone else made) are left
        out; :attr:`skipped` of the view counts them. Compare two views with
        :func:`s2label.evaluation.inter_annotator.agreement`.
        """
        return annotator_view(self, annotator)
