"""Labels drawn pixel by pixel on the explorer's map: the pixel-exact polygons, and the pixel-precise preview.

The label overlay colours *segments* (one lookup per segment id). Pixel-exact polygons
(:meth:`LabelSession.assign_pixels`) and the pixel-precise map (``precision="pixel"``) are finer than any
segment, so they get their own overlay, laid over the labels: a raster of label ids on the scene's grid,
reprojected to the display grid by nearest neighbour (as the segments are, :func:`.reproject_segments`) and
coloured through the labels' colours. With the preview off only the pixels of pixel-exact polygons are drawn;
with it on, every pixel as the pixel-precise export would write it.

Examples
--------
>>> import numpy as np
>>> from affine import Affine
>>> from rasterio.crs import CRS
>>> from s2label.segmentation.superpixels import Segmentation
>>> raster = np.array([[-2, -1], [0, 5]], np.int32).repeat(20, 0).repeat(20, 1)
>>> ids = raster_as_ids(raster, Affine(10, 0, 500000, 0, -10, 4000000), CRS.from_epsg(32633))
>>> np.unique(ids.ids).tolist(), int(ids.ids[30, 30]) - ID_OFFSET
([0, 2, 3, 8], 5)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipyleaflet as L
import numpy as np
from rasterio.crs import CRS

from s2label.display.colours import to_rgb
from s2label.display.images import EMPTY_IMAGE, png_data_url
from s2label.display.mercator import DisplayGrid, reproject_segments
from s2label.display.overlays import colour_segments, outline_segments
from s2label.segmentation.export import NODATA
from s2label.segmentation.superpixels import Segmentation
from s2label.session.export import paint_pixel_overrides
from s2label.session.label_session import LabelSession
from s2label.session.rules import Label
from s2label.widget.layers import DetailOverlay

__all__ = ["ID_OFFSET", "PixelActions", "PixelLabelsLayer", "raster_as_ids", "label_colour_lut"]

#: Added to a label id to make it a positive "segment id" of the reprojection (0 stays: nothing drawn).
ID_OFFSET = 3


def raster_as_ids(raster: np.ndarray, transform: Any, crs: CRS) -> Segmentation:
    """A label raster (``-2`` outside, ``-1`` unlabelled, ids ≥ 0) as a segmentation of ids ``label + 3``,
    with 0 where ``raster`` is :data:`~s2label.segmentation.export.NODATA` (what the reprojection treats as nothing).

    Parameters
    ----------
    raster : ndarray (H, W) int
        Label id of every pixel (:func:`~s2label.session.export.label_raster`).
    transform : affine.Affine
        The raster's pixel-to-CRS transform.
    crs : rasterio.crs.CRS
        The raster's CRS.

    Returns
    -------
    Segmentation
        Ids ``raster + 3`` (:data:`ID_OFFSET`) as int32: 2 unlabelled, 3 and up the labels, 0 outside.
    """
    values = np.asarray(raster, np.int64) + ID_OFFSET
    values[values == ID_OFFSET - 2] = 0  # NODATA -> nothing
    return Segmentation(values.astype(np.int32), transform, crs)


def label_colour_lut(labels: Sequence[Label], size: int, *, unlabelled: str | None, alpha: int = 255) -> np.ndarray:
    """(size, 4) uint8 RGBA of each id ``label + 3``: the label's colour (hidden: transparent), unlabelled in
    ``unlabelled`` (``None``: transparent).

    Parameters
    ----------
    labels : sequence of Label
        The session's labels (``id``, ``colour``, ``hidden``).
    size : int
        Rows of the table (ids at or beyond it get no colour).
    unlabelled : str or None
        ``"#rrggbb"`` of unlabelled pixels (id 2), or ``None`` to leave them transparent.
    alpha : int
        Opacity 0..255 of the coloured ids.

    Returns
    -------
    ndarray (size, 4) uint8
        Transparent (all 0) where no colour is given.
    """
    lut = np.zeros((size, 4), np.uint8)
    if unlabelled is not None and size > ID_OFFSET - 1:
        lut[ID_OFFSET - 1] = (*to_rgb(unlabelled), alpha)
    for lab in labels:
        if not lab.hidden and lab.id + ID_OFFSET < size:
            lut[lab.id + ID_OFFSET] = (*to_rgb(lab.colour), alpha)
    return lut


def _same(a: object, b: object) -> bool:
    """The same state object, or the same pixel-exact polygons (the same arrays, in order, same labels)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(x[0] is y[0] and x[1] == y[1] for x, y in zip(a, b, strict=True))
    return a is b


