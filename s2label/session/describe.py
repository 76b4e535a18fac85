"""Edits of a labelling session in words, with the labels' names: what status lines and undo/redo say.

Examples
--------
>>> from s2label.session.label_session import Label
>>> before = (Label(0, "cluster 0", "#1f77b4"), Label(3, "salt marsh", "#2ca02c"))
>>> renamed = (Label(0, "water", "#1f77b4"), Label(3, "salt marsh", "#2ca02c"))
>>> describe_edit({"op": "rename", "label": 0, "name": "water"}, before, renamed)
"rename 'cluster 0' to 'water'"
>>> after = (Label(3, "salt marsh", "#2ca02c"),)
>>> describe_edit({"op": "merge", "labels": [3, 0], "name": None}, before, after)
"merge 'salt marsh', 'cluster 0' into 'salt marsh'"
>>> describe_edit({"op": "assign", "segments": [4, 5], "label": -1}, before, before)
'2 segments to unlabelled'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s2label.session.label_session import Label

__all__ = ["describe_edit"]


def _quoted(labels: Sequence[Label], label_id: object) -> str:
    if label_id == -1:
        return "unlabelled"
    for lab in labels:
        if lab.id == label_id:
            return repr(lab.name)
    return f"label {label_id}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def describe_edit(edit: Mapping[str, Any], before: Sequence[Label], after: Sequence[Label]) -> str:
    """One edit of the log in words.

    Parameters
    ----------
    edit : mapping
        The edit as the log holds it (``{"op": "rename", "label": 3, "name": "salt marsh"}``...).
    before, after : sequence of Label
        The labels before and after the edit (names are given as they were before, new labels as after).

    Returns
    -------
    str
    """
    op = edit.get("op")
    name = lambda lid: _quoted(before, lid)  # noqa: E731
    if op == "rename":
        return f"rename {name(edit.get('label'))} to {_quoted(after, edit.get('label'))}"
    if op == "colour":
        return f"recolour {name(edit.get('label'))} {edit.get('colour')}"
    if op == "hide":
        names = ", ".join(name(lid) for lid in edit.get("labels", []))
        return f"{'hide' if edit.get('hidden') else 'show'} {names}"
    if op == "merge":
        ids = list(edit.get("labels", []))
        into = _quoted(after, ids[0]) if ids else "?"
        return f"merge {', '.join(name(lid) for lid in ids)} into {into}"
    if op == "split":
        new = {lab.id for lab in after} - {lab.id for lab in before}
        return f"split {name(edit.get('label'))} into {len(new) + 1} labels"
    if op == "recut":
        level = edit.get("level")
        where = "HDBSCAN's cut" if level is None else f"level {level}"
        return f"re-cut to {_count(len(after), 'label')} ({where})"
    if op == "assign":
        n = len(edit.get("segments", []))
        how = edit.get("how", "manual")
        by = "" if how == "manual" else f" ({how})"
        return f"{_count(n, 'segment')} to {_quoted(after, edit.get('label'))}{by}"
    if op == "assign_pixels":
        return f"pixel-exact polygon to {_quoted(after, edit.get('label'))}"
    if op == "create":
        n = len(edit.get("segments", []))
        return f"new label {edit.get('name')!r} ({_count(n, 'segment')})"
    if op == "propagate":
        return f"propagate the labels given (alpha {edit.get('alpha')}, k {edit.get('k')})"
    if op == "delete":
        return f"delete {name(edit.get('label'))}"
    return str(op)
