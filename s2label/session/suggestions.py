"""What the model suggests in a labelling session: the researcher's labels propagated, a review queue, similar
segments.

The :class:`Suggestions` mixin gives :class:`~s2label.session.label_session.LabelSession` its model-assisted
methods; each suggestion the researcher accepts becomes an ordinary edit of the session's log (undo, autosave, replay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from s2label.clustering.clusterer import Clustering
from s2label.clustering.similar import Similarity, SimilarityIndex
from s2label.encoders.embeddings import Embeddings
from s2label.errors import SessionError
from s2label.segmentation.superpixels import Segmentation
from s2label.session.prepared import PreparedEdit, propagation_edit
from s2label.session.rules import _AUTO, UNLABELLED, EditRules, SessionState
from s2label.session.spread import spread_queue

__all__ = ["Suggestions"]


class Suggestions:
    """Model-assisted labelling methods of :class:`~s2label.session.label_session.LabelSession` (a mixin)."""

    segmentation: Segmentation
    embeddings: Embeddings
    clustering: Clustering
    _rules: EditRules
    _states: list[SessionState]
    _position: int
    _segment_labels: np.ndarray
    _lock: Any  # a threading.RLock
    _graph: tuple[np.ndarray, np.ndarray] | None
    _similarity: SimilarityIndex | None
    _edit: Callable[..., None]
    manual_rows: Callable[[], np.ndarray]
    create_label: Callable[..., int]
    prepare: Callable[[Mapping[str, Any]], PreparedEdit]

    def noise_queue(self) -> np.ndarray:
        """Unlabelled segment ids, most unusual first (HDBSCAN outlier score, descending): a review queue."""
        rows = np.flatnonzero(self._segment_labels == UNLABELLED)
        order = np.argsort(-np.asarray(self.clustering.outlier_scores)[rows], kind="stable")
        return rows[order] + 1

    def review_queue(self, n: int = 20, *, spread: int = 10) -> np.ndarray:
        """The ``n`` segments most worth a look, most uncertain first, spread out; none set by hand.

        Uncertainty is the margin between the two most probable labels of the last propagation (smallest
        first); before any propagation, HDBSCAN's outlier score (largest first). Spread: a segment is skipped
        when it touches one already in the queue or is among the ``spread`` nearest, in the clustering space,
        of one already in it, so the queue is never ten pieces of one field or ten look-alikes.

        Returns
        -------
        ndarray (<= n,) int64
            Segment ids.
        """
        if n < 1:
            raise SessionError(f"n must be at least 1, got {n}")
        state = self._states[self._position]
        eligible = ~self.manual_rows()
        if state.predicted is not None:
            reached = self._rules.predicted_labels(state) != _AUTO
            score = np.where(reached, np.asarray(state.predicted[2], np.float64), 2.0)  # unreached last
        else:
            score = -np.asarray(self.clustering.outlier_scores, np.float64)
        edge_index, _, space = self._evidence()
        return spread_queue(score, eligible, edge_index, space, n=n, spread=spread)

    def propagate(self, *, alpha: float = 0.9, k: int = 10, spatial: float = 0.5) -> None:
        """Spread the researcher's labels to every segment not set by hand (an edit: undo, autosave, replay).

        Hand labels are strong examples, segments of clusters the researcher named or merged weaker ones
        (:data:`~s2label.session.rules.WEAK_EXAMPLE`), unnamed ``cluster k`` labels none; the segment graph
        (touching segments, weighted by boundary and likeness) and the ``k`` nearest segments in the clustering
        space carry them (:func:`s2label.session.propagate.propagate_labels`). A propagation never changes a segment set
        by hand, and hand labels given after it win too. :meth:`provenance` and :meth:`probabilities` tell each
        segment's source and confidence.

        Raises
        ------
        SessionError
            No example, or examples of one label only.
        """
        self._edit(propagation_edit(alpha, k, spatial))

    def prepare_propagation(self, *, alpha: float = 0.9, k: int = 10, spatial: float = 0.5) -> PreparedEdit:
        """:meth:`propagate` prepared (:meth:`prepare`): the same edit, computed off the main thread."""
        return self.prepare(propagation_edit(alpha, k, spatial))

    def _evidence(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The segment graph (built once) and the clustering space: what a propagation spreads over."""
        with self._lock:  # built once, whichever thread asks first
            if self._graph is None:
                from s2label.segmentation.graph import build_graph

                graph = build_graph(self.segmentation)  # node i is segment i + 1
                self._graph = (graph.edge_index, graph.edge_weight)
            edge_index, edge_weight = self._graph
        space = self.clustering.embedding if self.clustering.embedding is not None else self.embeddings.vectors
        return edge_index, edge_weight, np.asarray(space)

    def provenance(self) -> np.ndarray:
        """(N,) where each segment's label comes from: ``"manual"``, ``"predicted"``, ``"cluster"`` or
        ``"unlabelled"``."""
        state = self._states[self._position]
        out = np.where(self._segment_labels == UNLABELLED, "unlabelled", "cluster").astype("<U10")
        out[self._rules.predicted_labels(state) != _AUTO] = "predicted"
        out[self.manual_rows()] = "manual"
        out[(out != "manual") & (self._segment_labels == UNLABELLED)] = "unlabelled"
        return out

    def probabilities(self) -> np.ndarray:
        """(N,) float32 confidence of each segment's label: 1 by hand, the propagation's share where
        predicted, HDBSCAN's membership probability from the clusters, 0 unlabelled."""
        state = self._states[self._position]
        out = np.asarray(self.clustering.probabilities, np.float32).copy()
        if state.predicted is not None:
            predicted = self._rules.predicted_labels(state) != _AUTO
            out[predicted] = state.predicted[1][predicted]
        out[self.manual_rows()] = 1.0
        out[self._segment_labels == UNLABELLED] = 0.0
        return out

    def similar(self, positives: Sequence[int], negatives: Sequence[int] = ()) -> Similarity:
        """Score every segment by similarity to example segments (see :func:`s2label.find_similar`)."""
        if self._similarity is None:
            self._similarity = SimilarityIndex(self.embeddings)
        return self._similarity.query(positives, negatives)

    def label_from_similarity(self, similarity: Similarity, threshold: float, name: str, *,
                              colour: str | None = None) -> int:
        """Turn the segments scoring at least ``threshold`` into a new label named ``name``."""
        selected = similarity.select(threshold)
        if selected.size == 0:
            raise SessionError(f"no segment scores {threshold} or more; lower the threshold")
        details = {"positives": list(similarity.positives), "negatives": list(similarity.negatives),
                   "threshold": float(threshold)}
        return self.create_label(name, selected, colour=colour, source="similar", details=details)
