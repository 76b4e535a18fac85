"""Clicks and drawn polygons located on the native segmentation, checked against pyproj and shapely."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from s2label.display.locate import SegmentLocator, segments_in_polygon
from s2label.errors import SegmentationError
from s2label.segmentation.superpixels import Segmentation
from tests.display._grids import ORIGIN, UTM, pixel_lonlat, quadrant_labels


def test_locate_pixel_centres_of_the_quadrants(utm_quadrants: Segmentation) -> None:
    loc = SegmentLocator(utm_quadrants)
    rows = np.array([0, 0, 59, 59, 15, 29, 30, 44])
    cols = np.array([0, 59, 0, 59, 45, 29, 30, 10])
    lon, lat = pixel_lonlat(utm_quadrants, rows, cols)
    for r, c, x, y in zip(rows, cols, lon, lat, strict=True):
        assert loc.pixel(y, x) == (r, c)
        assert loc.locate(y, x) == utm_quadrants.ids[r, c]
    np.testing.assert_array_equal(loc.locate_many(lat, lon), utm_quadrants.ids[rows, cols])
    assert loc.latlon(10, 20) == pytest.approx(tuple(v[0] for v in pixel_lonlat(utm_quadrants, [10], [20])[::-1]))


def test_locate_outside_masked_and_nonsense_points() -> None:
    labels = quadrant_labels()
    labels[40:, 40:] = 0
    seg = Segmentation(labels, ORIGIN, UTM)
    loc = SegmentLocator(seg)
    lon, lat = pixel_lonlat(seg, np.array([50, -1, 60, 30]), np.array([50, 10, 10, -1]))
    assert loc.locate(lat[0], lon[0]) == 0 and loc.pixel(lat[0], lon[0]) == (50, 50)     # masked
    for y, x in zip(lat[1:], lon[1:], strict=True):                                   # just outside
        assert loc.locate(y, x) == 0 and loc.pixel(y, x) is None
    assert loc.locate(51.5, -0.1) == 0 and loc.locate(float("nan"), 15.0) == 0
    assert loc.pixel(95.0, 15.0) is None
    assert loc.locate_many(np.array([lat[0], np.nan]), np.array([lon[0], 15.0])).tolist() == [0, 0]


def test_locate_on_the_real_crop_is_right(crop_segmentation: Segmentation) -> None:
    rng = np.random.default_rng(7)
    rows, cols = rng.integers(0, 256, 500), rng.integers(0, 256, 500)
    lon, lat = pixel_lonlat(crop_segmentation, rows, cols)
    loc = SegmentLocator(crop_segmentation)
    got = [loc.locate(y, x) for y, x in zip(lat, lon, strict=True)]
    np.testing.assert_array_equal(got, crop_segmentation.ids[rows, cols])


def ring_lonlat(seg: Segmentation, corners: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(lon, lat) of (row, col) positions on the grid (pixel corners when integers: no half-pixel shift)."""
    rows, cols = np.array(corners, float).T
    lon, lat = pixel_lonlat(seg, rows - 0.5, cols - 0.5)
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def test_polygon_around_one_quadrant_selects_it(utm_quadrants: Segmentation) -> None:
    inner = ring_lonlat(utm_quadrants, [(2, 32), (2, 58), (28, 58), (28, 32)])        # inside quadrant 2
    assert segments_in_polygon(utm_quadrants, inner).tolist() == [2]
    exact = ring_lonlat(utm_quadrants, [(0, 30), (0, 60), (30, 60), (30, 30)])        # its very edges
    assert segments_in_polygon(utm_quadrants, exact, min_fraction=0.95).tolist() == [2]
    everything = ring_lonlat(utm_quadrants, [(-5, -5), (-5, 65), (65, 65), (65, -5)])
    result = segments_in_polygon(utm_quadrants, everything, min_fraction=1.0)
    assert result.tolist() == [1, 2, 3, 4] and result.dtype == np.int32
    # the same polygon as a closed ring, a GeoJSON geometry, a Feature (DrawControl) and a shapely polygon
    closed = inner + [inner[0]]
    geometry = {"type": "Polygon", "coordinates": [closed]}
    feature = {"type": "Feature", "properties": {"style": {}}, "geometry": geometry}
    for polygon in (closed, geometry, feature, shapely.Polygon(inner)):
        assert segments_in_polygon(utm_quadrants, polygon).tolist() == [2]


