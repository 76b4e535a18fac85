"""A review queue spread out in space and in likeness: the most uncertain segments, no two side by side or
look-alikes.

Examples
--------
Six segments in a row (rows 0-5, each touching the next; the first three alike, the last three alike), most
uncertain first: 0, 1, 4, 5, 3, 2. Row 1 touches row 0 and is skipped, row 4 is taken, 5 and 3 touch it, 2 is
taken. Ids are row + 1:

>>> import numpy as np
>>> edges = np.array([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4]])
>>> space = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
>>> score = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.7])      # smaller = more uncertain
>>> spread_queue(score, np.ones(6, bool), edges, space, n=3, spread=1).tolist()
[1, 5, 3]
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from s2label.errors import SessionError

__all__ = ["spread_queue"]


def spread_queue(score: np.ndarray, eligible: np.ndarray, edge_index: np.ndarray, space: np.ndarray, *, n: int,
                 spread: int = 10) -> np.ndarray:
    """The ``n`` eligible segments of smallest ``score``, skipping any that touches one already taken or is among
    the ``spread`` nearest (in ``space``) of one already taken.

    Parameters
    ----------
    score : ndarray (N,) float
        Smaller first (a margin; a negated outlier score).
    eligible : ndarray (N,) bool
        Segments that may be queued (not set by hand).
    edge_index : ndarray (2, E) int
        The segment graph, both directions, sorted by source (rows of ``space``).
    space : ndarray (N, D)
        Where likeness is measured.
    n : int
        At least 1.
    spread : int
        Look-alikes blocked by each queued segment (0: only its neighbours on the map).

    Returns
    -------
    ndarray (<= n,) int64
        Segment ids (row + 1), in queue order.
    """
    if n < 1:
        raise SessionError(f"n must be at least 1, got {n}")
    size = score.shape[0]
    order = np.flatnonzero(eligible)[np.argsort(score[eligible], kind="stable")]
    neighbours = np.split(edge_index[1], np.searchsorted(edge_index[0], np.arange(1, size)))
    knn = None
    if spread > 0 and size > 1:
        knn = NearestNeighbors(n_neighbors=min(spread, size - 1) + 1).fit(space)
    blocked = np.zeros(size, bool)
    queue: list[int] = []
    for row in order:
        if blocked[row]:
            continue
        queue.append(int(row))
        if len(queue) == n:
            break
        blocked[neighbours[row]] = True
        if knn is not None:
            blocked[knn.kneighbors(space[row:row + 1], return_distance=False)[0]] = True
    return np.asarray(queue, np.int64) + 1
