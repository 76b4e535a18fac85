"""Pixel-precise labels: the pixel classifier and pixel-exact polygons (s2label/pixel_labels.py)."""

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS
from rasterio.features import rasterize
from shapely.geometry import box, mapping

from s2label.display.locate import pixels_in_polygon
from s2label.errors import SessionError
from s2label.segmentation.export import NODATA
from s2label.segmentation.superpixels import Segmentation
from s2label.session.pixel_labels import refine_pixels

GRID = Affine(10, 0, 500000, 0, -10, 4000000)
UTM = CRS.from_epsg(32633)


@pytest.fixture
def straddling(scene_factory):
    """96 x 96 px: a wavy water/land border (the truth) cut by 16 x 16 px square segments that ignore it."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:96, 0:96]
    truth = (cols > 45 + 9 * np.sin(rows / 7.0)).astype(np.int64)  # 1 = water
    land, water = np.array([0.05, 0.08, 0.06, 0.35]), np.array([0.06, 0.05, 0.03, 0.02])
    data = np.where(truth[None] == 1, water[:, None, None], land[:, None, None]) + rng.normal(0, 0.01, (4, 96, 96))
    scene = scene_factory(data.astype(np.float32), bands=("B02", "B03", "B04", "B08"))
    segments = (rows // 16) * 6 + cols // 16 + 1
    seg = Segmentation(segments.astype(np.int32), scene.transform, scene.crs)
    counts = np.zeros((seg.n_segments, 2))
    np.add.at(counts, (segments.ravel() - 1, truth.ravel()), 1)
    majority = counts.argmax(axis=1)
    return scene, seg, truth, majority


def test_refine_passes_the_segment_ceiling(straddling):
    scene, seg, truth, majority = straddling
    ceiling = float((seg.to_raster(majority) == truth).mean())
    result = refine_pixels(scene, seg, majority, np.ones(majority.size), progress=False)
    assert ceiling < 0.95
    assert float((result.labels == truth).mean()) > 0.995
    assert result.n_changed == int((result.labels != seg.to_raster(majority)).sum()) > 0
    assert result.params["classes"] == [0, 1] and result.params["where"] == "everywhere"
    assert result.probability.shape == truth.shape and float(result.probability.min()) >= 0.5
    again = refine_pixels(scene, seg, majority, np.ones(majority.size), progress=False)
    np.testing.assert_array_equal(again.labels, result.labels)  # seeded: the same map


def test_refine_boundary_changes_only_pixels_near_a_boundary(straddling):
    scene, seg, truth, majority = straddling
    result = refine_pixels(scene, seg, majority, np.ones(majority.size), where="boundary", width=2, progress=False)
    changed = result.labels != seg.to_raster(majority)
    inner = (np.arange(96) % 16 >= 2) & (np.arange(96) % 16 <= 13)  # 2+ px from every segment edge
    assert changed.any() and not changed[np.ix_(inner, inner)].any()


def test_refine_keeps_unlabelled_outside_and_unlearned_labels(straddling):
    scene, seg, truth, majority = straddling
    labels = majority.copy()
    labels[:6] = -1  # the first row of segments unlabelled
    labels[6] = 7  # a label whose only segment is not confident: nothing to learn it from
    confidence = np.ones(labels.size)
    confidence[6] = 0.2
    seg = Segmentation(np.where(np.arange(96)[None, :] < 4, 0, seg.ids).astype(np.int32), seg.transform, seg.crs)
    result = refine_pixels(scene, seg, labels, confidence, progress=False)
    assert (result.labels[:16, 4:] == -1).all()  # unlabelled segments stay unlabelled
    assert (result.labels[:, :4] == NODATA).all()  # outside the segments
    assert (result.labels[seg.ids == 7] == 7).all()  # not learned: kept as it was
    assert result.params["classes"] == [0, 1]


def test_refine_refuses_bad_input(straddling):
    scene, seg, truth, majority = straddling
    ones = np.ones(majority.size)
    with pytest.raises(SessionError, match="at least two labels"):
        refine_pixels(scene, seg, np.zeros(majority.size, int), ones, progress=False)
    with pytest.raises(SessionError, match="at least two labels"):
        refine_pixels(scene, seg, majority, np.full(majority.size, 0.4), progress=False)
    with pytest.raises(SessionError, match="where must be"):
        refine_pixels(scene, seg, majority, ones, where="edges", progress=False)
    with pytest.raises(SessionError, match="one value per segment"):
        refine_pixels(scene, seg, majority[:-1], ones[:-1], progress=False)


# --- pixel-exact polygons -----------------------------------------------------------------------------

@pytest.fixture
def grid_seg():
    labels = np.arange(1, 41, dtype=np.int32).repeat(5).reshape(10, 20)  # 40 segments of 5 px
    labels[:, 18:] = 0  # outside the segments
    return Segmentation(labels, GRID, UTM)


def test_pixels_in_polygon_match_rasterize(grid_seg):
    triangle = {"type": "Polygon", "coordinates": [[(500012, 3999990), (500151, 3999965), (500040, 3999905),
                                                   (500012, 3999990)]]}
    expected = rasterize([(triangle, 1)], out_shape=(10, 20), transform=GRID, fill=0).astype(bool)
    got = pixels_in_polygon(grid_seg, None, triangle)
    np.testing.assert_array_equal(got, np.flatnonzero(expected & (grid_seg.ids > 0)))
    holed = mapping(box(500000, 3999900, 500200, 4000000).difference(box(500050, 3999950, 500100, 3999970)))
    expected = rasterize([(holed, 1)], out_shape=(10, 20), transform=GRID, fill=0).astype(bool)
    np.testing.assert_array_equal(pixels_in_polygon(grid_seg, None, holed),
                                  np.flatnonzero(expected & (grid_seg.ids > 0)))


def test_pixels_in_polygon_skips_no_data(grid_seg):
    valid = np.ones((10, 20), bool)
    valid[:, :5] = False
    got = pixels_in_polygon(grid_seg, valid, mapping(box(500000, 3999900, 500100, 4000000)))
    assert set(got % 20) == set(range(5, 10))


@pytest.mark.parametrize("geometry, message", [
    (mapping(box(600000, 3999900, 600100, 4000000)), "outside the scene"),
    ({"type": "Polygon", "coordinates": [[(500000, 4000000), (500100, 3999900), (500100, 4000000),
                                          (500000, 3999900), (500000, 4000000)]]}, "not valid .*Self-intersection"),
    (mapping(box(500185, 3999900, 500200, 4000000)), "covers no pixel"),  # outside the segments only
    (mapping(box(500001, 3999999, 500002, 3999998)), "covers no pixel"),  # between pixel centres
    ({"type": "Point", "coordinates": (500000, 4000000)}, "Polygon or MultiPolygon"),
    ({"type": "Polygon", "coordinates": [[(500000, float("inf")), (1, 2), (3, 4), (500000, float("inf"))]]},
     "non-finite"),
])
def test_pixels_in_polygon_refuses_bad_polygons(grid_seg, geometry, message):
    with pytest.raises(SessionError, match=message):
        pixels_in_polygon(grid_seg, None, geometry)
