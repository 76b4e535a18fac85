"""An edit computed off a :class:`~s2label.session.LabelSession` and committed later, maybe from another thread.

:meth:`LabelSession.prepare` applies an edit to the session's current state (states are immutable and applying
an edit is pure, so a worker thread may do it while the researcher goes on editing);
:meth:`LabelSession.commit_prepared` appends it to the log only if the session is still where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s2label.session.rules import SessionState

__all__ = ["PreparedEdit", "propagation_edit"]


@dataclass(frozen=True)
class PreparedEdit:
    """An edit applied to a session's state without committing it (:meth:`LabelSession.prepare`).

    Attributes
    ----------
    edit : dict
        The JSON edit, exactly as the log will hold it.
    position : int
        The session's :attr:`~LabelSession.position` it was computed at.
    n_edits : int
        The length of the session's edit log then (undone edits included).
    base : SessionState
        The state it was applied to.
    state : SessionState
        The state it leads to.
    """

    edit: dict[str, Any]
    position: int
    n_edits: int
    base: SessionState
    state: SessionState


class Outdated(Exception):
    """A prepared edit whose session moved on (raised inside a change, before anything changes)."""


def propagation_edit(alpha: float, k: int, spatial: float) -> dict[str, Any]:
    """The JSON edit of :meth:`LabelSession.propagate` (one place, so a prepared one is the same edit).

    Parameters
    ----------
    alpha, k, spatial
        As for :func:`~s2label.session.propagate.propagate_labels`.

    Returns
    -------
    dict
        ``{"op": "propagate", "alpha": float, "k": int, "spatial": float}``.
    """
    return {"op": "propagate", "alpha": float(alpha), "k": int(k), "spatial": float(spatial)}
