"""The cluster explorer: an ipyleaflet map and a side panel, a thin view over a :class:`LabelSession`.

Every user action becomes a session edit (or a query); the session tells the view when anything changed and
the view redraws from the session's state: the label overlay is the display raster of segment ids recoloured
through a lookup table (one PNG, never any geometry), the panel rows are updated in place. The view computes
no clusters and no geometry itself.

Each overlay is an overview of the whole scene plus, while the map is zoomed in beyond the overview's
resolution, a *detail* image of the visible part at the screen's resolution (:mod:`.detail`), painted
through the same lookup table; both follow every edit.

Examples
--------
>>> import s2label
>>> from s2label.session import LabelSession
>>> from s2label.widget import ClusterExplorer
>>> scene = s2label.sample_scene(window=((600, 728), (600, 728)))
>>> seg = s2label.segment(scene, segment_size=100)
>>> emb = s2label.embed(scene, seg, s2label.build_graph(seg), encoder="spectral")
>>> session = LabelSession(seg, emb, s2label.cluster(emb, reduce="pca", min_cluster_size=5))
>>> explorer = ClusterExplorer(session, scene)
>>> lat, lon = explorer.locator.latlon(64, 64)
>>> print(explorer.handle_click(lat, lon)["segment"] == seg.labels[64, 64])
True
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import bqplot as bq
import ipyleaflet as L
import ipywidgets as w
import numpy as np
from rasterio.errors import RasterioError

from ..bands import false_colour_bands
from ..colours import to_rgb
from ..errors import S2LabelError
from ..export import pixel_area_m2
from ..scene import Scene
from ..session import UNLABELLED, LabelSession
from .detail import Debouncer, DetailTracker, MapView
from .embedding_view import EmbeddingView, project
from .overlays import (
    DisplayGrid,
    SegmentLocator,
    band_limits,
    colour_segments,
    display_grid,
    png_data_url,
    render_bands,
    segments_in_polygon,
    webp_data_url,
)
from .panel import LabelList

__all__ = ["ClusterExplorer"]

MODES = ("inspect", "assign", "similar")
_UNLABELLED_RGBA = (255, 0, 255, 200)
_HIGHLIGHT_RGBA = (255, 255, 0, 230)


def _zoom_for(width_m: float, height_m: float, *, width_px: int = 900, height_px: int = 600) -> int:
    """The largest Web-Mercator zoom at which a ``width_m`` x ``height_m`` (3857 metres) extent fits the map."""
    world = 40075016.686
    z = min(math.log2(world * width_px / (256 * max(width_m, 1.0))),
            math.log2(world * height_px / (256 * max(height_m, 1.0))))
    return int(min(max(math.floor(z), 1), 18))


class _Detail:
    """The zoomed-in twin of an overview ``ImageOverlay``: the same picture, drawn on the current detail grid.

    ``draw(grid)`` makes the RGBA image (``None``: nothing to show) and ``encode`` its data URL. The twin is
    hidden (and its URL emptied) while there is no detail grid or the overview is hidden.
    """

    def __init__(self, overview: L.ImageOverlay, draw: Callable[[DisplayGrid], np.ndarray | None],
                 encode: Callable[[np.ndarray], str]) -> None:
        self.overview = overview
        self.layer = L.ImageOverlay(url="", bounds=overview.bounds, opacity=overview.opacity,
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
                self.layer.visible, self.layer.url = False, ""
            else:
                self.layer.url, self.layer.bounds, self.layer.visible = self.encode(self.image), grid.bounds, True


class _LutDetail(_Detail):
    """A segment overlay and its detail twin, both painted through one lookup table (:meth:`paint`)."""

    def __init__(self, overview: L.ImageOverlay, grid: DisplayGrid) -> None:
        super().__init__(overview, self._colour, png_data_url)
        self.overview_grid = grid
        self.lut: np.ndarray | None = None
        self.overview_image: np.ndarray | None = None

    def _colour(self, grid: DisplayGrid) -> np.ndarray | None:
        return None if self.lut is None else colour_segments(grid, self.lut)

    def paint(self, lut: np.ndarray | None) -> None:
        """Recolour the overview and the detail (``None``: empty both)."""
        self.lut = lut
        self.overview_image = self._colour(self.overview_grid)
        self.overview.url = "" if self.overview_image is None else png_data_url(self.overview_image)
        self.redraw()


class ClusterExplorer(w.VBox):
    """Explore, merge, name, correct and export the labels of a :class:`LabelSession` on a map.

    Parameters
    ----------
    session : LabelSession
    scene : Scene, optional
        For the true- and false-colour overlays (and nothing else).
    max_size : int
        Longest side of the label overlay in display pixels (larger scenes are downsampled for display;
        clicks and polygons always use the full-resolution segments).
    photo_max_size : int
        Longest side of the true/false colour overlays.
    detail_max_size : int
        Longest side of the zoomed-in detail overlays (about the map's size in screen pixels is enough).
    detail_delay : float
        Seconds without map moves before the detail overlays follow the view (0: at once).
    basemap : ipyleaflet basemap (TileProvider), optional
        Tiles under the scene; none by default, so the explorer works without network.
    projection : {"pca", "umap"}
        2-D projection of the clustering space for the embedding view.
    export_dir : path, optional
        Where the export buttons write (default: beside the autosave file, else the working folder).

    Attributes
    ----------
    map : ipyleaflet.Map
    label_layer, similarity_layer, selection_layer : ipyleaflet.ImageOverlay
        The overviews: the whole scene, at most ``max_size`` pixels on a side.
    details : dict of str to _Detail
        Their zoomed-in twins, by overview name (``"labels"``, ``"similarity"``, ``"selection"``, ``"true colour"``,
        ``"false colour (NIR-R-G)"``): ``.layer`` is the ``ImageOverlay`` above the overview, ``.image`` its RGBA
        image (``None`` while hidden).
    detail : DetailTracker
        The detail grid of the current view (``detail.grid``; ``None`` while the overview is enough).
    panel : LabelList
    embedding_view : EmbeddingView
    status : ipywidgets.HTML
        The last message (errors from the session are shown here, never raised into the front end).
    """

    def __init__(self, session: LabelSession, scene: Scene | None = None, *, max_size: int = 1600,
                 photo_max_size: int = 1200, basemap: Any = None, projection: str = "pca",
                 export_dir: str | os.PathLike[str] | None = None, detail_max_size: int = 1600,
                 detail_delay: float = 0.2) -> None:
        self.session = session
        self.scene = scene
        self.grid = display_grid(session.segmentation, max_size=max_size)
        self.locator = SegmentLocator(session.segmentation)
        self._areas = session.segmentation.areas()
        self.export_dir = Path(export_dir) if export_dir is not None else (
            session.autosave_path.parent if session.autosave_path else Path.cwd())
        self.selected_segments = np.zeros(0, np.int64)
        self.positives: list[int] = []
        self.negatives: list[int] = []
        self.similarity = None
        self.label_image = np.zeros((*self.grid.shape, 4), np.uint8)
        self.details: dict[str, _Detail] = {}
        self._painted: dict[str, _LutDetail] = {}
        self._build_map(scene, photo_max_size, basemap)
        self._build_panel()
        self.embedding_view = EmbeddingView(project(session.clustering.embedding, method=projection),  # type: ignore[arg-type]
                                            on_select=self.select_segments)
        tabs = w.Tab(children=[self.labels_tab, self.inspect_tab, self.similar_tab, self.embedding_view,
                               self.export_tab])
        for i, title in enumerate(("Labels", "Inspect", "Similar", "Embedding", "Export")):
            tabs.set_title(i, title)
        self.tabs = tabs
        side = w.VBox([self.mode, self.status, tabs], layout=w.Layout(width="600px", min_width="600px"))
        side.add_class("s2label-panel")
        super().__init__([w.HBox([self.map, side])])
        self.add_class("s2label-explorer")
        session.observe(self._on_session_change)
        self.refresh()
        overviews = [g for g in (self.grid, self._photo_grid) if g is not None]
        self.detail = DetailTracker(session.segmentation, overview_pixel_size=max(g.pixel_size for g in overviews),
                                    max_size=detail_max_size, n_segments=session.n_segments)
        self._view_changed = Debouncer(self.update_detail, detail_delay)
        # the edges, not Map.bounds: bounds is derived from them by an observer that may run after this one
        self.map.observe(lambda _: self._view_changed(), names=["south", "west", "north", "east", "zoom"])

    # --- building ---------------------------------------------------------------------------------------

    def _build_map(self, scene: Scene | None, photo_max_size: int, basemap: Any) -> None:
        g = self.grid
        zoom = _zoom_for(g.shape[1] * g.pixel_size, g.shape[0] * g.pixel_size)
        self.map = L.Map(center=g.center, zoom=zoom, scroll_wheel_zoom=True,
                         attribution_control=False, layout=w.Layout(height="640px", width="100%"))
        for layer in list(self.map.layers):  # Map(basemap=None) raises: drop the default tiles instead
            self.map.remove(layer)
        if basemap is not None:
            self.map.add(L.basemap_to_tiles(basemap))
        self._photo_grid: DisplayGrid | None = None
        if scene is not None:
            photo = self._photo_grid = display_grid(self.session.segmentation, max_size=photo_max_size)
            self.true_layer = self._photo_layer(scene, photo, ("B04", "B03", "B02"), "true colour", True)
            try:
                nir = false_colour_bands(scene.bands)
            except S2LabelError:  # no NIR band
                self.false_layer: L.ImageOverlay | None = None
            else:
                self.false_layer = self._photo_layer(scene, photo, nir, "false colour (NIR-R-G)", False)
        self.label_layer = L.ImageOverlay(url="", bounds=g.bounds, opacity=0.6, name="labels")
        self.similarity_layer = L.ImageOverlay(url="", bounds=g.bounds, opacity=0.8, name="similarity",
                                               visible=False)
        self.selection_layer = L.ImageOverlay(url="", bounds=g.bounds, opacity=0.9, name="selection")
        for layer in (self.label_layer, self.similarity_layer, self.selection_layer):
            self.details[layer.name] = self._painted[layer.name] = detail = _LutDetail(layer, g)
            self.map.add(layer)
            self.map.add(detail.layer)
        self.legend = L.LegendControl({}, title="labels", position="bottomright")
        self.map.add(self.legend)
        self.map.add(L.LayersControl(position="topright"))
        self.draw = L.DrawControl(polyline={}, circlemarker={}, marker={}, circle={},
                                  polygon={"shapeOptions": {"color": "#ffcc00", "fillOpacity": 0.1}},
                                  rectangle={"shapeOptions": {"color": "#ffcc00", "fillOpacity": 0.1}})
        self.draw.on_draw(self._on_draw)
        self.map.add(self.draw)
        self.map.on_interaction(self._on_interaction)

    def _photo_layer(self, scene: Scene, grid: DisplayGrid, bands: tuple[str, str, str], name: str,
                     visible: bool) -> L.ImageOverlay:
        """A true/false colour overview and its detail twin, stretched alike (:func:`band_limits`)."""
        limits = band_limits(scene, bands)
        layer = L.ImageOverlay(url=webp_data_url(render_bands(scene, grid, bands, limits=limits)),
                               bounds=grid.bounds, name=name, visible=visible)
        self.details[name] = detail = _Detail(layer, lambda g: render_bands(scene, g, bands, limits=limits),
                                              lambda rgba: webp_data_url(rgba, method=2))  # redrawn often: fast
        self.map.add(layer)
        self.map.add(detail.layer)
        return layer

    def _build_panel(self) -> None:
        s = self.session
        self.mode = w.ToggleButtons(options=MODES, value="inspect", style={"button_width": "90px"}, tooltips=[
            "click a segment to see its label, probability and spectrum",
            "click a segment (or draw a polygon) to put it in the target label",
            "click examples; see similar segments; make them a label"])
        self.status = w.HTML("")
        self.status.add_class("s2label-status")
        # labels tab
        self.panel = LabelList(self._on_row_change)
        self.merge_button = w.Button(description="Merge", icon="compress", tooltip="merge the ticked labels")
        self.split_button = w.Button(description="Split", icon="expand",
                                     tooltip="split the ticked label one level finer along the HDBSCAN hierarchy")
        self.delete_button = w.Button(description="Delete", icon="trash",
                                      tooltip="delete the ticked labels (their segments become unlabelled)")
        self.undo_button = w.Button(description="Undo", icon="undo")
        self.redo_button = w.Button(description="Redo", icon="repeat")
        for button, handler in ((self.merge_button, self._merge), (self.split_button, self._split),
                                (self.delete_button, self._delete), (self.undo_button, self._undo),
                                (self.redo_button, self._redo)):
            button.on_click(handler)
            button.layout = w.Layout(width="auto")
        levels = s.granularity_levels()
        self.granularity = w.IntSlider(value=self._level_of_selection(levels), min=0, max=len(levels) - 1,
                                       description="granularity", continuous_update=False,
                                       disabled=s.hierarchy.flat)
        self.granularity.observe(self._recut, "value")
        self.reset_cut = w.Button(description="HDBSCAN's cut", disabled=s.hierarchy.flat)
        self.reset_cut.on_click(lambda _: self._run(s.recut, None))
        self.opacity = w.FloatSlider(value=0.6, min=0.0, max=1.0, step=0.05, description="opacity")
        w.jslink((self.opacity, "value"), (self.label_layer, "opacity"))
        w.jslink((self.opacity, "value"), (self.details["labels"].layer, "opacity"))
        self.probability_alpha = w.Checkbox(value=False, description="probability as transparency", indent=False)
        self.show_unlabelled = w.Checkbox(value=True, description="show unlabelled",
                                            indent=False, tooltip="unlabelled segments in magenta")
        for box in (self.probability_alpha, self.show_unlabelled):
            box.observe(lambda _: self.refresh_overlay(), "value")
        self.review_button = w.Button(description="Next unlabelled", icon="search",
                                      tooltip="the most unusual unlabelled segment (HDBSCAN outlier score)")
        self.review_button.on_click(self._review_next)
        self.review_info = w.HTML("")
        self._review_index = 0
        self.labels_tab = w.VBox([
            self.panel, w.HBox([self.merge_button, self.split_button, self.delete_button]),
            w.HBox([self.undo_button, self.redo_button]), w.HBox([self.granularity, self.reset_cut]),
            self.opacity, w.HBox([self.probability_alpha, self.show_unlabelled]),
            w.HBox([self.review_button, self.review_info])])
        # inspect / assign tab
        self.target = w.Dropdown(description="target label", options=[])
        self.info = w.HTML("<i>click a segment on the map</i>")
        self.info.add_class("s2label-info")
        self.spectrum_x, self.spectrum_y = bq.OrdinalScale(), bq.LinearScale(min=0.0)
        self.spectrum = bq.Lines(x=[], y=[], scales={"x": self.spectrum_x, "y": self.spectrum_y}, marker="circle")
        self.spectrum_figure = bq.Figure(marks=[self.spectrum], title="mean reflectance of the segment",
                                         axes=[bq.Axis(scale=self.spectrum_x, label="band"),
                                               bq.Axis(scale=self.spectrum_y, side="left",
                                                       label="reflectance")],
                                         layout=w.Layout(width="100%", height="260px"))
        self.new_label_name = w.Text(placeholder="new label name", continuous_update=False)
        self.new_label_button = w.Button(description="New label from selection", icon="plus")
        self.new_label_button.on_click(self._new_label_from_selection)
        self.inspect_tab = w.VBox([self.target, self.info, self.spectrum_figure,
                                   w.HBox([self.new_label_name, self.new_label_button])])
        # find-similar tab
        self.example_kind = w.ToggleButtons(options=["positive", "negative"], value="positive",
                                            description="click adds")
        self.examples = w.HTML("<i>switch to 'similar' mode and click example segments</i>")
        self.threshold = w.FloatSlider(value=0.9, min=-1.0, max=1.0, step=0.005, description="threshold",
                                       continuous_update=True, readout_format=".3f")
        self.threshold.observe(lambda _: self.refresh_similarity(), "value")
        self.similar_name = w.Text(placeholder="name of the new label", continuous_update=False)
        self.similar_button = w.Button(description="Make label", icon="check")
        self.similar_button.on_click(self._label_from_similarity)
        self.clear_examples = w.Button(description="Clear examples", icon="times")
        self.clear_examples.on_click(lambda _: self.set_examples([], []))
        self.similar_tab = w.VBox([self.example_kind, self.examples, self.threshold,
                                   w.HBox([self.similar_name, self.similar_button]), self.clear_examples])
        # export tab
        self.export_name = w.Text(value="labels", description="file name")
        self.export_hidden = w.Checkbox(value=True, description="include hidden labels", indent=False)
        self.export_buttons = {fmt: w.Button(description=fmt, icon="download") for fmt in ("GeoJSON", "GeoPackage",
                                                                                        "GeoTIFF")}
        for fmt, button in self.export_buttons.items():
            button.on_click(lambda _, fmt=fmt: self.export(fmt))
        self.export_info = w.HTML("")
        self.export_tab = w.VBox([self.export_name, self.export_hidden, w.HBox(list(self.export_buttons.values())),
                                  self.export_info])

    def _level_of_selection(self, levels: list[int]) -> int:
        n = len(self.session.hierarchy.selected)
        return int(np.argmin([abs(k - n) for k in levels]))

    # --- redrawing from the session ---------------------------------------------------------------------

    def _on_session_change(self, event: Mapping[str, Any]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Redraw everything that depends on the session (overlay, panel, legend, buttons)."""
        s = self.session
        counts = s.counts()
        areas = s.areas_px()
        px_m2 = pixel_area_m2(s.segmentation.transform, s.segmentation.crs)
        px_km2 = None if px_m2 is None else px_m2 / 1e6
        self.panel.sync(s.labels, counts, {k: None if px_km2 is None else v * px_km2 for k, v in areas.items()})
        self.legend.legend = {lab.name: lab.colour for lab in s.labels if not lab.hidden}
        options = [(lab.name, lab.id) for lab in s.labels] + [("unlabelled", UNLABELLED)]
        current = self.target.value
        self.target.options = options
        if current in {v for _, v in options}:
            self.target.value = current
        self.undo_button.disabled = not s.can_undo
        self.redo_button.disabled = not s.can_redo
        if s.level is not None and self.granularity.value != s.level:
            self.granularity.unobserve(self._recut, "value")
            self.granularity.value = s.level
            self.granularity.observe(self._recut, "value")
        n_unlabelled = int(np.count_nonzero(s.segment_labels() == UNLABELLED))
        self.review_info.value = f"<small>{n_unlabelled} unlabelled</small>"
        self.embedding_view.set_colours(s.segment_labels(), {lab.id: lab.colour for lab in s.labels})
        self.refresh_overlay()
        if s.autosave_error:
            self.say(f"autosave failed: {s.autosave_error}", error=True)

    def segment_lut(self) -> np.ndarray:
        """(N + 1, 4) uint8 RGBA per segment id from the session's labels, colours and hidden flags."""
        s = self.session
        labels = s.segment_labels()
        top = max([lab.id for lab in s.labels], default=0) + 2
        table = np.zeros((top + 1, 4), np.uint8)  # row = label id + 1; row 0 = unlabelled
        if self.show_unlabelled.value:
            table[0] = _UNLABELLED_RGBA
        for lab in s.labels:
            if not lab.hidden:
                table[lab.id + 1, :3] = to_rgb(lab.colour)
                table[lab.id + 1, 3] = 255
        lut = np.zeros((labels.size + 1, 4), np.uint8)
        lut[1:] = table[np.minimum(labels + 1, top)]
        if self.probability_alpha.value:
            p = np.asarray(s.clustering.probabilities, np.float32)
            manual = s.manual_rows()
            alpha = np.where(manual, 1.0, 0.25 + 0.75 * np.clip(p, 0, 1))
            lut[1:, 3] = (lut[1:, 3] * alpha).astype(np.uint8)
        return lut

    def refresh_overlay(self) -> None:
        """Recolour the label overlay and its detail (one lookup table over the display rasters; a PNG each)."""
        labels = self._painted["labels"]
        labels.paint(self.segment_lut())
        assert labels.overview_image is not None
        self.label_image = labels.overview_image

    def _lut_of(self, segment_ids: np.ndarray, rgba: tuple[int, int, int, int]) -> np.ndarray:
        lut = np.zeros((self.session.n_segments + 1, 4), np.uint8)
        lut[np.asarray(segment_ids, np.int64)] = rgba
        return lut

    @property
    def detail_grid(self) -> DisplayGrid | None:
        """The display grid of the detail overlays (``None`` while the map is zoomed out)."""
        return self.detail.grid

    def update_detail(self) -> None:
        """Show, move or hide the detail overlays for the map's current bounds and zoom.

        Called (debounced) whenever the map reports new bounds or a new zoom; nothing is recomputed while the
        view stays inside the current detail grid at the same resolution.
        """
        m = self.map
        view = MapView.from_leaflet(((m.south, m.west), (m.north, m.east)), m.zoom)
        try:
            changed = self.detail.update(view)
            if changed:
                for detail in self.details.values():
                    detail.set_grid(self.detail.grid)
        except (S2LabelError, ValueError, RasterioError) as exc:
            self.say(f"cannot draw the zoomed-in detail: {exc}", error=True)

    def say(self, message: str, *, error: bool = False) -> None:
        colour = "#b00020" if error else "#1b5e20"
        self.status.value = f'<span style="color:{colour}">{html.escape(message)}</span>'

    def _run(self, action: Any, *args: Any, done: str = "", **kwargs: Any) -> Any:
        """Run a session action; show a session error in the status line instead of raising it."""
        try:
            result = action(*args, **kwargs)
        except S2LabelError as exc:
            self.say(str(exc), error=True)
            return None
        except ValueError as exc:
            self.say(str(exc), error=True)
            return None
        if done:
            self.say(done)
        return result

    # --- map events -------------------------------------------------------------------------------------

    def _on_interaction(self, **event: Any) -> None:
        if event.get("type") == "click":
            lat, lon = event["coordinates"]
            self.handle_click(float(lat), float(lon))

    def handle_click(self, lat: float, lon: float) -> dict[str, Any] | None:
        """What a click at (lat, lon) does in the current mode; returns the clicked segment's info."""
        segment_id = self.locator.locate(lat, lon)
        if segment_id == 0:
            self.say(f"no segment at {lat:.5f}, {lon:.5f} (outside the scene or no data)", error=True)
            return None
        mode = self.mode.value
        if mode == "assign":
            target = self.target.value
            if target is None:
                self.say("choose a target label first", error=True)
                return None
            self._run(self.session.assign, [segment_id], target,
                      done=f"segment {segment_id} → {self._name(target)}")
        elif mode == "similar":
            pos, neg = list(self.positives), list(self.negatives)
            if self.example_kind.value == "positive":
                pos = [p for p in pos if p != segment_id] + [segment_id]
                neg = [n for n in neg if n != segment_id]
            else:
                neg = [n for n in neg if n != segment_id] + [segment_id]
                pos = [p for p in pos if p != segment_id]
            self.set_examples(pos, neg)
        info = self.session.segment_info(segment_id)
        self.show_info(info)
        self.select_segments(np.array([segment_id]), from_map=True)
        return info

    def show_info(self, info: Mapping[str, Any]) -> None:
        rows = [("segment", info["segment"]), ("label", f"{info['name']} ({info['label']})"),
                ("HDBSCAN cluster", info["cluster"] if info["cluster"] >= 0 else "noise"),
                ("probability", f"{info['probability']:.3f}"), ("outlier score", f"{info['outlier_score']:.3f}"),
                ("area", f"{info['area_px']} px"), ("set by hand", "yes" if info["manual"] else "no")]
        body = "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(str(v))}</b></td></tr>" for k, v in rows)
        self.info.value = f'<table class="s2label-info-table">{body}</table>'
        spectrum = info.get("spectrum")
        if spectrum:
            self.spectrum.x, self.spectrum.y = list(spectrum), list(spectrum.values())

    def _on_draw(self, target: Any, action: str, geo_json: Mapping[str, Any]) -> None:
        if action == "created":
            self.handle_polygon(geo_json)
            target.clear()

    def handle_polygon(self, geometry: Mapping[str, Any]) -> np.ndarray:
        """Select the segments inside a drawn polygon; in assign mode, put them in the target label."""
        try:
            ids = segments_in_polygon(self.session.segmentation, geometry, areas=self._areas)
        except (S2LabelError, ValueError) as exc:
            self.say(f"cannot use that polygon: {exc}", error=True)
            return np.zeros(0, np.int64)
        if ids.size == 0:
            self.say("the polygon holds no segment (at least half a segment must be inside)", error=True)
            return ids
        self.select_segments(ids, from_map=True)
        if self.mode.value == "assign" and self.target.value is not None:
            self._run(self.session.assign, ids.tolist(), self.target.value,
                      done=f"{ids.size} segments → {self._name(self.target.value)}")
        else:
            self.say(f"{ids.size} segments selected; name them below 'Inspect' to make a label")
        return ids

    def select_segments(self, segment_ids: np.ndarray, *, from_map: bool = False) -> None:
        """Highlight segments on the map (and in the embedding view when they come from the map)."""
        self.selected_segments = np.asarray(segment_ids, np.int64)
        self._painted["selection"].paint(self._lut_of(self.selected_segments, _HIGHLIGHT_RGBA)
                                        if self.selected_segments.size else None)
        if from_map:
            self.embedding_view.highlight(self.selected_segments)
        elif self.selected_segments.size:
            self.say(f"{self.selected_segments.size} segments selected in the embedding view")

    # --- panel events -----------------------------------------------------------------------------------

    def _name(self, label_id: int) -> str:
        return "unlabelled" if label_id == UNLABELLED else self.session.label(label_id).name

    def _on_row_change(self, label_id: int, what: str, value: Any) -> None:
        s = self.session
        if what == "name":
            if self._run(s.rename, label_id, value, done=f"renamed label {label_id}") is None and \
                    s.label(label_id).name != value:
                self.refresh()  # put the previous name back in the box
        elif what == "colour":
            self._run(s.set_colour, label_id, value)
        elif what == "hidden":
            self._run(s.hide, label_id, bool(value))

    def _merge(self, _: Any = None) -> None:
        ids = self.panel.selected()
        if self._run(self.session.merge, ids, done=f"merged {len(ids)} labels") is not None:
            self.panel.clear_selection()

    def _split(self, _: Any = None) -> None:
        ids = self.panel.selected()
        if len(ids) != 1:
            self.say("tick exactly one label to split", error=True)
            return
        parts = self._run(self.session.split, ids[0])
        if parts is not None:
            self.say(f"split into {len(parts)} labels")
            self.panel.clear_selection()

    def _delete(self, _: Any = None) -> None:
        for label_id in self.panel.selected():
            self._run(self.session.delete, label_id, done="deleted; its segments are unlabelled")

    def _undo(self, _: Any = None) -> None:
        self._run(self.session.undo, done="undone")

    def _redo(self, _: Any = None) -> None:
        self._run(self.session.redo, done="redone")

    def _recut(self, change: Mapping[str, Any]) -> None:
        self._run(self.session.recut, int(change["new"]), done=f"granularity {change['new']}")

    def _review_next(self, _: Any = None) -> None:
        queue = self.session.noise_queue()
        if queue.size == 0:
            self.say("no unlabelled segment left")
            return
        segment_id = int(queue[self._review_index % queue.size])
        self._review_index += 1
        rows, cols = np.nonzero(self.session.segmentation.labels == segment_id)
        self.map.center = self.locator.latlon(float(rows.mean()), float(cols.mean()))
        self.show_info(self.session.segment_info(segment_id))
        self.select_segments(np.array([segment_id]), from_map=True)
        self.tabs.selected_index = 1

    def _new_label_from_selection(self, _: Any = None) -> None:
        if self.selected_segments.size == 0:
            self.say("select segments first (click, draw a polygon, or brush the embedding view)", error=True)
            return
        self._run(self.session.create_label, self.new_label_name.value, self.selected_segments.tolist(),
                  done=f"new label {self.new_label_name.value!r}")

    # --- find similar -----------------------------------------------------------------------------------

    def set_examples(self, positives: list[int], negatives: list[int]) -> None:
        self.positives, self.negatives = list(positives), list(negatives)
        self.examples.value = (f"<b>+</b> {', '.join(map(str, self.positives)) or '–'} &nbsp; "
                               f"<b>−</b> {', '.join(map(str, self.negatives)) or '–'}")
        if not self.positives:
            self.similarity = None
            self.similarity_layer.visible = False
            self._painted["similarity"].paint(None)
            return
        self.similarity = self._run(self.session.similar, self.positives, self.negatives)
        if self.similarity is not None:
            lo, hi = float(self.similarity.scores.min()), float(self.similarity.scores.max())
            self.threshold.min, self.threshold.max = min(lo, self.threshold.min), max(hi, self.threshold.max)
            self.similarity_layer.visible = True
            self.refresh_similarity()

    def refresh_similarity(self) -> None:
        """Draw the similarity overlay: selected segments gold, the rest grey by score."""
        sim = self.similarity
        if sim is None:
            return
        lut = np.zeros((self.session.n_segments + 1, 4), np.uint8)
        scores = np.asarray(sim.scores)
        span = max(float(scores.max() - scores.min()), 1e-9)
        level = ((scores - scores.min()) / span * 255).astype(np.uint8)
        lut[sim.segment_ids, 0] = lut[sim.segment_ids, 1] = lut[sim.segment_ids, 2] = level
        lut[sim.segment_ids, 3] = 150
        chosen = sim.select(self.threshold.value)
        lut[chosen] = (255, 200, 0, 235)
        self._painted["similarity"].paint(lut)
        self.say(f"{chosen.size} segments score {self.threshold.value:.3f} or more")

    def _label_from_similarity(self, _: Any = None) -> None:
        if self.similarity is None:
            self.say("click at least one positive example in 'similar' mode first", error=True)
            return
        self._run(self.session.label_from_similarity, self.similarity, self.threshold.value,
                  self.similar_name.value, done=f"new label {self.similar_name.value!r}")

    # --- export -----------------------------------------------------------------------------------------

    def export(self, fmt: str) -> Path | None:
        """Write the labels as ``GeoJSON``, ``GeoPackage`` or ``GeoTIFF`` into :attr:`export_dir`."""
        suffix = {"GeoJSON": ".geojson", "GeoPackage": ".gpkg", "GeoTIFF": ".tif"}[fmt]
        stem = Path(self.export_name.value.strip() or "labels").name
        path = self._run(self.session.export, self.export_dir / f"{stem}{suffix}",
                         include_hidden=self.export_hidden.value)
        if path is not None:
            self.export_info.value = f"wrote <code>{html.escape(str(path))}</code>"
            self.say(f"exported {path.name}")
        return path
