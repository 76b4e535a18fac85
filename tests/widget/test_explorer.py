"""The explorer driven through its handlers in the kernel (no browser), on the real crop."""

import json

import numpy as np
import pytest

from s2label.colours import to_rgb
from s2label.session import UNLABELLED, LabelSession
from s2label.widget import ClusterExplorer


@pytest.fixture
def explorer(crop_result, tmp_path):
    session = LabelSession.from_result(crop_result, autosave=tmp_path / "session.json")
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
    rows = np.flatnonzero(s.segment_labels() == label_id)
    areas = explorer.session.segmentation.areas()
    return int(rows[np.argmax(areas[rows])] + 1)


def click_segment(explorer, segment_id):
    rows, cols = np.nonzero(explorer.session.segmentation.labels == segment_id)
    i = len(rows) // 2
    return explorer.handle_click(*explorer.locator.latlon(rows[i], cols[i]))


def test_builds_without_network(explorer, crop_result):
    m = explorer.map
    names = [layer.name for layer in m.layers]
    assert names[:2] == ["true colour", "false colour (NIR-R-G)"] and "labels" in names
    assert not any(type(layer).__name__ == "TileLayer" for layer in m.layers)  # no basemap, no network
    assert explorer.true_layer.url.startswith("data:image/webp;base64,")
    assert explorer.label_layer.url.startswith("data:image/png;base64,")
    (south, west), (north, east) = explorer.label_layer.bounds
    lat, lon = explorer.locator.latlon(128, 128)
    assert south < lat < north and west < lon < east
    assert set(explorer.legend.legend) == {lab.name for lab in explorer.session.labels}
    assert len(explorer.panel.children) == crop_result.clustering.n_clusters


def test_click_shows_the_segment_under_it(explorer, crop_result):
    seg = crop_result.segmentation
    for row, col in [(10, 10), (128, 200), (250, 40)]:
        info = explorer.handle_click(*explorer.locator.latlon(row, col))
        sid = int(seg.labels[row, col])
        assert info["segment"] == sid
        assert info["label"] == explorer.session.label_of(sid)
        assert f"<b>{sid}</b>" in explorer.info.value
        np.testing.assert_allclose(explorer.spectrum.y, explorer.session.spectra[sid - 1], atol=1e-5)
        assert list(explorer.selected_segments) == [sid] and explorer.selection_layer.url.startswith("data:")
    before = explorer.session.segment_labels().copy()
    assert explorer.handle_click(0.0, 0.0) is None
    assert "outside the scene" in explorer.status.value
    np.testing.assert_array_equal(explorer.session.segment_labels(), before)


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
    assert len(explorer.legend.legend) == n - 1
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
    assert s.label(row0.label_id).name == "water" and "water" in explorer.legend.legend
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
    assert "water" not in explorer.legend.legend
    assert [e["op"] for e in s.edits] == ["rename", "colour", "hide"]
    saved = json.loads(s.autosave_path.read_text())
    assert saved["position"] == 3


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
    labels = crop_result.segmentation.labels
    inside, areas = np.bincount(labels[:40, :40].ravel(), minlength=labels.max() + 1), np.bincount(labels.ravel())
    share = np.divide(inside, areas, out=np.zeros(areas.size), where=areas > 0)
    assert set(np.flatnonzero(share > 0.6).tolist()) <= set(ids.tolist())
    assert not set(np.flatnonzero(share < 0.4).tolist()) & set(ids.tolist())
    assert all(s.label_of(int(i)) == UNLABELLED for i in ids)
    assert "segments → unlabelled" in explorer.status.value
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
    assert set(np.flatnonzero(s.segment_labels() == new.id) + 1) == set(chosen.tolist())
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
    explorer.review_button.click()
    assert explorer.tabs.selected_index == 1
    first = int(s.noise_queue()[0])
    assert f"<b>{first}</b>" in explorer.info.value
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