class PixelLabelsLayer:
    """The overlay of pixel-level labels and its zoomed-in twin.

    Parameters
    ----------
    session : LabelSession
    grid : DisplayGrid
        The explorer's overview grid.
    unlabelled : str
        Colour of unlabelled pixels (of a polygon that unlabels, or of the preview).
    opacity : float
    """

    def __init__(self, session: LabelSession, grid: DisplayGrid, *, unlabelled: str, opacity: float = 0.6) -> None:
        self.session = session
        self.grid = grid
        self.unlabelled = unlabelled
        self.layer = L.ImageOverlay(url=EMPTY_IMAGE, bounds=grid.bounds, opacity=opacity, name="pixel labels")
        self.detail = DetailOverlay(self.layer, self._draw, png_data_url)
        self.preview = False
        self.ids: Segmentation | None = None
        self._key: tuple[Any, Any] | None = None

    @property
    def n_pixels_exact(self) -> int:
        """Pixels set by pixel-exact polygons now in force."""
        return int(sum(px.size for px, _ in self.session.pixel_overrides()))

    def attach(self, session: LabelSession) -> None:
        """Draw another session's pixel-level labels from now on (redrawn on the next :meth:`update`)."""
        self.session, self._key = session, None

    def update(self, *, preview: bool | None = None, **options: Any) -> None:
        """Redraw from the session (``preview``: switch the pixel-precise preview on or off; ``options`` of
        :func:`s2label.session.pixel_labels.refine_pixels`)."""
        if preview is not None:
            self.preview = bool(preview)
        s = self.session
        overrides = s.pixel_overrides()
        key = (self.preview, tuple((lab.id, lab.colour, lab.hidden) for lab in s.labels))
        state = s.state if self.preview else tuple((px, lid) for px, lid in overrides)  # arrays kept: ids not reused
        if self._key is not None and key == self._key[0] and _same(state, self._key[1]):
            return
        if self.preview:
            raster = s.label_raster(precision="pixel", progress=False, **options)
        elif overrides:
            raster = paint_pixel_overrides(np.full(s.segmentation.shape, NODATA, np.int32), overrides)
        else:
            raster = None
        self.ids = None if raster is None else raster_as_ids(raster, s.segmentation.transform, s.segmentation.crs)
        self._key = (key, state)
        image = self._draw(self.grid)
        self.layer.url = EMPTY_IMAGE if image is None else png_data_url(image)
        self.detail.redraw()

    def _draw(self, grid: DisplayGrid) -> np.ndarray | None:
        if self.ids is None:
            return None
        size = max([lab.id for lab in self.session.labels] + [0]) + ID_OFFSET + 1
        shown = reproject_segments(self.ids, grid.spec, n_segments=size - 1)
        image = colour_segments(shown, label_colour_lut(self.session.labels, size, unlabelled=self.unlabelled))
        if not self.preview:  # the pixel-exact areas get a white edge: they stand out from the segment labels
            edge = np.zeros((size, 4), np.uint8)
            edge[1:] = 255
            border = outline_segments(shown.segment_ids, edge, width=1)[..., 3] > 0
            image[border] = 255
        return image


class PixelActions:
    """The explorer's pixel-level tools (a mixin of :class:`~s2label.widget.ClusterExplorer`): the
    *pixel-exact* switch of polygon mode, the *precision* of the exports and the pixel-precise preview.

    Uses the explorer's ``session``, ``map``, ``grid``, ``details``, ``opacity``, ``target_label``, ``say`` and
    ``_run``.
    """

    session: LabelSession
    map: L.Map
    grid: DisplayGrid
    details: dict[str, DetailOverlay]
    target_label: int | None
    say: Callable[..., None]
    _run: Callable[..., Any]

    def _build_pixel_tools(self, unlabelled: str) -> None:
        import ipywidgets as w

        self.pixel_labels = PixelLabelsLayer(self.session, self.grid, unlabelled=unlabelled)
        self.map.add(self.pixel_labels.layer)
        self.map.add(self.pixel_labels.detail.layer)
        self.details["pixel labels"] = self.pixel_labels.detail
        self.pixel_exact = w.Checkbox(value=False, description="pixel-exact", indent=False,
                                      tooltip="a drawn polygon sets exactly the pixels inside it, not whole segments",
                                      layout=w.Layout(width="auto", display="none"))
        self.pixel_exact.add_class("s2label-pixel-exact")
        self.export_precision = w.ToggleButtons(options=[("segments", "segment"), ("pixels", "pixel")],
                                                value="segment", description="precision",
                                                style={"button_width": "90px", "description_width": "60px"},
                                                tooltips=["each pixel takes its segment's label",
                                                          "a pixel classifier trained on the confident segments "
                                                          "re-decides every pixel"])
        self.pixel_preview = w.ToggleButton(value=False, description="Preview on the map", icon="eye",
                                            tooltip="show the pixel-precise labels over the segment labels",
                                            layout=w.Layout(width="auto"))
        self.pixel_preview.add_class("s2label-pixel-preview")
        self.pixel_preview.observe(lambda change: self.show_pixel_preview(change["new"]), "value")

    def _link_pixel_opacity(self, opacity: Any) -> None:
        import ipywidgets as w

        w.jslink((opacity, "value"), (self.pixel_labels.layer, "opacity"))
        w.jslink((opacity, "value"), (self.pixel_labels.detail.layer, "opacity"))

    def show_pixel_preview(self, on: bool = True) -> None:
        """Show (or hide) the pixel-precise labels on the map, as ``precision="pixel"`` exports them."""
        if on:
            self.say("computing the pixel-precise labels…")
        if self._run(self.pixel_labels.update, preview=on) and on:
            self.say("pixel-precise preview: every pixel as the pixel-precise export writes it")
        elif on:
            self.pixel_preview.value = False

    def assign_pixel_polygon(self, geometry: Any) -> bool:
        """A drawn polygon (lon/lat, as the draw tool reports it) set pixel-exactly in the target label."""
        from shapely.geometry import mapping

        from s2label.display.locate import polygon_to_scene_crs

        target = self.target_label
        if target is None:
            self.say("choose a target label for the pixel-exact polygon", error=True)
            return False
        try:
            scene_polygon = polygon_to_scene_crs(geometry, self.session.segmentation.crs)
        except ValueError as exc:
            self.say(f"cannot use that polygon: {exc}", error=True)
            return False
        return bool(self._run(self.session.assign_pixels, mapping(scene_polygon), target))
