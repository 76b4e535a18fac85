"""The explorer driven through its handlers in the kernel (no browser), on the real crop."""

import csv
import html
import json
import re
import threading
from types import SimpleNamespace

import numpy as np
import pytest

import s2label.session.propagate
from s2label.display.colours import UNLABELLED_COLOUR, to_rgb
from s2label.display.images import EMPTY_IMAGE
from s2label.session.label_session import UNLABELLED, LabelSession
from s2label.widget import ClusterExplorer
from s2label.widget.actions import NO_ANSWER
from tests.conftest import stored_log


@pytest.fixture
def explorer(crop_result, tmp_path):
    session = LabelSession.from_result(crop_result, autosave=tmp_path / "session.sqlite")
    return ClusterExplorer(session, crop_result.scene, export_dir=tmp_path)


def shown_colour(explorer, segment_id):
    """RGBA of the label overlay at the display pixels of one segment (the most common value)."""
    mask = explorer.grid.segment_ids == segment_id
    assert mask.any(), f"segment {segment_id} is not visible at display resolution"
    values, counts = np.unique(explorer.label_image[mask].reshape(-1, 4), axis=0, return_counts=True)
    return tuple(int(v) for v in values[np.argmax(counts)])


def big_segment_of(explorer, label_id):
    """The largest segment of a label (well visible on the display grid)."""
    s = explorer.session
    rows = np.flatnonzero(s.label_of_segment() == label_id)
    areas = explorer.session.segmentation.areas()
    return int(rows[np.argmax(areas[rows])] + 1)


def status(explorer):
    """The status line as the researcher reads it."""
    return html.unescape(re.sub(r"<[^>]+>", "", explorer.status.value))


def legend_names(explorer):
    return [name for name, _ in explorer.legend.entries if name != "unlabelled"]


def click_segment(explorer, segment_id):
    rows, cols = np.nonzero(explorer.session.segmentation.ids == segment_id)
    i = len(rows) // 2
    return explorer.handle_click(*explorer.locator.latlon(rows[i], cols[i]))


def test_builds_without_network(explorer, crop_result):
    m = explorer.map
    names = [layer.name for layer in m.layers]
    overviews = ["true colour", "false colour (NIR-R-G)", "labels", "pixel labels", "similarity", "selection"]
    assert names == [n for o in overviews for n in (o, f"{o} detail")]  # each detail right above its overview
    assert all(not d.layer.visible and d.layer.url == EMPTY_IMAGE for d in explorer.details.values())
    assert all(layer.url.startswith("data:image/") for layer in m.layers)  # never an empty (broken) image
    assert not any(type(layer).__name__ == "TileLayer" for layer in m.layers)  # no basemap, no network
    assert explorer.true_layer.url.startswith("data:image/webp;base64,")
    assert explorer.label_layer.url.startswith("data:image/png;base64,")
    (south, west), (north, east) = explorer.label_layer.bounds
    lat, lon = explorer.locator.latlon(128, 128)
    assert south < lat < north and west < lon < east
    assert legend_names(explorer) == [lab.name for lab in explorer.session.labels]
    if (explorer.session.label_of_segment() == UNLABELLED).any():
        assert explorer.legend.entries[-1] == ("unlabelled", UNLABELLED_COLOUR)
    assert UNLABELLED_COLOUR not in {lab.colour for lab in explorer.session.labels}
    # zoom: whole scene at the start, at most 4 screen pixels a data pixel, a scale bar, zoom to scene
    assert m.zoom == explorer.home_zoom and m.min_zoom < m.zoom < m.max_zoom
    screen = 40075016.686 / (256 * 2 ** m.max_zoom)
    assert explorer.detail.frame.pixel_size / 4 <= screen < explorer.detail.frame.pixel_size / 2
    assert m.wheel_px_per_zoom_level == 120 and m.zoom_snap == 1
    kinds = [type(c).__name__ for c in m.controls]
    assert "ScaleControl" in kinds and "DrawControl" not in kinds  # the draw tool only in polygon mode
    m.zoom, m.center = m.max_zoom, (0.0, 0.0)
    explorer.home_button.click()
    assert m.zoom == explorer.home_zoom and tuple(m.center) == explorer.grid.centre
    assert len(explorer.panel.children) == crop_result.clustering.n_clusters


def test_click_shows_the_segment_under_it(explorer, crop_result):
    seg = crop_result.segmentation
    for row, col in [(10, 10), (128, 200), (250, 40)]:
        info = explorer.handle_click(*explorer.locator.latlon(row, col))
        sid = int(seg.ids[row, col])
        assert info["segment"] == sid
        assert info["label"] == explorer.session.label_of(sid)
        assert f"<b>{sid}</b>" in explorer.info.value
        assert explorer.spectrum.value.startswith("<svg") and "B8A" in explorer.spectrum.value
        ndvi = info["ndvi"]
        b04, b08 = explorer.session.spectra[sid - 1, [3, 7]]
        assert ndvi == pytest.approx((b08 - b04) / (b08 + b04), abs=1e-4)
        summary = explorer.summary.value  # always visible: label, NDVI, NDWI, lon/lat
        assert f"segment {sid}" in summary and f"NDVI {ndvi:.2f}" in summary and "NDWI" in summary
        assert f"{abs(explorer.locator.latlon(row, col)[0]):.5f}° N" in summary and "° W" in summary
        assert list(explorer.selected_segments) == [sid] and explorer.selection_layer.url.startswith("data:")
        outline = explorer._painted["selection"].overview_image
        inside = explorer.grid.segment_ids == sid
        assert outline[inside][:, 3].any() and not outline[~inside][:, 3].any()  # its border only
        assert (outline[inside][:, 3] == 0).sum() > 0 or inside.sum() < 20  # the inside stays clear
    before = explorer.session.label_of_segment().copy()
    assert explorer.handle_click(0.0, 0.0) is None
    assert "outside the scene" in explorer.status.value
    np.testing.assert_array_equal(explorer.session.label_of_segment(), before)


