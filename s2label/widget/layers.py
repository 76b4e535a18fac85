"""The explorer's map: its zoom limits, image overlays with their zoomed-in twins, a legend and layer switches.

Nothing here knows about a labelling session: the explorer hands these pieces lookup tables, images and
legend entries.

- :class:`ExplorerMap`: an ``ipyleaflet.Map`` whose mouse wheel moves one zoom level a notch (Leaflet's
  ``wheelPxPerZoomLevel``), with zoom limits from the data (:func:`zoom_limits`).
- :class:`DetailOverlay` / :class:`LutOverlay`: an overview ``ImageOverlay`` and the *detail* image of the
  visible part laid over it when zoomed in (:mod:`.detail`), painted alike.
- :class:`Legend`: the labels' colours in a box that scrolls and collapses, never taller than a share of the map.
- :class:`LayerSwitches`: background (true / false colour / none) and which overlays show.

Examples
--------
>>> zoom_limits(10.0, fit_zoom=11)  # 10 m data: at most 4 screen pixels a data pixel
(7, 15)
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

import ipyleaflet as L
import ipywidgets as w
import numpy as np
from scipy import ndimage
from traitlets import Int

from s2label.display._crs import WEB_MERCATOR, WGS84, crs_transformer
from s2label.display.detail import screen_pixel_size
from s2label.display.images import EMPTY_IMAGE, png_data_url
from s2label.display.mercator import DisplayGrid
from s2label.display.overlays import colour_segments, outline_segments

__all__ = ["EXPLORER_CSS", "wrap_row", "ExplorerMap", "zoom_limits", "fit_zoom", "DetailOverlay", "LutOverlay",
           "segment_boxes", "Legend", "LayerSwitches"]

#: Leaflet's widest zoom
_MAX_LEAFLET_ZOOM = 22

#: The explorer's style sheet (in a hidden HTML widget: scoped to ``.s2label-explorer``).
EXPLORER_CSS = """<style>
.s2label-explorer .s2label-side { border-left: 1px solid #ddd; padding-left: 6px; }
.s2label-explorer .s2label-label-row { flex: 0 0 auto; min-height: 32px; }
.s2label-explorer .s2label-label-row .widget-text input { font-size: 13px; }
.s2label-explorer .s2label-legend, .s2label-explorer .s2label-layers {
  background: rgba(255, 255, 255, 0.92); border-radius: 4px; box-shadow: 0 1px 5px rgba(0, 0, 0, 0.35); }
.s2label-explorer .s2label-legend-toggle { background: transparent; font-weight: 600; }
.s2label-explorer .s2label-legend-body { padding: 0 6px 4px 6px; }
.s2label-explorer .s2label-legend-entry { display: flex; align-items: center; gap: 6px; font-size: 12px;
  line-height: 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.s2label-explorer .s2label-legend-entry span { display: inline-block; width: 14px; height: 14px;
  flex: 0 0 14px; border: 1px solid #444; }
.s2label-explorer .s2label-layers .widget-checkbox, .s2label-explorer .s2label-layers .widget-dropdown {
  margin: 1px 0; }
.s2label-explorer .s2label-summary { font-size: 12px; min-height: 18px; }
.s2label-explorer .s2label-help { background: rgba(255, 255, 255, 0.95); padding: 4px 8px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0, 0, 0, 0.35); font-size: 12px; line-height: 16px; }
.s2label-explorer .s2label-help .widget-html-content { line-height: 16px; }
.s2label-explorer .s2label-help td, .s2label-explorer .s2label-help th { padding: 0 8px 0 0; font-size: 12px;
  line-height: 17px; white-space: nowrap; }
.s2label-explorer .s2label-retired { padding: 8px; border: 1px dashed #999; }
</style>"""


def wrap_row(*children: w.Widget) -> w.HBox:
    """A row of the panel that wraps onto the next line rather than squeezing its widgets.

    Parameters
    ----------
    *children : ipywidgets.Widget
        The row's widgets, left to right.

    Returns
    -------
    ipywidgets.HBox
    """
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", align_items="center"))




class ExplorerMap(L.Map):
    """An ``ipyleaflet.Map`` that passes Leaflet's wheel options too: one zoom level per mouse-wheel notch.

    A notch scrolls about 100 px; Leaflet zooms ``4 log2(2 / (1 + exp(-px / (4 w))))`` levels for it, rounded
    up to ``zoom_snap``: with its default ``w = 60`` px that is 2 levels a notch, with 120 px one.
    """

    wheel_px_per_zoom_level = Int(120).tag(sync=True, o=True)
    wheel_debounce_time = Int(60).tag(sync=True, o=True)


def fit_zoom(width_m: float, height_m: float, *, width_px: int = 800, height_px: int = 600) -> int:
    """The largest zoom at which a ``width_m`` x ``height_m`` Web-Mercator extent fits a map of that many pixels.

    Parameters
    ----------
    width_m, height_m : float
        The extent in Web-Mercator metres.
    width_px, height_px : int
        The map's size in screen pixels.

    Returns
    -------
    int
        Between 1 and 18.

    Examples
    --------
    >>> fit_zoom(3840.0, 3840.0), fit_zoom(3840.0, 3840.0, width_px=300)   # a 384 px scene at 10 m
    (14, 13)
    """
    z = min(math.log2(screen_pixel_size(0) * width_px / max(width_m, 1.0)),
            math.log2(screen_pixel_size(0) * height_px / max(height_m, 1.0)))
    return int(min(max(math.floor(z), 1), 18))


def zoom_limits(pixel_size: float, *, fit_zoom: int, magnification: float = 4.0, zoom_out: int = 4) -> tuple[int, int]:
    """(min, max) zoom of the map: out to ``zoom_out`` levels beyond the whole scene, in to ``magnification``
    screen pixels per data pixel.

    Parameters
    ----------
    pixel_size : float
        The data's pixel in Web-Mercator metres (:attr:`GridSpec.pixel_size` of the native frame).
    fit_zoom : int
        The zoom showing the whole scene (:func:`fit_zoom`).
    magnification : float
        Screen pixels per data pixel at the closest zoom.
    zoom_out : int
        Zoom levels out beyond ``fit_zoom``.

    Returns
    -------
    (min_zoom, max_zoom) : (int, int)
        ``max_zoom`` at least ``fit_zoom`` and at most 22 (Leaflet's limit); ``min_zoom`` at least 0.
    """
    most = math.floor(math.log2(screen_pixel_size(0) * magnification / pixel_size) + 1e-9)
    most = int(min(max(most, fit_zoom), _MAX_LEAFLET_ZOOM))
    return max(min(fit_zoom - zoom_out, most), 0), most


class DetailOverlay:
    """The zoomed-in twin of an overview ``ImageOverlay``: the same picture, drawn on the current detail grid.

    ``draw(grid)`` makes the RGBA image (``None``: nothing to show) and ``encode`` its data URL. The twin is
    hidden (showing :data:`~.overlays.EMPTY_IMAGE`, never a broken image) while there is no detail grid or the
    overview is hidden.
    """

    def __init__(self, overview: L.ImageOverlay, draw: Callable[[DisplayGrid], np.ndarray | None],
                 encode: Callable[[np.ndarray], str]) -> None:
        self.overview = overview
        self.layer = L.ImageOverlay(url=EMPTY_IMAGE, bounds=overview.bounds, opacity=overview.opacity,
                                    name=f"{overview.name} detail", visible=False)
        self.draw, self.encode = draw, encode
        self.grid: DisplayGrid | None = None
        self.image: np.ndarray | None = None
        overview.observe(lambda _: self.redraw(), "visible")

    def set_grid(self, grid: DisplayGrid | None) -> None:
        self.grid = grid
        self.redraw()

    def redraw(self) -> None:
        grid = self.grid
        self.image = self.draw(grid) if grid is not None and self.overview.visible else None
        with self.layer.hold_sync():  # one message: the front end never shows the new image at the old place
            if grid is None or self.image is None:
                self.layer.visible, self.layer.url = False, EMPTY_IMAGE
            else:
                self.layer.url, self.layer.bounds, self.layer.visible = self.encode(self.image), grid.bounds, True


def segment_boxes(grid: DisplayGrid) -> np.ndarray:
    """(N + 1, 4) int64: first row, last row + 1, first col, last col + 1 of each segment on a display grid
    (``-1`` for a segment too small to show at its resolution; row 0 for no data).

    Parameters
    ----------
    grid : DisplayGrid
        Its ``segment_ids`` (h, w) and ``n_segments`` N.

    Returns
    -------
    ndarray (N + 1, 4) int64
        Row ``i`` for segment id ``i``; in display pixels.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> grid = SimpleNamespace(segment_ids=np.array([[1, 1, 0], [0, 2, 2]]), n_segments=3)
    >>> segment_boxes(grid)[1:].tolist()
    [[0, 1, 0, 2], [1, 2, 1, 3], [-1, -1, -1, -1]]
    """
    boxes = np.full((grid.n_segments + 1, 4), -1, np.int64)
    for sid, box in enumerate(ndimage.find_objects(grid.segment_ids), start=1):
        if box is not None:
            boxes[sid] = box[0].start, box[0].stop, box[1].start, box[1].stop
    return boxes


class LutOverlay(DetailOverlay):
    """A segment overlay and its detail twin, both painted through one lookup table (:meth:`paint`).

    With ``outline`` > 0 only the segments' borders are painted, that many pixels wide (selections and
    examples: the colours under them stay visible); the overview is then an image of the box around the
    painted segments only, laid at that box's bounds, so a click's outline costs a small PNG, not one of the
    whole display grid.
    """

    def __init__(self, overview: L.ImageOverlay, grid: DisplayGrid, *, outline: int = 0,
                 boxes: np.ndarray | None = None) -> None:
        super().__init__(overview, self._colour, png_data_url)
        self.overview_grid = grid
        self.outline = outline
        self.lut: np.ndarray | None = None
        self._image: np.ndarray | None = None
        self._origin = (0, 0)  # (row, col) of the overview image in the overview grid
        self._boxes = boxes  # segment_boxes(grid), made on the first outline when not given

    def _colour(self, grid: DisplayGrid) -> np.ndarray | None:
        if self.lut is None:
            return None
        return outline_segments(grid, self.lut, width=self.outline) if self.outline else colour_segments(grid, self.lut)

    @property
    def overview_image(self) -> np.ndarray | None:
        """(h, w, 4) RGBA of the overview on the whole overview grid (``None`` while empty)."""
        if self._image is None or self._image.shape[:2] == self.overview_grid.shape:
            return self._image
        full = np.zeros((*self.overview_grid.shape, 4), np.uint8)
        (r, c), (h, w) = self._origin, self._image.shape[:2]
        full[r:r + h, c:c + w] = self._image
        return full

    def _segment_boxes(self) -> np.ndarray:
        if self._boxes is None:
            self._boxes = segment_boxes(self.overview_grid)
        return self._boxes

    def _outline_crop(self, lut: np.ndarray) -> tuple[np.ndarray, tuple[int, int], tuple] | None:
        """The outlines in the box around the painted segments: image, its origin and its map bounds."""
        shown = np.flatnonzero(lut[1:, 3] > 0) + 1
        boxes = self._segment_boxes()[shown[shown < self._segment_boxes().shape[0]]]
        boxes = boxes[boxes[:, 0] >= 0]
        if boxes.size == 0:
            return None
        grid, margin = self.overview_grid, self.outline + 1
        h, w = grid.shape
        r0, c0 = max(int(boxes[:, 0].min()) - margin, 0), max(int(boxes[:, 2].min()) - margin, 0)
        r1, c1 = min(int(boxes[:, 1].max()) + margin, h), min(int(boxes[:, 3].max()) + margin, w)
        image = outline_segments(grid.segment_ids[r0:r1, c0:c1], lut, width=self.outline)
        t = grid.transform
        lons, lats = crs_transformer(WEB_MERCATOR, WGS84).transform([t.c + c0 * t.a, t.c + c1 * t.a],
                                                                     [t.f + r1 * t.e, t.f + r0 * t.e])
        return image, (r0, c0), ((float(lats[0]), float(lons[0])), (float(lats[1]), float(lons[1])))

    def paint(self, lut: np.ndarray | None) -> None:
        """Recolour the overview and the detail (``None``: empty both)."""
        self.lut = lut
        bounds = self.overview_grid.bounds
        self._origin = (0, 0)
        if lut is not None and self.outline:
            crop = self._outline_crop(lut)
            self._image, self._origin, bounds = (None, (0, 0), bounds) if crop is None else crop
        else:
            self._image = self._colour(self.overview_grid)
        with self.overview.hold_sync():  # the new image never shows at the old place
            self.overview.url = EMPTY_IMAGE if self._image is None else png_data_url(self._image)
            self.overview.bounds = bounds
        self.redraw()


class Legend(w.VBox):
    """The labels' colours and names: a header that collapses it, a list that scrolls past ``max_height``.

    Examples
    --------
    >>> legend = Legend(max_height="200px")
    >>> legend.set_entries([("water", "#1f77b4"), ("unlabelled", "#ff00ff")])
    >>> legend.toggle.description, "water" in legend.body.value
    ('labels (2)', True)
    """

    def __init__(self, *, title: str = "labels", max_height: str = "40%") -> None:
        self.title = title
        self.toggle = w.ToggleButton(value=True, description=title, icon="chevron-down",
                                     tooltip="hide / show the legend",
                                     layout=w.Layout(width="auto", height="26px"))
        self.toggle.add_class("s2label-legend-toggle")
        self.body = w.HTML(layout=w.Layout(max_height=max_height, overflow="hidden auto", width="auto"))
        self.body.add_class("s2label-legend-body")
        self.toggle.observe(self._on_toggle, "value")
        super().__init__([self.toggle, self.body], layout=w.Layout(max_width="240px"))
        self.add_class("s2label-legend")
        self.entries: list[tuple[str, str]] = []

    def _on_toggle(self, _: object = None) -> None:
        self.body.layout.display = None if self.toggle.value else "none"
        self.toggle.icon = "chevron-down" if self.toggle.value else "chevron-up"

    def set_entries(self, entries: Sequence[tuple[str, str]]) -> None:
        """Show ``(name, "#rrggbb")`` entries, in order."""
        self.entries = [(str(n), str(c)) for n, c in entries]
        self.toggle.description = f"{self.title} ({len(self.entries)})"
        rows = "".join(
            f'<div class="s2label-legend-entry"><span style="background:{html.escape(c)}"></span>{html.escape(n)}</div>'
            for n, c in self.entries)
        self.body.value = rows


class LayerSwitches(w.VBox):
    """The map's layers: one background (true colour, false colour or none) and which overlays show.

    Parameters
    ----------
    backgrounds : dict of str to ipyleaflet.Layer
        The first is shown at the start.
    overlays : dict of str to ipyleaflet.Layer
        Each gets a checkbox bound to its ``visible``.
    """

    def __init__(self, backgrounds: dict[str, L.Layer], overlays: dict[str, L.Layer]) -> None:
        self.backgrounds = dict(backgrounds)
        options = [*self.backgrounds, "none"]
        self.background = w.Dropdown(options=options, value=options[0], layout=w.Layout(width="150px"))
        self.background.observe(lambda _: self._show_background(), "value")
        self.checks = {}
        for name, layer in overlays.items():
            box = w.Checkbox(value=bool(layer.visible), description=name, indent=False,
                             layout=w.Layout(width="150px"))
            w.link((box, "value"), (layer, "visible"))
            self.checks[name] = box
        super().__init__([self.background, *self.checks.values()], layout=w.Layout(padding="2px 6px"))
        self.add_class("s2label-layers")
        self._show_background()

    def _show_background(self) -> None:
        for name, layer in self.backgrounds.items():
            layer.visible = name == self.background.value
