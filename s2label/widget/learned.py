"""The first look's banner: the learned run's progress in the panel, then the switch to its clusters.

:func:`s2label.explore` opens the explorer on the first look (the spectral clusters) while the learned encoder
trains in another process (:class:`~s2label.pipeline.background.LearnedRun`). A banner under the toolbar shows
how far it has gone. When it has finished, an explorer without edits switches at once; one with edits offers
the switch, which carries them over (:func:`s2label.session.carry.carry_over`): the first look's session stays
as it was, in ``out/spectral/session.sqlite``. A training that fails says why in the banner and leaves the first
look as usable as before.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import numpy as np

from s2label.errors import S2LabelError, SessionError
from s2label.session.carry import CarriedEdits
from s2label.widget.embedding_view import EmbeddingView, project

if TYPE_CHECKING:
    from s2label.session.label_session import LabelSession

__all__ = ["LearnedSwitch"]

#: Opens the learned run's session, carrying the edits of the session given: (session, what was carried).
OpenLearned = Callable[[Any], "tuple[Any, CarriedEdits | None]"]


class LearnedSwitch:
    """The banner and the switch (a mixin of :class:`~s2label.widget.ClusterExplorer`).

    Uses the explorer's session, views and redraw lock (:meth:`replace_session` swaps them all).
    """

    session: Any
    say: Any
    _redraw_lock: Any

    def _build_learned(self) -> None:
        self.learned_text = w.HTML("")
        self.learned_bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="160px"))
        self.learned_button = w.Button(description="Switch to the learned clusters", icon="exchange",
                                       layout=w.Layout(width="auto", display="none"),
                                       tooltip="show the cnn-gnn clusters; your edits carry over (hand-set "
                                               "segments keep their labels, named labels take the clusters "
                                               "they hold); the first look's session stays as it is")
        self.learned_button.on_click(lambda _: self.switch_to_learned())
        self.learned_box = w.HBox([self.learned_bar, self.learned_text, self.learned_button],
                                  layout=w.Layout(display="none", align_items="center", flex_flow="row wrap"))
        self.learned_box.add_class("s2label-learned")
        self.learned: Any = None  # the LearnedRun followed
        self._open_learned: OpenLearned | None = None
        self._learned_stop = threading.Event()
        self._learned_thread: threading.Thread | None = None

    def follow_learned(self, job: Any, open_learned: OpenLearned, *, every: float = 1.0) -> None:
        """Show ``job``'s progress (``None``: a learned run already finished) and switch when it is done.

        Parameters
        ----------
        job : LearnedRun or None
        open_learned : callable
            ``open_learned(session)`` opens the learned run's session with ``session``'s edits carried over.
        every : float
            Seconds between two looks at the job.
        """
        self.learned, self._open_learned = job, open_learned
        self.learned_box.layout.display = None
        if job is None:
            self._learned_ended("finished")
            return
        self._show_learned_progress()
        self._learned_thread = threading.Thread(target=self._watch_learned, args=(every,),
                                                name="s2label-learned", daemon=True)
        self._learned_thread.start()

    def wait_for_learned(self, timeout: float | None = None) -> bool:
        """Block until the learned run has ended and the banner says so (``False`` if ``timeout`` passed)."""
        thread = self._learned_thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _watch_learned(self, every: float) -> None:
        while not self._learned_stop.wait(every):
            state = self.learned.state
            if state != "running":
                self._learned_ended(state)
                return
            self._show_learned_progress()

    def _show_learned_progress(self) -> None:
        progress = self.learned.progress()
        self.learned_bar.value = progress.fraction
        self.learned_text.value = (f"<small>first look: spectral clusters. Training the learned encoder: "
                                   f"{html.escape(progress.text)}</small>")

    def _learned_ended(self, state: str) -> None:
        self.learned_bar.layout.display = "none"
        error = self.learned.error if state == "failed" else None
        if self.learned is not None:
            self.learned.cleanup()  # the run is in the run folder (or failed, its error read): the job goes
        if state == "finished":
            if not self.session.edits:
                self.switch_to_learned()
                return
            self.learned_text.value = ("<small><b>The learned clusters are ready.</b> Your edits carry over when "
                                       "you switch.</small>")
            self.learned_button.layout.display = None
        elif state == "failed":
            error = error or "unknown error"
            self.learned_text.value = (f'<small><span style="color:#b00020">The learned encoder could not be '
                                       f"trained: {html.escape(error)}</span>. The spectral clusters stay usable."
                                       "</small>")
        else:
            self.learned_text.value = "<small>The training of the learned encoder was stopped.</small>"

    def switch_to_learned(self) -> CarriedEdits | None:
        """Show the learned run's clusters, with this session's edits carried over; what was carried (``None``
        when another window had switched first: its session, with its edits, is then the one shown)."""
        if self._open_learned is None:
            raise S2LabelError("no learned run is followed by this explorer")
        try:
            session, carried = self._open_learned(self.session)
            self.replace_session(session)
        except S2LabelError as exc:
            self.say(f"cannot switch to the learned clusters: {exc}", error=True)
            return None
        self.learned_box.layout.display = "none"
        self.say("learned clusters shown" + (f": {carried.summary()}" if carried is not None and
                                             (carried.labels or carried.segments) else ""))
        return carried

    def replace_session(self, session: LabelSession) -> None:
        """Show another session over the same segments (another clustering of them): the map keeps its view; the
        selection, the find-similar examples and the review start afresh.

        Raises
        ------
        SessionError
            A session over other segments.
        """
        old = self.session
        if session.segmentation.shape != old.segmentation.shape or not np.array_equal(session.segmentation.ids,
                                                                                      old.segmentation.ids):
            raise SessionError("the new session is over other segments: open another explorer for it")
        self.stop_polling()
        self.propagation.close()
        with self._redraw_lock:
            old.unobserve(self._on_session_change)
            self.session = session
            self.pixel_labels.attach(session)
            self.propagation = type(self.propagation)(session, on_busy=self._show_propagating,
                                                      on_done=self._propagated)
            self.selected_segments = np.zeros(0, np.int64)
            self.positives, self.negatives, self.similarity = [], [], None
            self.reviewing, self._reviewed = None, set()
            self._painted["similarity"].paint(None)
            self._paint_selection()
            self.embedding_view = EmbeddingView(project(session.clustering.embedding,  # type: ignore[arg-type]
                                                        method=self.projection), on_select=self.select_segments)
            if self.tabs.selected_index == 3:
                self.embedding_tab.children = (self.embedding_view,)
            session.observe(self._on_session_change)
            self.refresh()
        self._start_polling(self._poll_every)

    def stop_learned(self) -> None:
        """Stop following (and, if it runs, stop) the learned run; its folder is left without a half-written run."""
        self._learned_stop.set()
        if self.learned is not None and self.learned.state == "running":
            self.learned.stop()
