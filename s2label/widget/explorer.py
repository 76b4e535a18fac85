"""The cluster explorer: an ipyleaflet map and a side panel, a thin view over a :class:`LabelSession`.

Every user action becomes a session edit (or a query); the session tells the view when anything changed and
the view redraws from the session's state: the label overlay is the display raster of segment ids recoloured
through a lookup table (one PNG, never any geometry), the panel rows are updated in place. The view computes
no clusters and no geometry itself.

Each overlay is an overview of the whole scene plus, while the map is zoomed in beyond the overview's
resolution, a *detail* image of the visible part at the screen's resolution (:mod:`.detail`), painted
through the same lookup table; both follow every edit. Selections and examples are drawn as outlines, so
the label colours under them stay visible.

No edit is lost: a drawn polygon is one edit (in *polygon* mode, where clicks assign nothing); a re-cut keeps
the researcher's labels (:meth:`LabelSession.recut`); every edit is one transaction of the session store, made
after catching up with what other windows wrote, and explorers on one run show each other's edits within about a
second (:mod:`.sync`).

Examples
--------
>>> import s2label
>>> from s2label.session.label_session import LabelSession
>>> from s2label.widget import ClusterExplorer
>>> scene = s2label.sample_scene(window=((600, 728), (600, 728)))
>>> seg = s2label.segment(scene, segment_size=100)
>>> emb = s2label.embed(scene, seg, s2label.build_graph(seg), encoder="spectral")
>>> session = LabelSession(seg, emb, s2label.cluster(emb, reduce="pca", min_cluster_size=5))
>>> explorer = ClusterExplorer(session, scene)
>>> lat, lon = explorer.locator.latlon(64, 64)
>>> print(explorer.handle_click(lat, lon)["segment"] == seg.ids[64, 64])
True
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipyleaflet as L
import ipywidgets as w
import numpy as np
from rasterio.errors import RasterioError

from s2label.display.colours import UNLABELLED_COLOUR, to_rgb
from s2label.display.detail import Debouncer, DetailTracker, MapView
from s2label.display.figures import spectrum_svg
from s2label.display.imagery import band_limits, render_bands
from s2label.display.images import webp_data_url
from s2label.display.locate import SegmentLocator, segments_in_polygon
from s2label.display.mercator import DisplayGrid, display_grid
from s2label.display.overlays import label_lut
from s2label.display.segment_info import info_table_html, summary_html
from s2label.errors import S2LabelError
from s2label.io.bands import false_colour_bands
from s2label.io.scene import Scene
from s2label.segmentation.export import pixel_area_m2
from s2label.session.label_session import UNLABELLED, LabelSession
from s2label.widget.actions import NO_ANSWER, FindSimilarActions, ReviewActions
from s2label.widget.download import ExportActions
from s2label.widget.editing import LabelEditing
from s2label.widget.embedding_view import EmbeddingView, project
from s2label.widget.layers import (
    EXPLORER_CSS,
    DetailOverlay,
    ExplorerMap,
    LayerSwitches,
    Legend,
    LutOverlay,
    fit_zoom,
    segment_boxes,
    wrap_row,
    zoom_limits,
)
from s2label.widget.learned import LearnedSwitch
from s2label.widget.pixel_layer import PixelActions
from s2label.widget.shortcuts import KeyboardShortcuts, help_html
from s2label.widget.sync import POLL_SECONDS, StoreSync

__all__ = ["ClusterExplorer", "MODES", "SELECT_ONLY"]

#: What a click on the map does.
MODES = ("inspect", "assign", "polygon", "similar")
_MODE_TIPS = ("click a segment: its label, probability, NDVI/NDWI and spectrum (i)",
              "click a segment to put it in the target label (a)",
              "draw a polygon (click the vertices, click the first to close): its segments go to the target label, "
              "or are selected when the target is 'select only' (p)",
              "click examples (positive / negative); see similar segments; make them a label (s)")
_UNLABELLED_RGBA = (*to_rgb(UNLABELLED_COLOUR), 200)
_SELECTION_RGBA = (0, 229, 255, 255)   # cyan outline
_POSITIVE_RGBA = (0, 200, 83, 255)     # green outline
_NEGATIVE_RGBA = (255, 23, 68, 255)    # red outline
_MAP_HEIGHT = 600
#: The target that assigns nothing: a drawn polygon only selects its segments.
SELECT_ONLY = "select only"


class ClusterExplorer(LabelEditing, ReviewActions, FindSimilarActions, PixelActions, ExportActions, StoreSync,
                      LearnedSwitch, w.VBox):
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
        Where the export buttons write (default: beside the autosave file, else the working folder); each
        export is also offered as a download in the browser.

    Attributes
    ----------
    map : ExplorerMap
        Zoom from a few levels beyond the whole scene to 4 screen pixels a data pixel, one level per wheel notch.
    label_layer, similarity_layer, selection_layer : ipyleaflet.ImageOverlay
        The overviews: the whole scene, at most ``max_size`` pixels on a side. Similarity matches, the
        selection and the find-similar examples are outlines.
    details : dict of str to DetailOverlay
        Their zoomed-in twins, by overview name (``"labels"``, ``"similarity"``, ``"selection"``, ``"true colour"``,
        ``"false colour (NIR-R-G)"``): ``.layer`` is the ``ImageOverlay`` above the overview, ``.image`` its RGBA
        image (``None`` while hidden).
    detail : DetailTracker
        The detail grid of the current view (``detail.grid``; ``None`` while the overview is enough).
    legend : Legend
        Every label shown, and unlabelled, in a box that scrolls and collapses (bottom right of the map).
    layer_switches : LayerSwitches
        Background and overlays (top right of the map).
    panel : LabelList
    embedding_view : EmbeddingView
        Put in its tab only while that tab is open.
    status : ipywidgets.HTML
        The last message (errors from the session are shown here, never raised into the front end).
    summary : ipywidgets.HTML
        One line on the segment last clicked, always visible: label, probability, NDVI, NDWI, lon/lat.
    shortcuts : KeyboardShortcuts
        Keys pressed with the pointer over the map (listed by the *?* button).
    poll : float or None
        Seconds between two looks at the session store for other windows' edits (``None``: only on the next edit
        or *Refresh*).
    """

    def __init__(self, session: LabelSession, scene: Scene | None = None, *, max_size: int = 1600,
                 photo_max_size: int = 1200, basemap: Any = None, projection: str = "pca",
                 export_dir: str | os.PathLike[str] | None = None, detail_max_size: int = 1600,
                 detail_delay: float = 0.2, poll: float | None = POLL_SECONDS) -> None:
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
        self.details: dict[str, DetailOverlay] = {}
        self._painted: dict[str, LutOverlay] = {}
        self._photo_grid: DisplayGrid | None = None
        self._review_index = 0
        self.detail = DetailTracker(session.segmentation, overview_pixel_size=self.grid.pixel_size,
                                    max_size=detail_max_size, n_segments=session.n_segments)
        self._build_map(scene, photo_max_size, basemap)
        self._build_panel()
        self.projection = projection
        self.embedding_view = EmbeddingView(project(session.clustering.embedding, method=projection),  # type: ignore[arg-type]
                                            on_select=self.select_segments)
        self._build_layout()
        session.observe(self._on_session_change)
        self.refresh()
        if self._photo_grid is not None:
            self.detail.overview_pixel_size = max(self.grid.pixel_size, self._photo_grid.pixel_size)
        self._view_changed = Debouncer(self.update_detail, detail_delay)
        # the edges, not Map.bounds: bounds is derived from them by an observer that may run after this one
        self.map.observe(lambda _: self._view_changed(), names=["south", "west", "north", "east", "zoom"])
        self.shortcuts = KeyboardShortcuts(self.map, {
            "undo": self._undo, "redo": self._redo, "next": self._review_next, "mode": self.set_mode,
            "clear": self.clear_selection, "zoom to scene": self.zoom_to_scene, "help": self._toggle_help})
        self._start_polling(poll)

    # --- building ---------------------------------------------------------------------------------------

    def _build_map(self, scene: Scene | None, photo_max_size: int, basemap: Any) -> None:
        g = self.grid
        # the whole scene in the narrowest map the layout gives (the panel beside it, JupyterLab's file browser open)
        self.home_zoom = fit_zoom(g.shape[1] * g.pixel_size, g.shape[0] * g.pixel_size, width_px=480,
                                  height_px=_MAP_HEIGHT - 40)
        low, high = zoom_limits(self.detail.frame.pixel_size, fit_zoom=self.home_zoom)
        self.map = ExplorerMap(center=g.centre, zoom=self.home_zoom, min_zoom=low, max_zoom=high,
                               scroll_wheel_zoom=True, zoom_snap=1, zoom_delta=1, attribution_control=False,
                               layout=w.Layout(height=f"{_MAP_HEIGHT}px", width="100%"))
        for layer in list(self.map.layers):  # Map(basemap=None) raises: drop the default tiles instead
            self.map.remove(layer)
        if basemap is not None:
            self.map.add(L.basemap_to_tiles(basemap))
        backgrounds: dict[str, L.Layer] = {}
        self.true_layer: L.ImageOverlay | None = None
        self.false_layer: L.ImageOverlay | None = None
        if scene is not None:
            photo = self._photo_grid = display_grid(self.session.segmentation, max_size=photo_max_size)
            self.true_layer = self._photo_layer(scene, photo, ("B04", "B03", "B02"), "true colour")
            backgrounds["true colour"] = self.true_layer
            try:
                nir = false_colour_bands(scene.bands)
            except S2LabelError:  # no NIR band
                pass
            else:
                self.false_layer = self._photo_layer(scene, photo, nir, "false colour (NIR-R-G)")
                backgrounds["false colour"] = self.false_layer
        self.label_layer = L.ImageOverlay(url="", bounds=g.bounds, opacity=0.6, name="labels")
        self.similarity_layer = L.ImageOverlay(url="", bounds=g.bounds, opacity=1.0, name="similarity",
                                               visible=False)
        self.selection_layer = L.ImageOverlay(url="", bounds=g.bounds, opacity=1.0, name="selection")
        boxes = segment_boxes(g)  # where each segment lies on the overview: outlines are drawn in their box only
        for layer, outline in ((self.label_layer, 0), (self.similarity_layer, 1), (self.selection_layer, 2)):
            self.details[layer.name] = self._painted[layer.name] = detail = LutOverlay(layer, g, outline=outline,
                                                                                       boxes=boxes)
            detail.paint(None)
            self.map.add(layer)
            self.map.add(detail.layer)
            if layer is self.label_layer:  # the pixel-level labels right above the segment labels
                self._build_pixel_tools(UNLABELLED_COLOUR)
        self.legend = Legend(max_height=f"{int(_MAP_HEIGHT * 0.38)}px")
        self.map.add(L.WidgetControl(widget=self.legend, position="bottomright"))
        self.layer_switches = LayerSwitches(backgrounds, {"labels": self.label_layer,
                                                          "similar segments": self.similarity_layer,
                                                          "selection": self.selection_layer})
        self.map.add(L.WidgetControl(widget=self.layer_switches, position="topright"))
        self.home_button = w.Button(icon="expand", tooltip="zoom to the whole scene (0)",
                                    layout=w.Layout(width="34px", height="30px", padding="0"))
        self.home_button.add_class("s2label-home")
        self.home_button.on_click(lambda _: self.zoom_to_scene())
        self.map.add(L.WidgetControl(widget=self.home_button, position="topleft"))
        self.map.add(L.ScaleControl(position="bottomleft", imperial=False, max_width=160))
        self.draw = L.DrawControl(polyline={}, circlemarker={}, marker={}, circle={},
                                  polygon={"shapeOptions": {"color": "#00e5ff", "fillOpacity": 0.05}},
                                  rectangle={"shapeOptions": {"color": "#00e5ff", "fillOpacity": 0.05}})
        self.draw.on_draw(self._on_draw)
        self.map.on_interaction(self._on_interaction)

    def _photo_layer(self, scene: Scene, grid: DisplayGrid, bands: tuple[str, str, str], name: str) -> L.ImageOverlay:
        """A true/false colour overview and its detail twin, stretched alike (:func:`band_limits`)."""
        limits = band_limits(scene, bands)
        layer = L.ImageOverlay(url=webp_data_url(render_bands(scene, grid, bands, limits=limits)),
                               bounds=grid.bounds, name=name, visible=False)
        self.details[name] = detail = DetailOverlay(layer, lambda g: render_bands(scene, g, bands, limits=limits),
                                                    lambda rgba: webp_data_url(rgba, method=2))  # redrawn often
        self.map.add(layer)
        self.map.add(detail.layer)
        return layer

    def _build_panel(self) -> None:
        self.mode = w.ToggleButtons(options=MODES, value="inspect", tooltips=list(_MODE_TIPS),
                                    style={"button_width": "72px"})
        self.mode.observe(self._on_mode, "value")
        self.target = w.Dropdown(description="target", options=[], layout=w.Layout(width="184px"),
                                 style={"description_width": "44px"})
        self._build_sync()
        self._build_learned()
        self.undo_button = w.Button(description="Undo", icon="undo", tooltip="undo the last edit (Ctrl+Z)",
                                    layout=w.Layout(width="auto"))
        self.redo_button = w.Button(description="Redo", icon="repeat", tooltip="redo (Ctrl+Shift+Z)",
                                    layout=w.Layout(width="auto"))
        self.clear_button = w.Button(description="Clear", icon="times", layout=w.Layout(width="auto"),
                                     tooltip="clear the selection and the find-similar examples (Esc)")
        self.help_button = w.ToggleButton(description="?", tooltip="keyboard shortcuts",
                                          layout=w.Layout(width="32px"))
        self.panel_button = w.ToggleButton(value=True, icon="columns", tooltip="show / hide the side panel",
                                           layout=w.Layout(width="36px", padding="0"))
        self.help = w.HTML(help_html(), layout=w.Layout(display="none", max_width="470px"))
        self.help.add_class("s2label-help")
        self.status = w.HTML("")
        self.status.add_class("s2label-status")
        self.summary = w.HTML("<small><i>click a segment on the map</i></small>")
        self.summary.add_class("s2label-summary")
        for button, handler in ((self.undo_button, self._undo), (self.redo_button, self._redo),
                                (self.clear_button, self.clear_selection)):
            button.on_click(lambda _, h=handler: h())
        self.help_button.observe(lambda _: self._show_help(), "value")
        self.panel_button.observe(lambda _: self._show_panel(), "value")
        self._build_editing()  # the labels list, merge / split / delete, granularity, new label
        self.opacity = w.FloatSlider(value=0.6, min=0.0, max=1.0, step=0.05, description="opacity")
        w.jslink((self.opacity, "value"), (self.label_layer, "opacity"))
        w.jslink((self.opacity, "value"), (self.details["labels"].layer, "opacity"))
        self._link_pixel_opacity(self.opacity)
        self.probability_alpha = w.Checkbox(value=False, description="probability as transparency", indent=False)
        self.show_unlabelled = w.Checkbox(value=True, description="show unlabelled", indent=False)
        for box in (self.probability_alpha, self.show_unlabelled):
            box.observe(lambda _: self.refresh_overlay(), "value")
        self._build_review()  # next to review, accept / answer, propagate
        for button in (self.merge_button, self.split_button, self.delete_button, self.reset_cut, self.review_button,
                       self.accept_button, self.propagate_button,
                       self.new_label_button, self.undo_button, self.redo_button, self.clear_button):
            button.layout.flex = "0 0 auto"  # never squeezed to an icon and "..."
        self.labels_tab = w.VBox([
            self.panel, wrap_row(self.merge_name, self.merge_button, self.split_button, self.delete_button),
            wrap_row(self.granularity, self.reset_cut), self.opacity,
            wrap_row(self.probability_alpha, self.show_unlabelled),
            wrap_row(self.review_button, self.accept_button, self.answer),
            wrap_row(self.propagate_button, self.auto_propagate, self.propagate_busy, self.review_info),
            wrap_row(self.new_label_name, self.new_label_button)])
        # inspect tab
        self.info = w.HTML("<i>click a segment on the map</i>")
        self.info.add_class("s2label-info")
        self.spectrum = w.HTML("")
        self.spectrum.add_class("s2label-spectrum")
        self.inspect_tab = w.VBox([self.info, self.spectrum])
        self._build_similar_tab()
        self._build_export_tab()
        self.embedding_tab = w.VBox([w.HTML("<i>the embedding view opens with this tab</i>")])

    def _build_layout(self) -> None:
        tabs = w.Tab(children=[self.labels_tab, self.inspect_tab, self.similar_tab, self.embedding_tab,
                               self.export_tab])
        for i, title in enumerate(("Labels", "Inspect", "Similar", "Embedding", "Export")):
            tabs.set_title(i, title)
        tabs.observe(self._on_tab, "selected_index")
        self.tabs = tabs
        toolbar = w.HBox([self.mode, self.target, self.pixel_exact, self.undo_button, self.redo_button,
                          self.clear_button, self.refresh_button, self.help_button, self.panel_button],
                         layout=w.Layout(flex_flow="row wrap", align_items="center"))
        toolbar.add_class("s2label-toolbar")
        self.side = w.VBox([tabs], layout=w.Layout(width="40%", min_width="300px", max_width="480px",
                                                    flex="0 0 auto"))
        self.side.add_class("s2label-side")
        self.side.add_class("s2label-panel")
        self.map_box = w.Box([self.map], layout=w.Layout(flex="1 1 0%", min_width="280px"))
        self.style = w.HTML(EXPLORER_CSS, layout=w.Layout(display="none"))
        self.map.add(L.WidgetControl(widget=self.help, position="topleft"))  # a popover over the map
        self.body = w.VBox([toolbar, self.learned_box, self.status, self.summary,
                            w.HBox([self.map_box, self.side], layout=w.Layout(width="100%")), self.style])
        super().__init__([self.body], layout=w.Layout(width="100%"))
        self.add_class("s2label-explorer")

    def close(self) -> None:
        """Stop polling the store, any background propagation and a learned run it started (its run folder is
        left without a half-written run), then close the widget."""
        self.stop_learned()
        self.stop_polling()
        self.propagation.close()
        self.session.unobserve(self._on_session_change)
        self.shortcuts.close()
        super().close()

    # --- redrawing from the session ---------------------------------------------------------------------

    def _on_session_change(self, event: Mapping[str, Any]) -> None:
        with self._redraw_lock:  # a background propagation's commit is heard in its worker thread
            self.refresh()
            op = event.get("op")
            if op == "sync":
                self.say(str(event["message"]))
            elif op in ("undo", "redo"):
                self.say(f"{'undone' if op == 'undo' else 'redone'}: {event.get('description', event.get('edit'))}")
            elif "description" in event:
                self.say(str(event["description"]))

    def refresh(self) -> None:
        """Redraw everything that depends on the session (overlay, panel, legend, buttons)."""
        s = self.session
        counts = s.counts()
        areas = s.areas_px()
        px_m2 = pixel_area_m2(s.segmentation.transform, s.segmentation.crs)
        px_km2 = None if px_m2 is None else px_m2 / 1e6
        self.panel.sync(s.labels, counts, {k: None if px_km2 is None else v * px_km2 for k, v in areas.items()})
        entries = [(lab.name, lab.colour) for lab in s.labels if not lab.hidden]
        n_unlabelled = int(np.count_nonzero(s.label_of_segment() == UNLABELLED))
        if self.show_unlabelled.value and n_unlabelled:
            entries.append(("unlabelled", UNLABELLED_COLOUR))
        self.legend.set_entries(entries)
        options = [("(select only)", SELECT_ONLY), *((lab.name, lab.id) for lab in s.labels),
                   ("unlabelled", UNLABELLED)]
        current = self.target.value
        if list(self.target.options) != options:
            self.target.options = options
        self.target.value = current if current in {v for _, v in options} else SELECT_ONLY
        answers = [("or: another label…", NO_ANSWER), *((lab.name, lab.id) for lab in s.labels)]
        if list(self.answer.options) != answers:
            self.answer.options = answers
        self.undo_button.disabled = not s.can_undo
        self.redo_button.disabled = not s.can_redo
        self._show_granularity()
        self.review_info.value = f"<small>{n_unlabelled} unlabelled</small>"
        self.embedding_view.set_colours(s.label_of_segment(), {lab.id: lab.colour for lab in s.labels})
        self.refresh_overlay()
        self._run(self.pixel_labels.update)
        self._offer_merge_name()

    def segment_lut(self) -> np.ndarray:
        """(N + 1, 4) uint8 RGBA per segment id from the session's labels, colours and hidden flags."""
        s = self.session
        confidence = None
        if self.probability_alpha.value:  # hand labels opaque, the others by their probability
            p = np.clip(np.asarray(s.clustering.probabilities, np.float32), 0, 1)
            confidence = np.where(s.manual_rows(), 1.0, 0.25 + 0.75 * p)
        return label_lut(s.label_of_segment(), {lab.id: None if lab.hidden else lab.colour for lab in s.labels},
                         unlabelled=_UNLABELLED_RGBA if self.show_unlabelled.value else (0, 0, 0, 0),
                         confidence=confidence)

    def refresh_overlay(self) -> None:
        """Recolour the label overlay and its detail (one lookup table over the display rasters; a PNG each)."""
        labels = self._painted["labels"]
        labels.paint(self.segment_lut())
        assert labels.overview_image is not None
        self.label_image = labels.overview_image

    def _paint_selection(self) -> None:
        """Outline the selection (cyan) and the find-similar examples (positives green, negatives red)."""
        lut = np.zeros((self.session.n_segments + 1, 4), np.uint8)
        lut[self.selected_segments] = _SELECTION_RGBA
        lut[np.asarray(self.negatives, np.int64)] = _NEGATIVE_RGBA
        lut[np.asarray(self.positives, np.int64)] = _POSITIVE_RGBA
        self._painted["selection"].paint(lut if lut[:, 3].any() else None)

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
        except (S2LabelError, ValueError) as exc:
            self.say(str(exc), error=True)
            return None
        if done:
            self.say(done)
        return True if result is None else result

    # --- the toolbar --------------------------------------------------------------------------------------

    @property
    def target_label(self) -> int | None:
        """The label a click (assign mode) or a polygon puts segments in; ``None`` for *(select only)*."""
        value = self.target.value
        return None if value is None or value == SELECT_ONLY else int(value)

    def set_mode(self, mode: str) -> None:
        """Switch what a click on the map does (one of :data:`MODES`)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode.value = mode

    def _on_mode(self, change: Mapping[str, Any]) -> None:
        # the draw control only in polygon mode: there a click places a vertex and assigns nothing
        if change["new"] == "polygon" and self.draw not in self.map.controls:
            self.map.add(self.draw)
        elif change["new"] != "polygon" and self.draw in self.map.controls:
            self.map.remove(self.draw)
        self.pixel_exact.layout.display = None if change["new"] == "polygon" else "none"
        hints = {"assign": "click segments to put them in the target label",
                 "polygon": "draw a polygon with the tool at the top left: its segments go to the target label",
                 "similar": "click example segments (positive / negative in the Similar tab)",
                 "inspect": "click a segment to inspect it"}
        self.say(hints[change["new"]])
        if change["new"] == "similar":
            self.tabs.selected_index = 2

    def zoom_to_scene(self) -> None:
        """Show the whole scene."""
        self.map.center, self.map.zoom = self.grid.centre, self.home_zoom

    def clear_selection(self) -> None:
        """Forget the selection and the find-similar examples (and hide the matches)."""
        self.selected_segments = np.zeros(0, np.int64)
        self.embedding_view.highlight(self.selected_segments)
        self.set_examples([], [])
        self.say("selection and examples cleared")

    def _toggle_help(self) -> None:
        self.help_button.value = not self.help_button.value

    def _show_help(self) -> None:
        self.help.layout.display = None if self.help_button.value else "none"

    def _show_panel(self) -> None:
        self.side.layout.display = None if self.panel_button.value else "none"

    def _on_tab(self, change: Mapping[str, Any]) -> None:
        # the bqplot figure only while its tab shows: drawn hidden, it has no size and logs errors
        if change["new"] == 3:
            self.embedding_tab.children = (self.embedding_view,)
        elif self.embedding_view in self.embedding_tab.children:
            self.embedding_tab.children = (w.HTML("<i>the embedding view opens with this tab</i>"),)

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
        if mode == "polygon":  # a vertex of the polygon being drawn: never an edit
            return None
        if mode == "assign":
            if self.target_label is None:
                self.say("choose a target label first (the 'target' list above the map)", error=True)
                return None
            self._run(self.session.assign, [segment_id], self.target_label)
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
        self.show_info(info, lat=lat, lon=lon)
        if mode != "similar":
            self.select_segments(np.array([segment_id]), from_map=True)
        return info

    def show_info(self, info: Mapping[str, Any], *, lat: float | None = None, lon: float | None = None) -> None:
        """Show a segment's info: one summary line under the toolbar, the whole table in the Inspect tab."""
        self.info.value = info_table_html(info, lat=lat, lon=lon)
        self.summary.value = summary_html(info, lat=lat, lon=lon)
        spectrum = info.get("spectrum")
        self.spectrum.value = spectrum_svg(spectrum, width=300, height=130) if spectrum else ""

    def _on_draw(self, target: Any, action: str, geo_json: Mapping[str, Any]) -> None:
        if action == "created":
            self.handle_polygon(geo_json)
            target.clear()

    def handle_polygon(self, geometry: Mapping[str, Any]) -> np.ndarray:
        """The segments inside a drawn polygon: in polygon mode put in the target label (one edit), else selected."""
        if self.mode.value == "polygon" and self.pixel_exact.value:
            self.assign_pixel_polygon(geometry)
            return np.zeros(0, np.int64)
        try:
            ids = segments_in_polygon(self.session.segmentation, geometry, areas=self._areas)
        except (S2LabelError, ValueError) as exc:
            self.say(f"cannot use that polygon: {exc}", error=True)
            return np.zeros(0, np.int64)
        if ids.size == 0:
            self.say("the polygon holds no segment (at least half a segment must be inside)", error=True)
            return ids
        self.select_segments(ids, from_map=True)
        if self.mode.value in ("polygon", "assign") and self.target_label is not None:
            self._run(self.session.assign, ids.tolist(), self.target_label, how="polygon")
        else:
            self.say(f"{ids.size} segments selected: 'New label' (Labels tab) makes them a label, or choose a "
                     "target to put them in")
        return ids

    def select_segments(self, segment_ids: np.ndarray, *, from_map: bool = False) -> None:
        """Outline segments on the map (and select them in the embedding view when they come from the map)."""
        self.selected_segments = np.asarray(segment_ids, np.int64)
        self._paint_selection()
        if from_map:
            self.embedding_view.highlight(self.selected_segments)
        elif self.selected_segments.size:
            self.say(f"{self.selected_segments.size} segments selected in the embedding view")