def test_merge_through_the_panel_recolours(explorer):
    s = explorer.session
    first, second = explorer.panel.children[0], explorer.panel.children[1]
    moved = big_segment_of(explorer, second.label_id)
    assert shown_colour(explorer, moved)[:3] == to_rgb(s.label(second.label_id).colour)
    first.select.value = second.select.value = True
    n = len(s.labels)
    explorer.merge_button.click()
    assert len(s.labels) == n - 1 and len(explorer.panel.children) == n - 1
    assert s.label_of(moved) == first.label_id
    assert shown_colour(explorer, moved) == (*to_rgb(s.label(first.label_id).colour), 255)
    assert len(legend_names(explorer)) == n - 1
    assert explorer.panel.selected() == []
    explorer.panel.children[0].select.value = True
    explorer.merge_button.click()  # only one ticked: refused, nothing changes
    assert "itself" in explorer.status.value and len(s.labels) == n - 1
    explorer.undo_button.click()
    assert len(s.labels) == n and shown_colour(explorer, moved)[:3] == to_rgb(s.label(second.label_id).colour)
    explorer.redo_button.click()
    assert len(s.labels) == n - 1


def test_rename_recolour_hide_from_rows(explorer):
    s = explorer.session
    row0, row1 = explorer.panel.children[0], explorer.panel.children[1]
    row0.name.value = "water"
    assert s.label(row0.label_id).name == "water" and "water" in legend_names(explorer)
    assert status(explorer) == f"rename 'cluster {row0.label_id}' to 'water'"
    row1.name.value = "WATER"  # duplicate: refused, the box shows the old name again
    assert "already used" in explorer.status.value
    assert row1.name.value == s.label(row1.label_id).name != "WATER"
    row1.name.value = "   "
    assert "cannot be empty" in explorer.status.value and row1.name.value.strip()
    seg_id = big_segment_of(explorer, row0.label_id)
    row0.colour.value = "#123456"
    assert shown_colour(explorer, seg_id) == (0x12, 0x34, 0x56, 255)
    row0.hide.value = True
    assert s.label(row0.label_id).hidden and shown_colour(explorer, seg_id)[3] == 0
    assert "water" not in legend_names(explorer)
    assert [e["op"] for e in s.edits] == ["rename", "colour", "hide"]
    assert stored_log(s.autosave_path).position == 3


def test_assign_by_click_and_polygon(explorer, crop_result):
    s = explorer.session
    target = s.labels[0].id
    other = next(lab.id for lab in s.labels[1:])
    sid = big_segment_of(explorer, other)
    explorer.mode.value = "assign"
    explorer.target.value = target
    click_segment(explorer, sid)
    assert s.label_of(sid) == target
    assert shown_colour(explorer, sid)[:3] == to_rgb(s.label(target).colour)
    # a polygon around the top-left 40 x 40 px (lon/lat ring, as the draw control gives it)
    corners = [explorer.locator.latlon(r, c) for r, c in [(0, 0), (0, 40), (40, 40), (40, 0), (0, 0)]]
    geometry = {"type": "Polygon", "coordinates": [[(lon, lat) for lat, lon in corners]]}
    explorer.target.value = UNLABELLED
    ids = explorer.handle_polygon(geometry)
    labels = crop_result.segmentation.ids
    inside, areas = np.bincount(labels[:40, :40].ravel(), minlength=labels.max() + 1), np.bincount(labels.ravel())
    share = np.divide(inside, areas, out=np.zeros(areas.size), where=areas > 0)
    assert set(np.flatnonzero(share > 0.6).tolist()) <= set(ids.tolist())
    assert not set(np.flatnonzero(share < 0.4).tolist()) & set(ids.tolist())
    assert all(s.label_of(int(i)) == UNLABELLED for i in ids)
    assert status(explorer) == f"{ids.size} segments to unlabelled (polygon)"
    far = {"type": "Polygon", "coordinates": [[(0, 0), (0, 1), (1, 1), (0, 0)]]}
    assert explorer.handle_polygon(far).size == 0 and "no segment" in explorer.status.value


def test_find_similar_and_make_a_label(explorer):
    s = explorer.session
    label = s.labels[0].id
    example = big_segment_of(explorer, label)
    explorer.mode.value = "similar"
    click_segment(explorer, example)
    assert explorer.positives == [example] and explorer.similarity_layer.visible
    explorer.example_kind.value = "negative"
    negative = big_segment_of(explorer, s.labels[1].id)
    click_segment(explorer, negative)
    assert explorer.negatives == [negative]
    explorer.threshold.value = float(explorer.similarity.scores[20])
    chosen = explorer.similarity.select(explorer.threshold.value)
    assert example in chosen and negative not in chosen
    explorer.similar_name.value = "like it"
    explorer.similar_button.click()
    new = s.label_by_name("like it")
    assert new.source == "similar" and new.details["negatives"] == [negative]
    assert set(np.flatnonzero(s.label_of_segment() == new.id) + 1) == set(chosen.tolist())
    explorer.similar_button.click()  # the same name again: refused with a message
    assert "already used" in explorer.status.value


