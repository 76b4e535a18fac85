"""Spread the researcher's labels to the segments they did not label: label propagation over two graphs.

Segments are nodes; two kinds of neighbours are evidence (Zhou et al., *Learning with local and global
consistency*, NIPS 2004):

- the **segment graph**: segments that touch, weighted by their shared boundary and by how alike their
  embeddings are (a field's neighbour across a road is a weak neighbour);
- the **embedding graph**: each segment's ``k`` nearest segments in the clustering space, wherever they lie.

With ``S`` the symmetrically normalised sum of both, and ``Y`` the examples (one column per label; hand
labels weigh 1, segments of clusters the researcher named weigh less), ``F <- alpha S F + (1 - alpha) Y`` is
iterated to convergence; a segment's label is the largest column of ``F``, its probability that column's share.

Examples
--------
>>> import numpy as np
>>> space = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
>>> edges = np.array([[0, 1, 1, 2, 3, 4, 4, 5], [1, 0, 2, 1, 4, 3, 5, 4]])
>>> examples = np.array([0, -1, -1, -1, -1, 1]); weights = np.array([1.0, 0, 0, 0, 0, 1.0])
>>> result = propagate_labels(edges, np.ones(8), space, examples, weights, k=2)
>>> result.labels.tolist()
[0, 0, 0, 1, 1, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.neighbors import NearestNeighbors

from s2label.errors import SessionError

__all__ = ["Propagation", "propagate_labels"]


@dataclass(frozen=True)
class Propagation:
    """Labels spread from examples.

    Attributes
    ----------
    labels : ndarray (N,) int64
        Column (class) of the largest score; ``-1`` where no example reaches the segment.
    probabilities : ndarray (N,) float32
        That class's share of the segment's scores (0 where unreached).
    margins : ndarray (N,) float32
        Share of the best class minus share of the second: small = uncertain.
    iterations : int
    params : dict
    """

    labels: np.ndarray
    probabilities: np.ndarray
    margins: np.ndarray
    iterations: int
    params: dict

    @property
    def n(self) -> int:
        return int(self.labels.size)


def _normalised(w: sparse.csr_matrix) -> sparse.csr_matrix:
    """``D^-1/2 W D^-1/2`` (rows of zero degree stay zero)."""
    degree = np.asarray(w.sum(axis=1)).ravel()
    inv = np.zeros_like(degree)
    inv[degree > 0] = 1.0 / np.sqrt(degree[degree > 0])
    d = sparse.diags(inv)
    return (d @ w @ d).tocsr()


def _gaussian(distances: np.ndarray) -> np.ndarray:
    """``exp(-d^2 / sigma^2)`` with ``sigma`` the median distance (1 when all are 0)."""
    sigma = float(np.median(distances)) if distances.size else 1.0
    sigma = sigma if sigma > 0 else 1.0
    return np.exp(-((distances / sigma) ** 2))


def propagate_labels(edge_index: np.ndarray, edge_weight: np.ndarray, space: np.ndarray, examples: np.ndarray,
                     weights: np.ndarray, *, alpha: float = 0.9, k: int = 10, spatial: float = 0.5,
                     tol: float = 1e-5, max_iterations: int = 200) -> Propagation:
    """Spread example labels over the segment graph and the embedding's k-nearest-neighbour graph.

    Parameters
    ----------
    edge_index : ndarray (2, E) int
        Segment graph, both directions (rows of ``space``).
    edge_weight : ndarray (E,)
        Shared boundary length of each edge.
    space : ndarray (N, D) float
        Where segments are compared (the clustering space).
    examples : ndarray (N,) int
        Class of each example segment (0..C-1), ``-1`` for the rest.
    weights : ndarray (N,) float
        How much each example counts (hand labels 1, weaker examples less; ignored where ``examples`` is -1).
    alpha : float
        0 < alpha < 1: how far labels spread (larger: further).
    k : int
        Neighbours of each segment in ``space`` (0: the segment graph alone).
    spatial : float
        Share of the segment graph in the sum of the two graphs (0..1).
    tol : float
        Stop when no score changes by more than ``tol`` times the largest score.
    max_iterations : int
        Stop after this many iterations at most.

    Returns
    -------
    Propagation

    Raises
    ------
    SessionError
        No example, examples of one class only, or inputs of different lengths.
    """
    space = np.asarray(space, np.float64)
    n = space.shape[0]
    examples = np.asarray(examples, np.int64)
    weights = np.asarray(weights, np.float64)
    if examples.shape != (n,) or weights.shape != (n,):
        raise SessionError(f"examples and weights must have one value per segment ({n})")
    if not 0 < alpha < 1:
        raise SessionError(f"alpha must be between 0 and 1, got {alpha}")
    if not 0 <= spatial <= 1:
        raise SessionError(f"spatial must be between 0 and 1, got {spatial}")
    labelled = (examples >= 0) & (weights > 0)
    classes = np.unique(examples[labelled])
    if classes.size == 0:
        raise SessionError("nothing to propagate: label some segments by hand or name some clusters first")
    if classes.size < 2:
        raise SessionError("propagation needs examples of at least two labels (with one there is nothing to tell "
                           "apart)")
    n_classes = int(examples.max()) + 1
    edge_index = np.asarray(edge_index, np.int64)
    graphs = []
    if spatial > 0 and edge_index.size:
        src, dst = edge_index
        similarity = _gaussian(np.linalg.norm(space[src] - space[dst], axis=1))
        w = sparse.csr_matrix((np.asarray(edge_weight, np.float64) * similarity, (src, dst)), shape=(n, n))
        graphs.append(spatial * _normalised(w))
    if k > 0 and spatial < 1 and n > 1:
        kk = min(k, n - 1)
        distances, neighbours = NearestNeighbors(n_neighbors=kk + 1).fit(space).kneighbors(space)
        rows = np.repeat(np.arange(n), kk)
        w = sparse.csr_matrix((_gaussian(distances[:, 1:]).ravel(), (rows, neighbours[:, 1:].ravel())), shape=(n, n))
        graphs.append((1 - spatial) * _normalised(w.maximum(w.T)))
    if not graphs:
        raise SessionError("no graph to propagate over (no segment graph and k = 0)")
    s = _normalised(sum(graphs[1:], graphs[0]).tocsr())
    y = np.zeros((n, n_classes))
    y[np.flatnonzero(labelled), examples[labelled]] = weights[labelled]
    f = y.copy()
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - the count is reported
        nxt = alpha * (s @ f) + (1 - alpha) * y
        change = float(np.abs(nxt - f).max())
        f = nxt
        if change < tol * max(float(np.abs(f).max()), 1e-12):
            break
    total = f.sum(axis=1)
    reached = total > 0
    share = np.zeros_like(f)
    share[reached] = f[reached] / total[reached, None]
    order = np.argsort(-share, axis=1, kind="stable")
    best = np.take_along_axis(share, order[:, :1], axis=1).ravel()
    second = np.take_along_axis(share, order[:, 1:2], axis=1).ravel() if n_classes > 1 else np.zeros(n)
    labels = np.where(reached, order[:, 0], -1).astype(np.int64)
    return Propagation(labels, best.astype(np.float32), (best - second).astype(np.float32), iterations,
                       {"alpha": alpha, "k": k, "spatial": spatial, "n_examples": int(labelled.sum()),
                        "n_classes": int(classes.size)})
