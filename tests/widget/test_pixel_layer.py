"""Pixel-level labels in the explorer: pixel-exact polygons, the pixel-precise preview and export, on the real
crop (s2label/widget/pixel_layer.py)."""

import base64
import html
import io
import re

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.features import rasterize
from shapely.geometry import mapping

from s2label.display.colours import to_rgb
from s2label.display.images import EMPTY_IMAGE
from s2label.display.locate import polygon_to_scene_crs
from s2label.io.styles import label_codes
from s2label.session.label_session import LabelSession
from s2label.widget import ClusterExplorer
from s2label.widget.pixel_layer import ID_OFFSET


@pytest.fixture
def explorer(crop_result, tmp_path):
    session = LabelSession.from_result(crop_result, autosave=tmp_path / "session.sqlite")
    return ClusterExplorer(session, crop_result.scene, export_dir=tmp_path)


def status(explorer):
    return html.unescape(re.sub(r"<[^>]+>", "", explorer.status.value))


def overview(explorer):
    url = explorer.pixel_labels.layer.url
    if url == EMPTY_IMAGE:
        return None
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))


def ring(explorer, corners):
    points = [explorer.locator.latlon(r, c) for r, c in corners]
    return {"type": "Polygon", "coordinates": [[(lon, lat) for lat, lon in [*points, points[0]]]]}


def test_a_pixel_exact_polygon_sets_the_pixels_inside_and_shows_them(explorer, crop_result):
    s = explorer.session
    target = s.labels[1]
    explorer.mode.value = "polygon"
    assert explorer.pixel_exact.layout.display is None  # offered in polygon mode only
    explorer.pixel_exact.value = True
    explorer.target.value = target.id
    drawn = ring(explorer, [(40, 30), (52, 170), (150, 120), (120, 40)])
    explorer.handle_polygon(drawn)
    assert [e["op"] for e in s.edits] == ["assign_pixels"]
    scene = crop_result.scene
    inside = rasterize([(mapping(polygon_to_scene_crs(drawn, scene.crs)), 1)], out_shape=scene.shape,
                       transform=scene.transform, fill=0).astype(bool) & scene.valid
    raster = s.label_raster()
    assert (raster[inside] == target.id).all() and int(inside.sum()) > 5000
    segment_labels = s.segmentation.to_raster(s.label_of_segment().astype(np.int32), fill=-2)
    np.testing.assert_array_equal(raster[~inside], segment_labels[~inside])
    image = overview(explorer)
    assert image is not None
    shown = explorer.pixel_labels.ids.ids  # what the layer reprojects: the polygon's pixels only
    assert set(np.unique(shown).tolist()) == {0, target.id + ID_OFFSET}
    drawn_px = image[..., 3] > 0
    assert abs(drawn_px.mean() - inside.mean()) < 0.01  # the polygon's share of the display
    colours, counts = np.unique(image[drawn_px][:, :3], axis=0, return_counts=True)
    assert {tuple(v) for v in colours.tolist()} == {to_rgb(target.colour), (255, 255, 255)}  # fill, white edge
    assert counts[[tuple(v) for v in colours.tolist()].index((255, 255, 255))] < 0.2 * counts.sum()
    explorer.undo_button.click()
    assert overview(explorer) is None and s.position == 0 and s.can_redo


def test_a_pixel_exact_polygon_needs_a_target_and_a_valid_polygon(explorer):
    s = explorer.session
    explorer.mode.value = "polygon"
    explorer.pixel_exact.value = True
    explorer.handle_polygon(ring(explorer, [(40, 30), (52, 170), (150, 120)]))
    assert s.edits == () and "choose a target label" in status(explorer)
    explorer.target.value = s.labels[0].id
    explorer.handle_polygon(ring(explorer, [(10, 10), (100, 100), (10, 100), (100, 10)]))  # a bow tie
    assert s.edits == () and "not valid" in status(explorer)
    explorer.mode.value = "inspect"
    assert explorer.pixel_exact.layout.display == "none"


def test_pixel_precise_preview_and_export(explorer, tmp_path):
    s = explorer.session
    s.rename(s.labels[0].id, "water")
    assert overview(explorer) is None
    explorer.pixel_preview.value = True
    image = overview(explorer)
    assert image is not None and "pixel-precise preview" in status(explorer)
    colours = {to_rgb(lab.colour) for lab in s.labels}
    drawn = image[..., 3] > 0
    assert drawn.mean() > 0.5 and {tuple(v) for v in image[drawn][:, :3].tolist()} <= colours | {
        to_rgb(explorer.pixel_labels.unlabelled)}
    by_pixel = s.label_raster(precision="pixel", progress=False)
    np.testing.assert_array_equal(explorer.pixel_labels.ids.ids, by_pixel + ID_OFFSET * (by_pixel != -2))
    explorer.export_precision.value = "pixel"
    path = explorer.export("GeoTIFF")
    with rasterio.open(path) as src:
        assert src.tags()["S2LABEL_PRECISION"] == "pixel"
        np.testing.assert_array_equal(src.read(1), label_codes(by_pixel))
    s.rename(s.labels[1].id, "field")  # the preview follows the edits
    assert explorer.pixel_labels._key[1] is s.state
    explorer.pixel_preview.value = False
    assert overview(explorer) is None
