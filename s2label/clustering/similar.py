"""Find segments like some examples (and unlike others) in embedding space.

Columns are standardised and rows scaled to unit length, so the score of a segment is
``cos(v, mean of positives) - negative_weight * cos(v, mean of negatives)``: near 1 for segments like the
positives, pushed down for segments like the negatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from s2label._standardise import spread
from s2label.encoders.embeddings import Embeddings
from s2label.errors import S2LabelError

__all__ = ["Similarity", "find_similar", "SimilarityIndex"]


@dataclass(frozen=True, eq=False)
class Similarity:
    """Scores of every segment against the examples, and their ranking.

    Attributes
    ----------
    segment_ids : ndarray (N,) int32
        All segments, most similar first.
    scores : ndarray (N,) float32
        Their scores, in the same (descending) order.
    positives, negatives : tuple of int
        The example segment ids.
    """

    segment_ids: np.ndarray
    scores: np.ndarray
    positives: tuple[int, ...]
    negatives: tuple[int, ...] = ()

    def select(self, threshold: float) -> np.ndarray:
        """Segment ids scoring at least ``threshold``, most similar first."""
        return self.segment_ids[: int(np.searchsorted(-self.scores, -threshold, side="right"))]

    def top(self, n: int) -> np.ndarray:
        """The ``n`` most similar segment ids."""
        return self.segment_ids[:n]

    def score_of(self, segment_ids: np.ndarray | Sequence[int]) -> np.ndarray:
        """Scores of the given segments (in the order given)."""
        order = np.argsort(self.segment_ids)
        pos = np.searchsorted(self.segment_ids, np.asarray(segment_ids), sorter=order)
        return self.scores[order[pos]]


class SimilarityIndex:
    """Embeddings prepared once (standardised, unit rows) so that repeated queries are a matrix product.

    Parameters
    ----------
    embeddings : Embeddings

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9]])
    >>> index = SimilarityIndex(Embeddings(v, np.array([1, 2, 3, 4]), "spectral"))
    >>> index.query([1]).top(2).tolist(), index.query([1], negatives=[3]).select(0.5).tolist()
    ([1, 2], [1, 2])
    """

    def __init__(self, embeddings: Embeddings) -> None:
        v = embeddings.vectors.astype(np.float32)
        if not np.isfinite(v).all():
            raise S2LabelError("embeddings contain NaN or infinity")
        mean, std = spread(v, axis=0)
        z = (v - mean) / std
        norm = np.linalg.norm(z, axis=1, keepdims=True)
        self.unit = (z / np.where(norm < 1e-12, 1.0, norm)).astype(np.float32)
        self.segment_ids = embeddings.segment_ids
        self._row = {int(s): i for i, s in enumerate(self.segment_ids)}

    def _rows(self, ids: Sequence[int], what: str) -> np.ndarray:
        try:
            return np.array([self._row[int(i)] for i in ids], dtype=np.int64)
        except KeyError as exc:
            raise S2LabelError(f"{what} example segment {exc.args[0]} is not among the "
                               f"{len(self.segment_ids)} segments") from None

    def query(self, positives: Sequence[int], negatives: Sequence[int] = (), *,
              negative_weight: float = 1.0) -> Similarity:
        """Score all segments against the examples (segment ids); see :func:`find_similar`."""
        positives = tuple(int(p) for p in positives)
        negatives = tuple(int(n) for n in negatives)
        if not positives:
            raise S2LabelError("find similar needs at least one positive example segment")
        overlap = set(positives) & set(negatives)
        if overlap:
            raise S2LabelError(f"segment(s) {sorted(overlap)} are both positive and negative examples")
        target = self.unit[self._rows(positives, "positive")].mean(axis=0)
        scores = self.unit @ (target / max(float(np.linalg.norm(target)), 1e-12))
        if negatives:
            away = self.unit[self._rows(negatives, "negative")].mean(axis=0)
            scores = scores - negative_weight * (self.unit @ (away / max(float(np.linalg.norm(away)), 1e-12)))
        order = np.argsort(-scores, kind="stable")
        return Similarity(self.segment_ids[order], scores[order].astype(np.float32), positives, negatives)


def find_similar(embeddings: Embeddings, positives: Sequence[int], negatives: Sequence[int] = (), *,
                 negative_weight: float = 1.0) -> Similarity:
    """Rank every segment by its likeness to example segments.

    Parameters
    ----------
    embeddings : Embeddings
    positives : sequence of int
        Segment ids of examples of what is sought (at least one).
    negatives : sequence of int, optional
        Segment ids of examples of what is not.
    negative_weight : float
        How hard negatives push scores down.

    Returns
    -------
    Similarity
        ``.segment_ids`` ranked, ``.scores``; ``.select(threshold)`` turns them into a selection.

    Raises
    ------
    S2LabelError
        No positive, an unknown segment id, a segment both positive and negative.

    Notes
    -----
    For many queries on the same embeddings build a :class:`SimilarityIndex` once.
    """
    return SimilarityIndex(embeddings).query(positives, negatives, negative_weight=negative_weight)
