"""Two of the explorer's conversations with its session, kept apart from the layout and the map events:
reviewing the segments most worth a look (:meth:`LabelSession.review_queue`, answers, propagation) and finding
segments like examples (:meth:`LabelSession.similar`, the threshold, a new label).

Both are mixins of :class:`~s2label.widget.ClusterExplorer`, which provides the widgets they use (built in its
panel) and ``say``, ``_run``, ``_name``, ``show_info``, ``select_segments``, ``_paint_selection``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..session import UNLABELLED
from .figures import histogram_svg

__all__ = ["ReviewActions", "FindSimilarActions", "NO_ANSWER"]

#: The review answer list's prompt (no label chosen yet).
NO_ANSWER = "none"

_MATCH_RGBA = (255, 196, 0, 255)  # amber outline of the segments like the examples


class ReviewActions:
    """*Next to review*, *Accept* / another label, and propagation after each answer."""

    session: Any
    map: Any
    locator: Any
    reviewing: int | None
    _reviewed: set[int]

    def _review_next(self) -> None:
        """Go to the next segment of :meth:`LabelSession.review_queue` not shown yet: pan to it, outline it, and
        offer the two answers (accept the label shown, or pick another)."""
        queue = [int(q) for q in self.session.review_queue(len(self._reviewed) + 20) if int(q) not in self._reviewed]
        if not queue:
            self.reviewing = None
            self.accept_button.disabled = self.answer.disabled = True
            self.say("nothing left to review: every segment is set by hand")
            return
        segment_id = self.reviewing = queue[0]
        self._reviewed.add(segment_id)
        rows, cols = np.nonzero(self.session.segmentation.labels == segment_id)
        lat, lon = self.locator.latlon(float(rows.mean()), float(cols.mean()))
        self.map.center = (lat, lon)
        self.show_info(self.session.segment_info(segment_id), lat=lat, lon=lon)
        self.select_segments(np.array([segment_id]), from_map=True)
        name = self._name(self.session.label_of(segment_id))
        self.accept_button.description = f"Accept '{name}'"[:40]
        self.accept_button.disabled = self.session.label_of(segment_id) == UNLABELLED
        self.answer.disabled = False
        self.say(f"review segment {segment_id}: accept '{name}' or pick its label ({len(self._reviewed)} reviewed)")

    def _answer(self, label_id: int | None) -> None:
        """Answer the segment under review: ``None`` accepts the label shown, else that label (a hand label)."""
        segment_id = self.reviewing
        if segment_id is None:
            return
        target = self.session.label_of(segment_id) if label_id is None else int(label_id)
        if target == UNLABELLED:
            self.say("this segment is unlabelled: pick its label in the list", error=True)
            return
        if self._run(self.session.assign, [segment_id], target, how="review") is None:
            return
        if self.auto_propagate.value:
            self._run(self.session.propagate)
        with self.answer.hold_trait_notifications():
            self.answer.value = NO_ANSWER
        self._review_next()



class FindSimilarActions:
    """Positive and negative examples, the similarity of every segment, the threshold and *Make label*."""

    session: Any
    similarity: Any
    positives: list[int]
    negatives: list[int]

    def set_examples(self, positives: list[int], negatives: list[int]) -> None:
        self.positives, self.negatives = list(positives), list(negatives)
        self.examples.value = (f'<b style="color:#00a152">+</b> {", ".join(map(str, self.positives)) or "–"} &nbsp; '
                               f'<b style="color:#d50032">−</b> {", ".join(map(str, self.negatives)) or "–"}')
        self._paint_selection()
        if not self.positives:
            self.similarity = None
            self.similarity_layer.visible = False
            self._painted["similarity"].paint(None)
            self.histogram.value = ""
            return
        self.similarity = self._run(self.session.similar, self.positives, self.negatives)
        if self.similarity is not None:
            scores = np.asarray(self.similarity.scores, np.float64)
            lo, hi = float(scores.min()), float(scores.max())
            if hi - lo < 1e-9:
                hi = lo + 1e-3
            previous = self.threshold.value
            with self.threshold.hold_trait_notifications():
                # the slider spans the scores' range (a full -1..1 span makes a pixel a big step)
                self.threshold.max = max(hi, self.threshold.min)
                self.threshold.min, self.threshold.max = lo, hi
                self.threshold.step = (hi - lo) / 1000
                self.threshold.value = previous if lo <= previous <= hi else float(np.quantile(scores, 0.95))
            self.similarity_layer.visible = True
            self.refresh_similarity()

    def refresh_similarity(self) -> None:
        """Outline the segments scoring at least the threshold, and draw the scores' histogram."""
        sim = self.similarity
        if sim is None:
            return
        chosen = sim.select(self.threshold.value)
        lut = np.zeros((self.session.n_segments + 1, 4), np.uint8)
        lut[chosen] = _MATCH_RGBA
        self._painted["similarity"].paint(lut if chosen.size else None)
        self.histogram.value = histogram_svg(np.asarray(sim.scores), threshold=self.threshold.value, width=300,
                                             height=64)
        self.say(f"{chosen.size} segments score {self.threshold.value:.3f} or more")

    def _label_from_similarity(self, _: Any = None) -> None:
        if self.similarity is None:
            self.say("click at least one positive example in 'similar' mode first", error=True)
            return
        self._run(self.session.label_from_similarity, self.similarity, self.threshold.value,
                  self.similar_name.value)