def test_granularity_review_and_embedding_brush(explorer):
    s = explorer.session
    levels = s.granularity_levels()
    explorer.granularity.value = 1
    assert s.level == 1 and len(s.labels) == levels[1] and len(explorer.panel.children) == levels[1]
    explorer.reset_cut.click()
    assert s.level is None
    s.assign([1, 2, 3], UNLABELLED)
    first = int(s.review_queue(1)[0])
    explorer.review_button.click()
    assert f"<b>{first}</b>" in explorer.info.value and f"segment {first}" in explorer.summary.value
    explorer.embedding_view.scatter.selected = [0, 1, 2]
    np.testing.assert_array_equal(explorer.selected_segments, explorer.embedding_view.rows[:3] + 1)
    explorer.new_label_name.value = "brushed"
    explorer.new_label_button.click()
    assert s.label_by_name("brushed").source == "manual"


def test_export_buttons(explorer, tmp_path):
    explorer.panel.children[0].name.value = "water"
    explorer.export_name.value = "my labels"
    for fmt, suffix in (("GeoJSON", ".geojson"), ("GeoPackage", ".gpkg"), ("GeoTIFF", ".tif")):
        explorer.export_buttons[fmt].click()
        assert (tmp_path / f"my labels{suffix}").is_file()
    doc = json.loads((tmp_path / "my labels.geojson").read_text())
    assert "water" in {f["properties"]["name"] for f in doc["features"]}
    explorer.export_name.value = "../../escape"
    explorer.export_buttons["GeoJSON"].click()
    assert (tmp_path / "escape.geojson").is_file()  # a path in the name never leaves the export folder
    explorer.export_name.value = "my labels"
    explorer.chips_button.click()
    with open(tmp_path / "my labels-chips" / "chips.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["split"] for r in rows] == ["train"] and rows[0]["size"] == "256"  # one 256 px chip on the crop
    assert "wrote 1 training chip (1 train, 0 val, 0 test" in explorer.export_info.value
    assert "note</b>: val and test got no chip" in explorer.export_info.value  # too small a scene: it says so
    explorer.export_name.value = "escape"  # a folder of other files is refused, in the status line
    (tmp_path / "escape-chips").mkdir()
    (tmp_path / "escape-chips" / "notes.txt").write_text("mine")
    assert explorer.export_chips() is None and "holds other files" in explorer.status.value


# --- zoomed-in detail ---------------------------------------------------------------------------------

@pytest.fixture
def zoomable(crop_result, tmp_path):
    """The explorer with 64 px overviews: about 4 data pixels per overview pixel, so zooming in needs detail."""
    session = LabelSession.from_result(crop_result, autosave=tmp_path / "session.sqlite")
    return ClusterExplorer(session, crop_result.scene, export_dir=tmp_path, max_size=64, photo_max_size=64,
                           detail_delay=0)


def set_view(explorer, fx, fy, zoom):
    """Move the map as the front end reports it: bounds over fractions ``fx`` (west to east) and ``fy`` (south
    to north) of the label overlay's bounds, and a zoom."""
    (south, west), (north, east) = explorer.grid.bounds
    m = explorer.map
    with m.hold_trait_notifications():
        m.zoom = zoom
        m.set_trait("south", south + fy[0] * (north - south))
        m.set_trait("north", south + fy[1] * (north - south))
        m.set_trait("west", west + fx[0] * (east - west))
        m.set_trait("east", west + fx[1] * (east - west))


def detail_colour(explorer, segment_id):
    """RGBA of the label detail overlay at the detail pixels of one segment (the most common value)."""
    mask = explorer.detail_grid.segment_ids == segment_id
    assert mask.any(), f"segment {segment_id} is not in the detail"
    image = explorer.details["labels"].image
    values, counts = np.unique(image[mask].reshape(-1, 4), axis=0, return_counts=True)
    return tuple(int(v) for v in values[np.argmax(counts)])


def biggest_in_detail(explorer, label_id):
    """The segment of a label with the most detail pixels."""
    labels = explorer.session.label_of_segment()
    ids, counts = np.unique(explorer.detail_grid.segment_ids, return_counts=True)
    keep = (ids > 0) & (labels[np.maximum(ids, 1) - 1] == label_id)
    assert keep.any(), f"label {label_id} is not in the detail"
    return int(ids[keep][np.argmax(counts[keep])])


def test_zooming_in_shows_a_detail_that_follows_edits(zoomable):
    explorer, s = zoomable, zoomable.session
    labels_detail, true_detail = explorer.details["labels"], explorer.details["true colour"]
    false_detail = explorer.details["false colour (NIR-R-G)"]
    set_view(explorer, (0.1, 0.4), (0.1, 0.4), 11)            # zoomed out: 76 m per screen pixel, the overview
    assert explorer.detail_grid is None and not labels_detail.layer.visible and labels_detail.layer.url == EMPTY_IMAGE

    set_view(explorer, (0.1, 0.5), (0.1, 0.5), 14)           # a sixth of the crop at 9.6 m per screen pixel
    grid = explorer.detail_grid
    assert grid is not None
    assert grid.pixel_size == pytest.approx(explorer.detail.frame.pixel_size, rel=1e-9)   # the data's 12.6 m
    assert explorer.grid.pixel_size / grid.pixel_size == pytest.approx(4.05, abs=0.05)
    (south, west), (north, east) = grid.bounds
    (s0, w0), (n0, e0) = explorer.grid.bounds
    assert s0 - 1e-9 <= south and w0 - 1e-9 <= west                     # clipped to the scene
    assert north < s0 + 0.6 * (n0 - s0) and east < w0 + 0.6 * (e0 - w0)   # the view, 20% of it around
    assert labels_detail.layer.visible and labels_detail.layer.url.startswith("data:image/png;base64,")
    assert tuple(map(tuple, labels_detail.layer.bounds)) == grid.bounds
    assert labels_detail.image.shape == (*grid.shape, 4)
    assert true_detail.layer.visible and true_detail.layer.url.startswith("data:image/webp;base64,")
    assert true_detail.image.shape == (*grid.shape, 4) and (true_detail.image[..., 3] == 255).mean() > 0.95
    assert not false_detail.layer.visible and false_detail.image is None   # its overview is hidden
    explorer.false_layer.visible = True
    assert false_detail.layer.visible and false_detail.layer.url.startswith("data:image/webp;base64,")
    # the detail's ids are the native ones: the colour of every label at its segments, at detail resolution
    first, second = explorer.panel.children[0], explorer.panel.children[1]
    a, b = first.label_id, second.label_id
    seg_a, seg_b = biggest_in_detail(explorer, a), biggest_in_detail(explorer, b)
    assert detail_colour(explorer, seg_a) == (*to_rgb(s.label(a).colour), 255)
    assert detail_colour(explorer, seg_b) == (*to_rgb(s.label(b).colour), 255)

    # edits repaint the detail through the same lookup table as the overview
    first.colour.value = "#123456"
    assert detail_colour(explorer, seg_a) == (0x12, 0x34, 0x56, 255)
    first.select.value = second.select.value = True
    explorer.merge_button.click()
    assert s.label_of(seg_b) == a and detail_colour(explorer, seg_b) == (0x12, 0x34, 0x56, 255)
    explorer.undo_button.click()
    assert detail_colour(explorer, seg_b) == (*to_rgb(s.label(b).colour), 255)
    first.hide.value = True
    assert detail_colour(explorer, seg_a)[3] == 0
    explorer.mode.value = "assign"
    explorer.target.value = b
    lat, lon = explorer.locator.latlon(*np.argwhere(s.segmentation.ids == seg_a).mean(axis=0))
    assert explorer.handle_click(lat, lon)["segment"] == seg_a
    assert detail_colour(explorer, seg_a) == (*to_rgb(s.label(b).colour), 255)
    selection = explorer.details["selection"]              # the clicked segment is outlined in detail too
    border = selection.image[grid.segment_ids == seg_a]
    assert selection.layer.visible and {tuple(v) for v in border[border[:, 3] > 0]} == {(0, 229, 255, 255)}
    assert not selection.image[(grid.segment_ids != seg_a) & (grid.segment_ids > 0)][..., 3].any()

    # a small pan stays inside the detail's margin: nothing is recomputed; a larger one moves it
    set_view(explorer, (0.15, 0.55), (0.12, 0.52), 14)
    assert explorer.detail_grid is grid
    set_view(explorer, (0.5, 0.9), (0.5, 0.9), 14)
    assert explorer.detail_grid is not grid and explorer.detail_grid.bounds[1][1] > grid.bounds[1][1]

    # zoomed out again, or off the scene: every detail is hidden and emptied
    set_view(explorer, (-0.5, 1.5), (-0.5, 1.5), 11)
    assert explorer.detail_grid is None
    assert all(not d.layer.visible and d.layer.url == EMPTY_IMAGE and d.image is None
               for d in explorer.details.values())
    set_view(explorer, (3.0, 3.4), (3.0, 3.4), 14)
    assert explorer.detail_grid is None


def test_no_detail_when_the_overview_is_at_data_resolution(crop_result, tmp_path):
    """The default overview of the 256 px crop is already at the data's resolution: never a detail."""
    session = LabelSession.from_result(crop_result, autosave=tmp_path / "session.sqlite")
    explorer = ClusterExplorer(session, crop_result.scene, detail_delay=0)
    assert explorer.grid.pixel_size == pytest.approx(explorer.detail.frame.pixel_size, rel=1e-9)
    set_view(explorer, (0.4, 0.5), (0.4, 0.5), 18)
    assert explorer.detail_grid is None and not explorer.details["labels"].layer.visible


def test_detail_sees_zoom_and_bounds_together(zoomable, monkeypatch):
    """The front end sends a new zoom and its bounds in one message; the zoom's observer runs first and must
    already see the new bounds (never the new zoom over the old, much larger, view)."""
    seen = []
    update = zoomable.detail.update
    monkeypatch.setattr(zoomable.detail, "update", lambda view: (seen.append(view), update(view))[1])
    set_view(zoomable, (-0.5, 1.5), (-0.5, 1.5), 11)                # zoomed out, then in: zoom and bounds change
    seen.clear()
    set_view(zoomable, (0.1, 0.5), (0.1, 0.5), 14)
    assert len(seen) >= 1 and all(view == seen[-1] for view in seen)
    assert seen[-1].zoom == 14 and zoomable.detail_grid is not None


def test_detail_waits_for_the_map_to_settle(crop_result, tmp_path):
    """In a kernel (a running event loop) map moves are debounced: one detail, for the view the map ends at."""
    import asyncio
    import threading

    async def scenario():
        session = LabelSession.from_result(crop_result)
        explorer = ClusterExplorer(session, crop_result.scene, max_size=64, photo_max_size=64, detail_delay=0.05)
        computed = []
        update = explorer.detail.update
        explorer.detail.update = lambda view: (computed.append(view), update(view))[1]
        for x in (0.1, 0.2, 0.3, 0.4):                      # a drag: four moves 10 ms apart
            set_view(explorer, (x, x + 0.4), (0.1, 0.5), 14)
            await asyncio.sleep(0.01)
        before = explorer.detail_grid
        await asyncio.sleep(0.2)
        return explorer, before, computed

    out = {}   # a thread of its own: Playwright's sync API may be running a loop in this one
    thread = threading.Thread(target=lambda: out.setdefault("result", asyncio.run(scenario())))
    thread.start()
    thread.join(timeout=60)
    explorer, before, computed = out["result"]
    assert before is None and len(computed) == 1
    assert computed[0].west == pytest.approx(explorer.grid.bounds[0][1] + 0.4 * (explorer.grid.bounds[1][1]
                                                                                - explorer.grid.bounds[0][1]))
    assert explorer.detail_grid is not None and explorer.details["labels"].layer.visible


# --- issue 12: no lost work, clear feedback -----------------------------------------------------------

def test_granularity_keeps_names_and_merges_and_shows_label_counts(explorer):
    s = explorer.session
    first, second, third = (row.label_id for row in explorer.panel.children[:3])
    explorer.panel.rows[first].select.value = explorer.panel.rows[second].select.value = True
    assert explorer.merge_name.value == f"cluster {first}"  # the name the merge will take, offered to change
    explorer.merge_name.value = ""
    explorer.merge_button.click()  # merged, keeping "cluster first"
    explorer.panel.rows[third].name.value = "salt marsh"
    kept = {first: s.label(first).name, third: "salt marsh"}
    segments = {lid: set(np.flatnonzero(s.label_of_segment() == lid)) for lid in kept}
    options = s.granularity_options()
    assert [label for label, _ in explorer.granularity.options] == [str(n) for n in options]  # labels, not levels
    for level in (0, len(options) - 1, 1):
        explorer.granularity.value = level
        assert len(s.labels) == options[level] and len(explorer.panel.children) == options[level]
        assert {lid: s.label(lid).name for lid in kept} == kept  # names and merges survive every re-cut
        assert {lid: set(np.flatnonzero(s.label_of_segment() == lid)) for lid in kept} == segments
        assert status(explorer) == f"re-cut to {options[level]} labels (level {level})"
    explorer.undo_button.click()
    assert status(explorer).startswith("undone: re-cut to ")
    assert explorer.granularity.value == s.level  # the slider follows undo
    explorer.reset_cut.click()
    assert s.level is None and explorer.granularity.value == explorer._level_shown()


def test_merge_takes_the_offered_name(explorer):
    s = explorer.session
    a, b = (row.label_id for row in explorer.panel.children[:2])
    explorer.panel.rows[b].name.value = "grass"
    explorer.panel.rows[a].select.value = explorer.panel.rows[b].select.value = True
    assert explorer.merge_name.value == "grass"  # the name the researcher gave, not "cluster a"
    explorer.merge_name.value = "meadow"
    explorer.merge_button.click()
    assert s.label(a).name == "meadow" and status(explorer) == f"merge 'cluster {a}', 'grass' into 'meadow'"
    explorer.undo_button.click()
    assert status(explorer) == f"undone: merge 'cluster {a}', 'grass' into 'meadow'"
    explorer.redo_button.click()
    assert status(explorer) == f"redone: merge 'cluster {a}', 'grass' into 'meadow'"


def test_a_drawn_polygon_is_one_edit_and_its_clicks_assign_nothing(explorer, crop_result):
    from s2label.widget.explorer import SELECT_ONLY

    s = explorer.session
    target = s.labels[0].id
    explorer.mode.value = "polygon"
    assert explorer.draw in explorer.map.controls
    corners = [explorer.locator.latlon(r, c) for r, c in [(0, 0), (0, 60), (60, 60), (60, 0)]]
    ring = [(lon, lat) for lat, lon in [*corners, corners[0]]]
    assert explorer.target.value == SELECT_ONLY and explorer.target_label is None  # the default: select only
    selected = explorer.handle_polygon({"type": "Polygon", "coordinates": [ring]})
    assert s.edits == () and set(explorer.selected_segments) == set(selected) and selected.size > 3
    explorer.target.value = target
    for lat, lon in corners:  # the clicks that place the vertices
        explorer.handle_click(lat, lon)
    assert s.edits == ()
    ids = explorer.handle_polygon({"type": "Polygon", "coordinates": [ring]})
    assert ids.size > 3 and len(s.edits) == 1 and s.edits[0]["how"] == "polygon"
    assert all(s.label_of(int(i)) == target for i in ids)
    explorer.undo_button.click()  # one undo takes the whole polygon back
    assert s.edits == () and not all(s.label_of(int(i)) == target for i in ids)
    explorer.mode.value = "inspect"
    assert explorer.draw not in explorer.map.controls


def test_explorers_on_one_run_stay_in_step(crop_result, tmp_path):
    """Another window's edits appear after this explorer's next edit, a Refresh, or the next poll; none is lost."""
    path = tmp_path / "session.sqlite"
    first = ClusterExplorer(LabelSession.from_result(crop_result, autosave=path), crop_result.scene, poll=None)
    # another process (a second notebook) opens the same run and renames a label
    other = LabelSession.from_result(crop_result, autosave=path, resume=True)
    ids = [lab.id for lab in other.labels]
    other.rename(ids[1], "from elsewhere")
    row = first.panel.children[0]
    row.name.value = "water"  # caught up first, then applied
    assert first.session.label(ids[1]).name == "from elsewhere" and first.session.label(ids[0]).name == "water"
    assert first.panel.children[1].name.value == "from elsewhere"  # shown
    other.rename(ids[2], "later")
    first.refresh_button.click()
    assert status(first) == "brought in 1 edit by " + other.annotator + " from another window"
    assert first.panel.children[2].name.value == "later"
    first.refresh_button.click()
    assert status(first).startswith("up to date")
    polled = ClusterExplorer(LabelSession.from_result(crop_result, autosave=path, resume=True), crop_result.scene,
                             poll=0.05)
    other.rename(ids[3], "polled")
    for _ in range(200):  # the poller brings it in by itself
        if "brought in" in status(polled):  # said once the redraw is done
            break
        threading.Event().wait(0.05)
    assert polled.panel.children[3].name.value == "polled" and "brought in" in status(polled)
    polled.close()
    assert not polled._poller.is_alive() or polled._poller.join(5) is None and not polled._poller.is_alive()
    final = LabelSession.from_result(crop_result, autosave=path, resume=True)
    assert {"water", "from elsewhere", "later", "polled"} <= {lab.name for lab in final.labels}


def test_the_explore_cell_run_again_gives_two_explorers_in_step(crop_result, tmp_path):
    from s2label import explore

    old = explore(crop_result, out=tmp_path)
    new = explore(crop_result, out=tmp_path)  # the cell run again while the first output is still live
    old.panel.children[0].name.value = "water"  # the old output still works, and loses nothing
    new.panel.children[1].name.value = "forest"
    old.refresh_button.click()
    for ex in (old, new):
        assert [r.name.value for r in ex.panel.children[:2]] == ["water", "forest"]
    assert [e["name"] for e in stored_log(tmp_path / "session.sqlite").edits] == ["water", "forest"]


def test_new_labels_get_distinct_saturated_colours(explorer):
    import colorsys

    s = explorer.session
    for k in range(12):
        s.create_label(f"new {k}", [k + 1])
    colours = [lab.colour for lab in s.labels]
    assert len(set(colours)) == len(colours) and UNLABELLED_COLOUR not in colours
    for colour in colours:
        h, sat, v = colorsys.rgb_to_hsv(*(c / 255 for c in to_rgb(colour)))
        assert sat >= 0.45 and v >= 0.45, colour  # never a pale grey that reads as "unlabelled"
        assert not 0.78 <= h <= 0.99, colour  # nor a pink like the unlabelled magenta


def test_threshold_spans_the_scores_with_a_histogram(explorer):
    s = explorer.session
    explorer.mode.value = "similar"
    click_segment(explorer, big_segment_of(explorer, s.labels[0].id))
    scores = np.asarray(explorer.similarity.scores)
    assert explorer.threshold.min == pytest.approx(scores.min())
    assert explorer.threshold.max == pytest.approx(scores.max())
    assert explorer.threshold.step == pytest.approx((scores.max() - scores.min()) / 1000)
    assert explorer.histogram.value.startswith("<svg") and 'class="threshold"' in explorer.histogram.value
    matches = explorer._painted["similarity"].overview_image
    chosen = explorer.similarity.select(explorer.threshold.value)
    inside = np.isin(explorer.grid.segment_ids, chosen)
    assert matches[..., 3].any() and not matches[~inside][..., 3].any()  # outlines of the matches only
    assert (matches[inside][..., 3] == 0).any()  # their insides stay clear
    explorer.clear_button.click()
    assert explorer.similarity is None and explorer.positives == [] and not explorer.similarity_layer.visible
    assert explorer._painted["selection"].lut is None and explorer.histogram.value == ""


def test_export_offers_a_download(explorer, tmp_path):
    import base64

    explorer.export_buttons["GeoJSON"].click()
    link = re.search(r'download="labels.geojson" href="data:application/geo\+json;base64,([^"]+)"',
                     explorer.export_info.value)
    assert link, explorer.export_info.value[:300]
    assert base64.b64decode(link.group(1)) == (tmp_path / "labels.geojson").read_bytes()


def test_keyboard_shortcuts(explorer):
    s = explorer.session
    keys = explorer.shortcuts
    s.rename(s.labels[0].id, "water")
    assert keys.handle({"type": "keydown", "key": "z", "ctrlKey": True}) == "undo" and not s.can_undo
    assert keys.handle({"type": "keydown", "key": "Z", "ctrlKey": True, "shiftKey": True}) == "redo"
    assert s.label(s.labels[0].id).name == "water"
    for key, mode in (("a", "assign"), ("p", "polygon"), ("s", "similar"), ("i", "inspect")):
        keys.handle({"type": "keydown", "key": key})
        assert explorer.mode.value == mode
    keys.handle({"type": "keydown", "key": "?", "shiftKey": True})
    assert explorer.help_button.value and explorer.help.layout.display is None and "Ctrl+Z" in explorer.help.value
    explorer.map.zoom = explorer.map.max_zoom
    keys.handle({"type": "keydown", "key": "0"})
    assert explorer.map.zoom == explorer.home_zoom
    s.assign([1, 2], UNLABELLED)
    keys.handle({"type": "keydown", "key": "n"})
    assert status(explorer).startswith("review segment ")


def test_layout_leaves_the_map_its_room(explorer):
    assert explorer.side.layout.min_width == "300px" and explorer.side.layout.max_width == "480px"
    assert explorer.map_box.layout.flex.startswith("1")
    explorer.panel_button.value = False  # collapse the panel: the map takes the width
    assert explorer.side.layout.display == "none"
    explorer.panel_button.value = True
    assert explorer.side.layout.display is None
    assert all(row.layout.flex == "0 0 auto" and row.layout.min_height == "32px" for row in explorer.panel.children)
    assert explorer.legend.body.layout.max_height == "228px"  # 38 % of the 600 px map: clear of the top controls
    explorer.legend.toggle.value = False
    assert explorer.legend.body.layout.display == "none"



def test_outlines_are_a_small_image_laid_at_their_box(explorer):
    """A click's outline is a PNG of the box around the segment only, at that box's bounds: the same pixels as
    the outline over the whole display grid, in the same places on the map."""
    from s2label.display.overlays import outline_segments

    selection = explorer._painted["selection"]
    sid = big_segment_of(explorer, explorer.session.labels[0].id)
    click_segment(explorer, sid)
    rows, cols = np.nonzero(explorer.grid.segment_ids == sid)
    crop = selection._image
    assert crop.shape[0] <= np.ptp(rows) + 8 and crop.shape[1] <= np.ptp(cols) + 8  # just the box, with its margin
    np.testing.assert_array_equal(selection.overview_image, outline_segments(explorer.grid, selection.lut, width=2))
    (south, west), (north, east) = explorer.selection_layer.bounds
    (s0, w0), (n0, e0) = explorer.grid.bounds
    r0, c0 = selection._origin
    fraction = lambda v, lo, hi: (v - lo) / (hi - lo)  # noqa: E731
    h, w = explorer.grid.shape
    assert fraction(west, w0, e0) == pytest.approx(c0 / w, abs=1e-6)
    assert fraction(east, w0, e0) == pytest.approx((c0 + crop.shape[1]) / w, abs=1e-6)
    # latitudes are not linear in Web-Mercator rows: compare through the locator instead
    lat, lon = explorer.locator.latlon(int(np.argwhere(explorer.session.segmentation.ids == sid)[0][0]),
                                       int(np.argwhere(explorer.session.segmentation.ids == sid)[0][1]))
    assert south <= lat <= north and west <= lon <= east
    explorer.clear_button.click()
    assert selection._image is None and tuple(map(tuple, explorer.selection_layer.bounds)) == explorer.grid.bounds


def test_review_answers_and_propagation_from_the_panel(explorer):
    """Next to review shows the most uncertain segment; Accept makes its label a hand label, the list gives
    another; Propagate (and 'after each answer') spreads the answers; a segment is never shown twice."""
    s = explorer.session
    explorer.review_button.click()
    first = explorer.reviewing
    assert first == int(s.review_queue(1)[0]) and list(explorer.selected_segments) == [first]
    shown = s.label_of(first)
    if shown == UNLABELLED:  # noise: only the list answers it
        explorer.accept_button.click()
        assert "pick its label" in status(explorer)
        explorer.answer.value = s.labels[0].id
        shown = s.labels[0].id
    else:
        explorer.accept_button.click()
    assert s.label_of(first) == shown and s.manual_rows()[first - 1]
    second = explorer.reviewing
    assert second not in (None, first)
    other = next(lab.id for lab in s.labels if lab.id not in (s.label_of(second), s.label_of(first)))
    explorer.auto_propagate.value = True
    explorer.answer.value = other  # another label: a hand label, then a propagation (in the background)
    assert explorer.wait_for_propagation(120)
    assert s.label_of(second) == other and [e["op"] for e in s.edits][-2:] == ["assign", "propagate"]
    assert explorer.answer.value == NO_ANSWER and explorer.reviewing not in (first, second)
    assert (s.provenance() == "predicted").any()
    explorer.undo_button.click()
    assert s.edits[-1]["op"] == "assign"


# --- propagation in the background after each answer -------------------------------------------------

@pytest.fixture
def held_propagation(monkeypatch):
    """Every propagation waits in :func:`propagate_labels` until ``release`` is set; ``entered`` counts arrivals."""
    real = s2label.session.propagate.propagate_labels
    gate = SimpleNamespace(release=threading.Event(), entered=threading.Semaphore(0), calls=0)

    def held(*args, **kwargs):
        gate.calls += 1
        gate.entered.release()
        if not gate.release.wait(120):
            raise RuntimeError("the test never released the propagation")
        return real(*args, **kwargs)

    monkeypatch.setattr(s2label.session.propagate, "propagate_labels", held)
    yield gate
    gate.release.set()


def ops(session):
    return [e["op"] for e in session.edits]


def start_reviewing(explorer):
    """One answer without propagation (a hand label of the first label), then 'after each answer' ticked:
    the next answer, of another label, gives the propagation the two labels it needs."""
    s = explorer.session
    explorer.review_button.click()
    explorer.answer.value = s.labels[0].id
    explorer.auto_propagate.value = True
    return s.labels[0].id, s.labels[1].id


def test_auto_propagation_runs_in_the_background_and_the_map_stays_usable(explorer, held_propagation, tmp_path):
    s = explorer.session
    first, second = start_reviewing(explorer)
    answered = explorer.reviewing
    explorer.answer.value = second  # returns at once: the propagation waits in the worker meanwhile
    assert held_propagation.entered.acquire(timeout=60)
    before = s.label_of_segment().copy()
    assert ops(s) == ["assign", "assign"] and s.label_of(answered) == second
    assert "propagating" in explorer.propagate_busy.value and explorer.propagate_button.disabled
    assert explorer.propagation.busy and not explorer.wait_for_propagation(0.05)
    assert explorer.reviewing not in (None, answered) and status(explorer).startswith("review segment ")
    # the map and the rest of the panel work while it runs
    target = big_segment_of(explorer, s.label_of(1))
    assert click_segment(explorer, target)["segment"] == target and list(explorer.selected_segments) == [target]
    explorer.zoom_to_scene()
    explorer.clear_button.click()
    assert explorer.selected_segments.size == 0 and ops(s) == ["assign", "assign"]
    held_propagation.release.set()
    assert explorer.wait_for_propagation(120)
    assert ops(s) == ["assign", "assign", "propagate"] and held_propagation.calls == 1
    assert s.edits[-1] == {"op": "propagate", "alpha": 0.9, "k": 10, "spatial": 0.5}  # what propagate() writes
    assert explorer.propagate_busy.value == "" and not explorer.propagate_button.disabled
    assert not explorer.propagation.busy
    assert status(explorer).startswith("labels propagated · review segment ")
    # redrawn through the session's observers: the overlay shows the propagated labels
    changed = np.flatnonzero(s.label_of_segment() != before)
    assert changed.size and (s.provenance()[changed] == "predicted").all()
    np.testing.assert_array_equal(explorer._painted["labels"].lut, explorer.segment_lut())
    assert stored_log(tmp_path / "session.sqlite").edits[-1]["op"] == "propagate"  # autosaved
    explorer.undo_button.click()  # one edit, undone like any other
    np.testing.assert_array_equal(s.label_of_segment(), before)


def test_answers_during_a_propagation_are_folded_into_one_more(explorer, held_propagation, crop_result, tmp_path,
                                                              monkeypatch):
    s = explorer.session
    committed = []
    commit = s.commit_prepared
    monkeypatch.setattr(s, "commit_prepared", lambda prepared: committed.append(commit(prepared)) or committed[-1])
    first, second = start_reviewing(explorer)
    explorer.answer.value = second  # a propagation starts and is held
    assert held_propagation.entered.acquire(timeout=60)
    explorer.answer.value = first  # two more answers while it runs
    explorer.answer.value = second
    assert ops(s) == ["assign"] * 4 and "propagating" in explorer.propagate_busy.value
    held_propagation.release.set()
    assert explorer.wait_for_propagation(120)
    # the first result was computed before the last two answers: dropped; one more ran on all of them
    assert committed == [False, True] and held_propagation.calls == 2
    assert ops(s) == ["assign"] * 4 + ["propagate"] and explorer.propagate_busy.value == ""
    # the same labels as a propagation run at once on the same answers, and the same log after a restart
    parts = crop_result.segmentation, crop_result.embeddings, crop_result.clustering
    again = LabelSession.load(tmp_path / "session.sqlite", *parts, autosave=False)
    np.testing.assert_array_equal(again.label_of_segment(), s.label_of_segment())
    again.undo()
    again.propagate()
    assert again.edits == s.edits
    np.testing.assert_array_equal(again.label_of_segment(), s.label_of_segment())
    np.testing.assert_array_equal(again.probabilities(), s.probabilities())


def test_a_propagation_outdated_by_an_undo_is_dropped(explorer, held_propagation):
    s = explorer.session
    first, second = start_reviewing(explorer)
    explorer.answer.value = second
    assert held_propagation.entered.acquire(timeout=60)
    explorer.undo_button.click()  # the answer the propagation was for is undone while it runs
    held_propagation.release.set()
    assert explorer.wait_for_propagation(120)
    assert ops(s) == ["assign"] and held_propagation.calls == 1  # nothing committed, nothing run again
    assert s.can_redo and "changed while propagating" in status(explorer) and explorer.propagate_busy.value == ""
    assert not explorer.propagate_button.disabled


def test_an_error_in_the_background_propagation_is_shown(explorer, monkeypatch):
    s = explorer.session
    explorer.auto_propagate.value = True
    explorer.review_button.click()
    explorer.answer.value = s.labels[0].id  # one label only: nothing to tell apart
    assert explorer.wait_for_propagation(120)
    assert "at least two labels" in status(explorer) and "#b00020" in explorer.status.value
    assert ops(s) == ["assign"] and explorer.propagate_busy.value == "" and not explorer.propagate_button.disabled

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory, say")

    monkeypatch.setattr(s2label.session.propagate, "propagate_labels", broken)
    explorer.answer.value = s.labels[1].id
    assert explorer.wait_for_propagation(120)
    assert status(explorer) == "the propagation failed (RuntimeError: out of memory, say)"
    assert ops(s) == ["assign", "assign"] and not explorer.propagation.busy


def test_a_closed_explorer_commits_no_propagation(explorer, held_propagation, crop_result, tmp_path):
    s = explorer.session
    first, second = start_reviewing(explorer)
    explorer.answer.value = second
    assert held_propagation.entered.acquire(timeout=60)
    explorer.close()
    held_propagation.release.set()
    assert explorer.wait_for_propagation(120)
    assert ops(s) == ["assign", "assign"]
    assert [e["op"] for e in stored_log(tmp_path / "session.sqlite").edits] == ["assign", "assign"]
    explorer.propagation.request()  # a closed explorer starts nothing
    assert not explorer.propagation.busy


def test_background_propagation_runs_once_more_only_for_new_labels(blob_parts, held_propagation):
    """A request while one runs, with no edit meanwhile: one more round, which finds nothing new to commit."""
    from s2label.widget.actions import BackgroundPropagation

    s = LabelSession(*blob_parts)
    s.create_label("near", [30])
    s.create_label("far", [210])
    busy, done = [], []
    worker = BackgroundPropagation(s, on_busy=busy.append, on_done=done.append)
    worker.request()
    assert held_propagation.entered.acquire(timeout=60)
    worker.request()
    worker.request()
    assert busy == [True] and worker.busy
    held_propagation.release.set()
    assert worker.wait(120) and not worker.busy
    assert held_propagation.calls == 2 and [e["op"] for e in s.edits] == ["create", "create", "propagate"]
    assert busy == [True, False] and done == [True]
    worker.close()
    worker.request()
    assert not worker.busy and busy == [True, False]


def test_the_propagate_button_runs_in_the_background(explorer, held_propagation):
    s = explorer.session
    s.rename(s.labels[0].id, "water")
    s.rename(s.labels[1].id, "field")
    explorer.propagate_button.click()
    assert held_propagation.entered.acquire(timeout=30)  # running in the worker, the button returned
    assert "propagating" in explorer.propagate_busy.value and ops(s) == ["rename", "rename"]
    held_propagation.release.set()
    assert explorer.wait_for_propagation(60)
    assert ops(s) == ["rename", "rename", "propagate"] and (s.provenance() == "predicted").any()