def test_min_fraction_and_holes(utm_quadrants: Segmentation) -> None:
    # rows 0-30, cols 30-44: 14/30 of quadrant 2
    part = ring_lonlat(utm_quadrants, [(0, 30), (0, 44), (30, 44), (30, 30)])
    assert segments_in_polygon(utm_quadrants, part, min_fraction=0.46).tolist() == [2]
    assert segments_in_polygon(utm_quadrants, part, min_fraction=0.47).tolist() == []
    assert segments_in_polygon(utm_quadrants, part).tolist() == []
    assert segments_in_polygon(utm_quadrants, part, min_fraction=0.0).tolist() == [2]
    half = ring_lonlat(utm_quadrants, [(0, 30), (0, 45), (30, 45), (30, 30)])        # exactly half
    assert segments_in_polygon(utm_quadrants, half).tolist() == [2]
    outer = ring_lonlat(utm_quadrants, [(0, 0), (0, 60), (60, 60), (60, 0)])
    hole = ring_lonlat(utm_quadrants, [(32, 32), (32, 58), (58, 58), (58, 32)])     # most of quadrant 4
    donut = {"type": "Polygon", "coordinates": [outer, hole]}
    assert segments_in_polygon(utm_quadrants, donut).tolist() == [1, 2, 3]
    multi = {"type": "MultiPolygon", "coordinates": [[part], [hole]]}
    assert segments_in_polygon(utm_quadrants, multi).tolist() == [4]
    assert segments_in_polygon(utm_quadrants, multi, min_fraction=0.4).tolist() == [2, 4]
    with pytest.raises(ValueError, match="min_fraction"):
        segments_in_polygon(utm_quadrants, part, min_fraction=1.5)


def test_polygon_outside_the_scene_is_empty(utm_quadrants: Segmentation) -> None:
    far = [(-3.0, 51.0), (-2.9, 51.0), (-2.9, 51.1)]
    result = segments_in_polygon(utm_quadrants, far)
    assert result.shape == (0,) and result.dtype == np.int32
    beside = ring_lonlat(utm_quadrants, [(0, 61), (0, 70), (30, 70), (30, 61)])       # just east of the scene
    assert segments_in_polygon(utm_quadrants, beside, min_fraction=0).tolist() == []


@pytest.mark.parametrize("polygon, message", [
    ([(15.0, 36.0), (15.1, 36.0)], "3 distinct points"),
    ([(15.0, 36.0), (15.1, 36.0), (15.0, 36.0)], "3 distinct points"),
    ([(15.0, 36.0), (float("nan"), 36.0), (15.1, 36.1)], "NaN"),
    ([(36.0, 15.0), (36.0, 95.0), (36.1, 15.1)], "latitude"),
    ({"type": "Point", "coordinates": [15.0, 36.0]}, "Polygon"),
    ({"type": "Polygon", "coordinates": []}, "exterior"),
    ([15.0, 36.0, 15.1], "pairs"),
    (None, "no polygon"),
])
def test_invalid_polygons_raise(utm_quadrants: Segmentation, polygon: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        segments_in_polygon(utm_quadrants, polygon)  # type: ignore[arg-type]


def test_polygon_on_the_real_crop_matches_a_brute_force_count(crop_segmentation: Segmentation) -> None:
    """Fractions inside, counted independently: every pixel centre tested against the polygon as Leaflet
    draws it (straight edges in Web Mercator)."""
    seg = crop_segmentation
    polygon = ring_lonlat(seg, [(20, 30), (40, 200), (230, 170), (180, 60), (120, 20)])
    selected = set(segments_in_polygon(seg, polygon).tolist())

    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    merc_polygon = shapely.Polygon(np.column_stack(to_merc.transform(*np.array(polygon).T)))
    rows, cols = np.mgrid[0:256, 0:256]
    lon, lat = pixel_lonlat(seg, rows.ravel(), cols.ravel())
    inside = shapely.contains_xy(merc_polygon, *to_merc.transform(lon, lat))
    counts = np.bincount(seg.ids.ravel()[inside], minlength=seg.n_segments + 1)[1:]
    fraction = counts / seg.areas()
    expected = set((np.flatnonzero(fraction >= 0.5) + 1).tolist())
    assert len(expected) > 50
    borderline = set((np.flatnonzero(np.abs(fraction - 0.5) < 0.05) + 1).tolist())
    assert selected - borderline == expected - borderline
    # with precomputed areas: the same answer
    assert set(segments_in_polygon(seg, polygon, areas=seg.areas()).tolist()) == selected
    with pytest.raises(SegmentationError, match="areas"):
        segments_in_polygon(seg, polygon, areas=seg.areas()[:-1])
