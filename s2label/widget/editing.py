"""Editing labels from the explorer's Labels tab: rename, recolour, hide, merge, split, delete, re-cut, new label.

A mixin of :class:`~s2label.widget.explorer.ClusterExplorer`: it builds the tab's editing widgets and turns each
into one session edit (through the explorer's ``_run``, which reports errors in the status line).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import numpy as np

from s2label.session.label_session import UNLABELLED
from s2label.widget.panel import LabelList

__all__ = ["LabelEditing"]


class LabelEditing:
    """The Labels tab's edits (a mixin of :class:`~s2label.widget.explorer.ClusterExplorer`)."""

    session: Any
    selected_segments: np.ndarray
    say: Any
    _run: Any
    refresh: Any

    def _build_editing(self) -> None:
        """The labels list and its edits: merge, split, delete, the granularity slider, a new label."""
        s = self.session
        self.panel = LabelList(self._on_row_change)
        self.merge_name = w.Text(placeholder="name of the merged label", continuous_update=False,
                                 layout=w.Layout(width="auto", flex="1 1 120px"))
        self.merge_button = w.Button(description="Merge", icon="compress", tooltip="merge the ticked labels",
                                     layout=w.Layout(width="auto"))
        self.split_button = w.Button(description="Split", icon="expand", layout=w.Layout(width="auto"),
                                     tooltip="split the ticked label one level finer along the HDBSCAN hierarchy")
        self.delete_button = w.Button(description="Delete", icon="trash", layout=w.Layout(width="auto"),
                                      tooltip="delete the ticked labels (their segments become unlabelled)")
        for button, handler in ((self.merge_button, self._merge), (self.split_button, self._split),
                                (self.delete_button, self._delete)):
            button.on_click(handler)
        self.granularity = w.SelectionSlider(options=[("1", 0)], description="labels", continuous_update=False,
                                             disabled=s.hierarchy.flat, layout=w.Layout(width="auto", flex="1 1 220px",
                                                                                        min_width="220px"),
                                             tooltip="re-cut the HDBSCAN hierarchy: number of labels (yours kept)")
        self.granularity.observe(self._recut, "value")
        self.reset_cut = w.Button(description="HDBSCAN's cut", disabled=s.hierarchy.flat,
                                  layout=w.Layout(width="auto"))
        self.reset_cut.on_click(lambda _: self._run(s.recut, None))
        self.new_label_name = w.Text(placeholder="new label from the selection", continuous_update=False,
                                     layout=w.Layout(width="auto", flex="1 1 120px"))
        self.new_label_button = w.Button(description="New label", icon="plus", layout=w.Layout(width="auto"),
                                         tooltip="a new label of the selected segments")
        self.new_label_button.on_click(self._new_label_from_selection)

    def _show_granularity(self) -> None:
        s = self.session
        if s.hierarchy.flat:
            return
        sizes = s.granularity_options()
        options = [(str(n), level) for level, n in enumerate(sizes)]
        level = self._level_shown()
        self.granularity.unobserve(self._recut, "value")
        try:
            if list(self.granularity.options) != options:
                self.granularity.options = options
            self.granularity.value = level
        finally:
            self.granularity.observe(self._recut, "value")

    def _level_shown(self) -> int:
        """The granularity level of the session's cut (for HDBSCAN's own cut, the level with as many clusters)."""
        s = self.session
        if s.level is not None:
            return s.level
        clusters = s.granularity_levels()
        return int(np.argmin([abs(k - len(s.hierarchy.selected)) for k in clusters]))

    def _name(self, label_id: int) -> str:
        return "unlabelled" if label_id == UNLABELLED else self.session.label(label_id).name

    def _on_row_change(self, label_id: int, what: str, value: Any) -> None:
        s = self.session
        if what == "ticked":
            self._offer_merge_name()
        elif what == "name":
            if self._run(s.rename, label_id, value) is None:
                self.refresh()  # put the previous name back in the box
        elif what == "colour":
            self._run(s.set_colour, label_id, value)
        elif what == "hidden":
            self._run(s.hide, label_id, bool(value))

    def _offer_merge_name(self) -> None:
        """Put the name a merge of the ticked labels would take in the merge box (to keep or change)."""
        ids = self.panel.selected()
        if len(ids) < 2:
            self.merge_name.value = ""
            return
        labels = [self.session.label(i) for i in ids if any(lab.id == i for lab in self.session.labels)]
        named = [lab.name for lab in labels if lab.named]
        self.merge_name.value = named[0] if named else (labels[0].name if labels else "")

    def _merge(self, _: Any = None) -> None:
        ids = self.panel.selected()
        name = self.merge_name.value.strip() or None
        if self._run(self.session.merge, ids, name=name) is not None:
            self.panel.clear_selection()
            self.merge_name.value = ""

    def _split(self, _: Any = None) -> None:
        ids = self.panel.selected()
        if len(ids) != 1:
            self.say("tick exactly one label to split", error=True)
            return
        if self._run(self.session.split, ids[0]) is not None:
            self.panel.clear_selection()

    def _delete(self, _: Any = None) -> None:
        for label_id in self.panel.selected():
            self._run(self.session.delete, label_id)

    def _recut(self, change: Mapping[str, Any]) -> None:
        self._run(self.session.recut, int(change["new"]))

    def _new_label_from_selection(self, _: Any = None) -> None:
        if self.selected_segments.size == 0:
            self.say("select segments first (click, draw a polygon, or brush the embedding view)", error=True)
            return
        self._run(self.session.create_label, self.new_label_name.value, self.selected_segments.tolist())

    def _undo(self) -> None:
        self._run(self.session.undo)

    def _redo(self) -> None:
        self._run(self.session.redo)
