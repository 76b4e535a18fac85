"""The side panel's list of labels: one row per label (select, colour, name, counts, hide), kept in step with a
:class:`~s2label.session.LabelSession` by updating rows in place rather than rebuilding them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from s2label.session.label_session import Label

__all__ = ["LabelRow", "LabelList"]


class LabelRow(w.HBox):
    """One label: a select box, a colour picker, an editable name, counts and a hide toggle."""

    def __init__(self, label: Label, on_change: Callable[[int, str, Any], None]) -> None:
        self.label_id = label.id
        self._on_change = on_change
        self._quiet = False
        self.select = w.Checkbox(value=False, indent=False, layout=w.Layout(width="24px", flex="0 0 24px"),
                                 description_allow_html=False)
        self.colour = w.ColorPicker(value=label.colour, concise=True, layout=w.Layout(width="30px", flex="0 0 30px"))
        self.name = w.Text(value=label.name, continuous_update=False,
                           layout=w.Layout(width="auto", min_width="90px", flex="1 1 140px"))
        self.counts = w.HTML(layout=w.Layout(width="96px", flex="0 0 96px"))
        self.hide = w.ToggleButton(value=label.hidden, icon="eye-slash" if label.hidden else "eye",
                                   tooltip="hide / show on the map",
                                   layout=w.Layout(width="36px", flex="0 0 36px", padding="0"))
        self.name.add_class("s2label-label-name")
        self.add_class("s2label-label-row")
        self.colour.observe(lambda ch: self._emit("colour", ch["new"]), "value")
        self.name.observe(lambda ch: self._emit("name", ch["new"]), "value")
        self.hide.observe(lambda ch: self._emit("hidden", ch["new"]), "value")
        self.select.observe(lambda ch: self._emit("ticked", ch["new"]), "value")
        # rows never shrink below their height in the scrolling list (with many labels they would overlap)
        super().__init__([self.select, self.colour, self.name, self.counts, self.hide],
                         layout=w.Layout(flex="0 0 auto", min_height="32px", align_items="center"))

    def _emit(self, what: str, value: Any) -> None:
        if not self._quiet:
            self._on_change(self.label_id, what, value)

    def update(self, label: Label, n_segments: int, area_km2: float | None) -> None:
        """Show ``label``'s current state without calling back."""
        self._quiet = True
        try:
            if self.colour.value != label.colour:
                self.colour.value = label.colour
            if self.name.value != label.name:
                self.name.value = label.name
            if self.hide.value != label.hidden:
                self.hide.value = label.hidden
            self.hide.icon = "eye-slash" if label.hidden else "eye"
            area = "" if area_km2 is None else f"<br>{area_km2:.2f} km²"
            self.counts.value = f"<small>{n_segments} seg{area}</small>"
        finally:
            self._quiet = False


class LabelList(w.VBox):
    """Rows of :class:`LabelRow`, in the session's label order.

    ``on_change(label_id, what, value)`` is called when the user edits a row (``what`` is ``"colour"``,
    ``"name"``, ``"hidden"`` or ``"ticked"``); :meth:`sync` shows the session's state.
    """

    def __init__(self, on_change: Callable[[int, str, Any], None]) -> None:
        super().__init__(layout=w.Layout(max_height="340px", overflow="hidden auto", flex="0 1 auto"))
        self.add_class("s2label-label-list")
        self._on_change = on_change
        self.rows: dict[int, LabelRow] = {}

    def sync(self, labels: tuple[Label, ...], counts: dict[int, int], areas_km2: dict[int, float | None]) -> None:
        keep = {lab.id for lab in labels}
        for gone in set(self.rows) - keep:
            self.rows.pop(gone).close()
        for lab in labels:
            row = self.rows.get(lab.id)
            if row is None:
                row = self.rows[lab.id] = LabelRow(lab, self._on_change)
            row.update(lab, counts.get(lab.id, 0), areas_km2.get(lab.id))
        children = tuple(self.rows[lab.id] for lab in labels)
        if children != tuple(self.children):  # type: ignore[has-type]
            self.children = children

    def selected(self) -> list[int]:
        """Ids of the ticked labels, in panel order."""
        return [row.label_id for row in self.children if isinstance(row, LabelRow) and row.select.value]

    def clear_selection(self) -> None:
        for row in self.rows.values():
            row._quiet = True
            try:
                row.select.value = False
            finally:
                row._quiet = False
