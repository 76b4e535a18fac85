"""Two of the explorer's conversations with its session, kept apart from the layout and the map events:
reviewing the segments most worth a look (:meth:`LabelSession.review_queue`, answers, propagation) and finding
segments like examples (:meth:`LabelSession.similar`, the threshold, a new label).

Both are mixins of :class:`~s2label.widget.ClusterExplorer`, which provides the widgets they use (built in its
panel) and ``say``, ``_run``, ``_name``, ``show_info``, ``select_segments``, ``_paint_selection``.

The propagation after each answer runs in a worker thread (:class:`BackgroundPropagation`), so the map and the
panel stay usable while it runs; its result is committed only if the session did not move on meanwhile, and
answers given meanwhile are folded into one more propagation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import Any

import ipywidgets as w
import numpy as np

from s2label.display.figures import histogram_svg
from s2label.errors import S2LabelError
from s2label.session.label_session import UNLABELLED, LabelSession, PreparedEdit
from s2label.widget.layers import wrap_row

__all__ = ["ReviewActions", "FindSimilarActions", "BackgroundPropagation", "NO_ANSWER", "BUSY_HTML"]

#: The review answer list's prompt (no label chosen yet).
NO_ANSWER = "none"

_MATCH_RGBA = (255, 196, 0, 255)  # amber outline of the segments like the examples
#: The busy indicator beside *after each answer* while a propagation runs in the background.
BUSY_HTML = '<span class="s2label-busy" title="the map stays usable meanwhile">⏳ propagating…</span>'

#: How a background propagation ended: committed (True), outdated (False), or the error it raised.
Outcome = bool | Exception


class BackgroundPropagation:
    """Propagations of a session, one at a time in a worker thread, with the requests made meanwhile coalesced.

    :meth:`request` starts a propagation (:meth:`LabelSession.prepare_propagation`, then
    :meth:`LabelSession.commit_prepared`, so the log gets exactly the edit :meth:`LabelSession.propagate`
    writes). A request made while one runs is remembered (once, however many come): when the running one ends
    (its result dropped if the session moved on), one more runs on the latest labels. A result is dropped, too,
    when the session moved on for another reason (an undo, a click): nothing asked for a propagation of that.

    Parameters
    ----------
    session : LabelSession
    on_busy : callable
        ``on_busy(True)`` when a propagation starts, ``on_busy(False)`` when none runs or waits any more.
    on_done : callable
        ``on_done(outcome)`` after the last one: ``True`` committed, ``False`` dropped because the session
        moved on (and no request came meanwhile), or the exception it raised. Never called after :meth:`close`.
    options : mapping, optional
        ``alpha``, ``k``, ``spatial`` of the propagation.

    Attributes
    ----------
    future : concurrent.futures.Future or None
        The worker's current job (``None`` before the first request).
    """

    def __init__(self, session: LabelSession, *, on_busy: Callable[[bool], None],
                 on_done: Callable[[Outcome], None], options: Mapping[str, Any] | None = None) -> None:
        self.session = session
        self.options = dict(options or {})
        self.future: futures.Future[None] | None = None
        self._on_busy, self._on_done = on_busy, on_done
        self._executor: futures.ThreadPoolExecutor | None = None  # its thread starts with the first request
        self._flags = threading.Lock()  # guards the three below; never held while the session works
        self._running = self._closed = False
        self._requests = 0  # how many requests came (a round covers those counted before it reads the labels)
        self._committing = threading.RLock()  # held while a result is committed: close() waits for it
        self._last: PreparedEdit | None = None  # the last propagation this worker committed (its thread only)

    @property
    def busy(self) -> bool:
        """Whether a propagation runs or waits."""
        return self._running

    def request(self) -> None:
        """Propagate in the worker now, or once the running propagation ends (at most one waits)."""
        with self._flags:
            if self._closed:
                return
            self._requests += 1
            if self._running:
                return
            self._running = True
            self._on_busy(True)
            if self._executor is None:
                self._executor = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="s2label-propagate")
            self.future = self._executor.submit(self._work)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no propagation runs or waits (``True``), or ``timeout`` seconds passed (``False``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._flags:
                future, running = self.future, self._running
            if not running or future is None:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            futures.wait([future], timeout=left)

    def close(self) -> None:
        """Start nothing more and commit nothing more; returns once a commit under way has ended."""
        with self._flags:
            self._closed = True
            if self.future is not None and self.future.cancel():  # still queued: it never runs
                self._running = False
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        if self._committing.acquire(timeout=30):
            self._committing.release()

    def _work(self) -> None:
        outcome: Outcome | None = None
        again = True
        while again:
            with self._flags:
                seen = self._requests
            outcome = self._propagate_once()
            with self._flags:
                again = self._requests != seen and not self._closed
                if not again:
                    self._running = False
                    self._on_busy(False)
        if outcome is not None and not self._closed:
            self._on_done(outcome)

    def _propagate_once(self) -> Outcome | None:
        try:
            prepared = self.session.prepare_propagation(**self.options)  # the slow part, holding no lock
            if self._last is not None and prepared.base is self._last.state:
                return True  # nothing changed since this worker's last propagation: the same result, once is enough
            with self._committing:
                if self._closed:
                    return None
                committed = self.session.commit_prepared(prepared)
        except Exception as exc:  # reported through on_done, never raised in the worker
            return exc
        if committed:
            self._last = prepared
        return committed


class ReviewActions:
    """*Next to review*, *Accept* / another label, and propagation after each answer."""

    session: Any
    map: Any
    locator: Any
    reviewing: int | None
    _reviewed: set[int]
    propagation: BackgroundPropagation
    propagate_busy: w.HTML

    def _build_review(self) -> None:
        """The review and propagation widgets of the Labels tab."""
        self.review_button = w.Button(description="Next to review", icon="search", layout=w.Layout(width="auto"),
                                      tooltip="the most uncertain segment not set by hand, spread out (n)")
        self.review_button.on_click(lambda _: self._review_next())
        self.accept_button = w.Button(description="Accept", icon="check", layout=w.Layout(width="auto"),
                                      disabled=True, tooltip="the label shown becomes a hand label")
        self.accept_button.on_click(lambda _: self._answer(None))
        # a value for the prompt that is not None: a Dropdown whose value is None shows blank
        self.answer = w.Dropdown(options=[("or: another label…", NO_ANSWER)], value=NO_ANSWER, disabled=True,
                                 layout=w.Layout(width="170px"))
        self.answer.observe(lambda ch: self._answer(ch["new"]) if ch["new"] != NO_ANSWER else None, "value")
        self.propagate_button = w.Button(description="Propagate", icon="share-alt", layout=w.Layout(width="auto"),
                                         tooltip="spread the labels you gave to every segment not set by hand")
        self.propagate_button.on_click(lambda _: self.propagation.request())  # in the worker thread too
        self.auto_propagate = w.Checkbox(value=False, description="after each answer", indent=False,
                                         layout=w.Layout(width="auto"))
        self._build_background_propagation()  # in a worker thread, with a busy indicator
        self.review_info = w.HTML("")
        self.reviewing: int | None = None  # the segment shown by "Next to review"
        self._reviewed: set[int] = set()

    def _build_background_propagation(self) -> None:
        """The worker that propagates after each answer, and its busy indicator (put beside the checkbox)."""
        self.propagate_busy = w.HTML("", layout=w.Layout(width="auto"))
        self.propagate_busy.add_class("s2label-propagate-busy")
        self.propagation = BackgroundPropagation(self.session, on_busy=self._show_propagating,
                                                 on_done=self._propagated)
        self._review_prompt = ""
        self._redraw_lock = threading.RLock()  # the worker's commit redraws too: one redraw at a time

    def wait_for_propagation(self, timeout: float | None = None) -> bool:
        """Block until no background propagation runs or waits (``False`` if ``timeout`` seconds passed first)."""
        return self.propagation.wait(timeout)

    def close(self) -> None:
        """Close the widget; a background propagation still running commits nothing."""
        if hasattr(self, "propagation"):
            self.propagation.close()
        super().close()  # type: ignore[misc]

    def _show_propagating(self, busy: bool) -> None:
        self.propagate_busy.value = BUSY_HTML if busy else ""
        self.propagate_button.disabled = busy

    def _propagated(self, outcome: Outcome) -> None:
        """Say how the last background propagation ended (the redraw came through the session's observers)."""
        if isinstance(outcome, (S2LabelError, ValueError)):
            self.say(str(outcome), error=True)
        elif isinstance(outcome, Exception):
            self.say(f"the propagation failed ({type(outcome).__name__}: {outcome})", error=True)
        elif not outcome:
            self.say("the labels changed while propagating: its result was dropped (Propagate runs it again)",
                     error=True)
        elif self.reviewing is not None:
            self.say(f"labels propagated · {self._review_prompt}")

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
        rows, cols = np.nonzero(self.session.segmentation.ids == segment_id)
        lat, lon = self.locator.latlon(float(rows.mean()), float(cols.mean()))
        self.map.center = (lat, lon)
        self.show_info(self.session.segment_info(segment_id), lat=lat, lon=lon)
        self.select_segments(np.array([segment_id]), from_map=True)
        name = self._name(self.session.label_of(segment_id))
        self.accept_button.description = f"Accept '{name}'"[:40]
        self.accept_button.disabled = self.session.label_of(segment_id) == UNLABELLED
        self.answer.disabled = False
        self._review_prompt = (f"review segment {segment_id}: accept '{name}' or pick its label "
                               f"({len(self._reviewed)} reviewed)")
        self.say(self._review_prompt)

    def _answer(self, label_id: int | None) -> None:
        """Answer the segment under review: ``None`` accepts the label shown, else that label (a hand label).

        With *after each answer* ticked, a propagation follows in the background (:class:`BackgroundPropagation`):
        the next segment to review is shown at once, and may be answered before the propagation ends.
        """
        segment_id = self.reviewing
        if segment_id is None:
            return
        target = self.session.label_of(segment_id) if label_id is None else int(label_id)
        if target == UNLABELLED:
            self.say("this segment is unlabelled: pick its label in the list", error=True)
            return
        if self._run(self.session.assign, [segment_id], target, how="review") is None:
            return
        with self.answer.hold_trait_notifications():
            self.answer.value = NO_ANSWER
        self._review_next()
        if self.auto_propagate.value:
            self.propagation.request()


class FindSimilarActions:
    """Positive and negative examples, the similarity of every segment, the threshold and *Make label*."""

    session: Any
    similarity: Any
    positives: list[int]
    negatives: list[int]

    def _build_similar_tab(self) -> None:
        """The Similar tab: example kind, the examples, the threshold and its histogram, a new label."""
        self.example_kind = w.ToggleButtons(options=["positive", "negative"], value="positive",
                                            description="click adds", style={"button_width": "80px"})
        self.examples = w.HTML("<i>switch to 'similar' mode and click example segments</i>")
        self.threshold = w.FloatSlider(value=0.9, min=0.0, max=1.0, step=0.001, description="threshold",
                                       continuous_update=True, readout_format=".3f",
                                       layout=w.Layout(width="auto"))
        self.threshold.observe(lambda _: self.refresh_similarity(), "value")
        self.histogram = w.HTML("")
        self.histogram.add_class("s2label-histogram")
        self.similar_name = w.Text(placeholder="name of the new label", continuous_update=False,
                                   layout=w.Layout(width="auto", flex="1 1 120px"))
        self.similar_button = w.Button(description="Make label", icon="check", layout=w.Layout(width="auto"))
        self.similar_button.on_click(self._label_from_similarity)
        self.similar_tab = w.VBox([self.example_kind, self.examples, self.threshold, self.histogram,
                                   wrap_row(self.similar_name, self.similar_button)])

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
