"""Map overlays: the Web-Mercator display grid, scene images, lookup-table colours, PNG data URLs, clicks and
drawn polygons, checked against answers computed independently (pyproj, shapely) on known segmentations."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest
import shapely
from affine import Affine
from PIL import Image
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.warp import calculate_default_transform

import s2label
from s2label.display.colours import palette
from s2label.display.overlays import (
    DisplayGrid,
    SegmentLocator,
    cluster_lut,
    colour_segments,
    display_grid,
    false_colour,
    png_bytes,
    png_data_url,
    render_bands,
    segment_lut,
    segments_in_polygon,
    true_colour,
)
from s2label.errors import BandError, SegmentationError
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation

#: UTM 33N, 2.5 degrees west of the zone's central meridian: the UTM grid is rotated ~1.5 degrees
#: against Web Mercator, so the display grid has empty corners and bounds differ from the lat/lon extent.
UTM = CRS.from_epsg(32633)
ORIGIN = Affine(10, 0, 300000, 0, -10, 4000000)
QUADRANT_LUT = np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255],
                         [255, 255, 0, 128]], np.uint8)


def quadrant_labels(size: int = 60) -> np.ndarray:
    """Top-left 1, top-right 2, bottom-left 3, bottom-right 4."""
    half = size // 2
    return np.repeat(np.repeat(np.array([[1, 2], [3, 4]], np.int32), half, axis=0), half, axis=1)


@pytest.fixture
def quadrants() -> Segmentation:
    return Segmentation(quadrant_labels(), ORIGIN, UTM)


@pytest.fixture(scope="module")
def crop_segmentation(real_crop: Scene) -> Segmentation:
    return s2label.segment(real_crop, segment_size=150)


def pixel_lonlat(seg: Segmentation, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of pixel centres, through pyproj directly (independent of the module under test)."""
    x, y = seg.transform * (np.asarray(cols, float) + 0.5, np.asarray(rows, float) + 0.5)
    lon, lat = Transformer.from_crs(seg.crs, "EPSG:4326", always_xy=True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def display_pixel_of(grid: DisplayGrid, seg: Segmentation, row: float, col: float) -> tuple[int, int]:
    """The display pixel holding the centre of a segmentation pixel."""
    x, y = seg.transform * (col + 0.5, row + 0.5)
    mx, my = Transformer.from_crs(seg.crs, "EPSG:3857", always_xy=True).transform(x, y)
    c, r = ~grid.transform * (mx, my)
    return int(r), int(c)


def leaflet_pixel_lonlat(grid: DisplayGrid) -> tuple[np.ndarray, np.ndarray]:
    """Where Leaflet puts each display pixel's centre: a linear stretch in Web Mercator between the bounds."""
    (south, west), (north, east) = grid.bounds
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (x0, x1), (y0, y1) = to_merc.transform([west, east], [north, south])
    h, w = grid.shape
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    mx, my = x0 + cols * (x1 - x0) / w, y0 + rows * (y1 - y0) / h
    lon, lat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True).transform(mx, my)
    return np.asarray(lon), np.asarray(lat)


# --- display grid ------------------------------------------------------------------------------------

def test_display_grid_bounds_are_the_mercator_corners_of_the_grid(quadrants: Segmentation) -> None:
    grid = display_grid(quadrants)
    t = grid.transform
    assert t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0        # north-up
    (south, west), (north, east) = grid.bounds
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (xw, xe), (ys, yn) = to_merc.transform([west, east], [south, north])
    h, w = grid.shape
    np.testing.assert_allclose([xw, yn], [t.c, t.f], atol=1e-3)
    np.testing.assert_allclose([xe, ys], [t.c + w * t.a, t.f + h * t.e], atol=1e-3)
    # the scene's centre is inside, and so is the grid's centre
    lon, lat = pixel_lonlat(quadrants, np.array([29.5]), np.array([29.5]))
    assert south < lat[0] < north and west < lon[0] < east
    assert south < grid.center[0] < north and west < grid.center[1] < east
    # bounds are not the scene's lat/lon extent: the rotated grid's corners lie outside the scene
    assert (grid.segment_ids == 0).any()
    assert grid.n_segments == 4 and grid.crs.to_epsg() == 3857
    assert grid.segment_ids.dtype == np.int32 and grid.segment_ids.shape == grid.shape
    assert not grid.segment_ids.flags.writeable


def test_display_ids_agree_with_leaflet_placement_and_click_lookup(quadrants: Segmentation) -> None:
    """Each display pixel, placed where Leaflet stretches it, lies over the segment the grid says."""
    grid = display_grid(quadrants)
    lon, lat = leaflet_pixel_lonlat(grid)
    truth = SegmentLocator(quadrants).locate_many(lat.ravel(), lon.ravel()).reshape(grid.shape)
    agree = truth == grid.segment_ids
    assert agree.mean() > 0.98
    # disagreements only where a display pixel straddles an edge (between segments or the scene border)
    for r, c in zip(*np.nonzero(~agree), strict=True):
        window = truth[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2]
        assert len(np.unique(window)) > 1
    # the quadrant centres land on their own segment
    for (row, col), sid in zip([(15, 15), (15, 45), (45, 15), (45, 45)], [1, 2, 3, 4], strict=True):
        assert grid.segment_ids[display_pixel_of(grid, quadrants, row, col)] == sid


def test_display_grid_on_the_real_crop(real_crop: Scene, crop_segmentation: Segmentation) -> None:
    grid = display_grid(crop_segmentation)
    # no downsampling needed: the grid is calculate_default_transform's, never finer
    _, w, h = calculate_default_transform(real_crop.crs, "EPSG:3857", 256, 256, *real_crop.bounds)
    assert grid.shape == (h, w)
    lon, lat = pixel_lonlat(crop_segmentation, np.array([127.5]), np.array([127.5]))
    (south, west), (north, east) = grid.bounds
    assert south < lat[0] < north and west < lon[0] < east
    assert 36 < grid.center[0] < 39 and -79 < grid.center[1] < -75        # Virginia
    assert abs(grid.center[0] - lat[0]) < 1e-3 and abs(grid.center[1] - lon[0]) < 1e-3
    # every segment big enough is shown, with about its share of display pixels
    shown = np.bincount(grid.segment_ids.ravel(), minlength=crop_segmentation.n_segments + 1)[1:]
    areas = crop_segmentation.areas()
    big = areas >= 50
    assert (shown[big] > 0).all()
    share = shown[big] / shown.sum() / (areas[big] / areas.sum())
    assert np.median(share) == pytest.approx(1.0, abs=0.1)


def test_downsampling_respects_max_size(crop_segmentation: Segmentation) -> None:
    full = display_grid(crop_segmentation, max_size=10_000)
    small = display_grid(crop_segmentation, max_size=100)
    assert max(small.shape) == 100 and min(small.shape) >= 95
    assert small.pixel_size == pytest.approx(full.pixel_size * max(full.shape) / 100, rel=1e-9)
    # same area covered (to one coarse pixel), same top-left corner
    assert (small.transform.c, small.transform.f) == (full.transform.c, full.transform.f)
    (s1, w1), (n1, e1) = full.bounds
    (s2, w2), (n2, e2) = small.bounds
    coarse_deg = 360 * small.pixel_size / (2 * np.pi * 6378137)
    assert abs(n1 - n2) < 1e-9 and abs(w1 - w2) < 1e-9
    assert 0 <= e2 - e1 < coarse_deg and 0 <= s1 - s2 < coarse_deg
    # the coarse grid is a subsample of the same picture
    lon, lat = leaflet_pixel_lonlat(small)
    truth = SegmentLocator(crop_segmentation).locate_many(lat.ravel(), lon.ravel()).reshape(small.shape)
    assert (truth == small.segment_ids).mean() > 0.9
    with pytest.raises(ValueError, match="max_size"):
        display_grid(crop_segmentation, max_size=0)


def test_display_grid_keeps_masked_pixels_at_zero() -> None:
    labels = quadrant_labels()
    labels[:, :20] = 0                                      # masked strip on the left
    seg = Segmentation(labels, ORIGIN, UTM)
    grid = display_grid(seg)
    assert grid.segment_ids[display_pixel_of(grid, seg, 30, 5)] == 0
    assert grid.segment_ids[display_pixel_of(grid, seg, 10, 25)] == 1


# --- lookup-table colours ----------------------------------------------------------------------------

def test_colour_segments_paints_the_lut_rows(quadrants: Segmentation) -> None:
    grid = display_grid(quadrants)
    image = colour_segments(grid, QUADRANT_LUT)
    assert image.shape == grid.shape + (4,) and image.dtype == np.uint8
    for (row, col), sid in zip([(15, 15), (15, 45), (45, 15), (45, 45)], [1, 2, 3, 4], strict=True):
        assert image[display_pixel_of(grid, quadrants, row, col)].tolist() == QUADRANT_LUT[sid].tolist()
    assert (image[grid.segment_ids == 0] == 0).all()           # outside the scene: transparent
    np.testing.assert_array_equal(image, QUADRANT_LUT[grid.segment_ids])


def test_colour_segments_equals_fancy_indexing_on_the_real_crop(crop_segmentation: Segmentation) -> None:
    grid = display_grid(crop_segmentation)
    lut = np.random.default_rng(1).integers(0, 256, (crop_segmentation.n_segments + 1, 4), dtype=np.uint8)
    np.testing.assert_array_equal(colour_segments(grid, lut), lut[grid.segment_ids])
    np.testing.assert_array_equal(colour_segments(grid, lut.astype(np.int64)), lut[grid.segment_ids])
    with pytest.raises(SegmentationError, match="rows"):
        colour_segments(grid, lut[:-1])
    with pytest.raises(ValueError, match=r"\(N \+ 1, 4\)"):
        colour_segments(grid, lut[:, :3])
    with pytest.raises(ValueError, match="0-255"):
        colour_segments(grid, lut.astype(float) / 255)


def test_segment_and_cluster_luts() -> None:
    lut = segment_lut(np.array([[10, 20, 30], [40, 50, 60], [70, 80, 90]]), alpha=150,
                      visible=np.array([True, True, False]))
    assert lut.dtype == np.uint8 and lut.shape == (4, 4)
    assert lut.tolist() == [[0, 0, 0, 0], [10, 20, 30, 150], [40, 50, 60, 150], [70, 80, 90, 0]]
    rgba = segment_lut(np.array([[1, 2, 3, 4]]))
    assert rgba.tolist() == [[0, 0, 0, 0], [1, 2, 3, 4]]

    labels = np.array([2, 0, -1, 2, 1])
    lut = cluster_lut(labels, alpha=200, noise_colour=(128, 128, 128, 60))
    colours = palette(3)
    assert lut.shape == (6, 4)
    assert lut[0].tolist() == [0, 0, 0, 0]
    assert lut[1].tolist() == colours[2].tolist() + [200] and lut[4].tolist() == lut[1].tolist()
    assert lut[2].tolist() == colours[0].tolist() + [200]
    assert lut[3].tolist() == [128, 128, 128, 60]
    assert lut[5].tolist() == colours[1].tolist() + [200]
    assert cluster_lut(np.array([-1, -1])).tolist() == [[0, 0, 0, 0]] * 3
    with pytest.raises(ValueError, match="K >= 3"):
        cluster_lut(labels, colours=colours[:2])
    with pytest.raises(ValueError):
        segment_lut(np.zeros((3, 2), np.uint8))


def decode_data_url(url: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url[len(prefix):]))))


def test_data_url_round_trips(crop_segmentation: Segmentation, real_crop: Scene) -> None:
    grid = display_grid(crop_segmentation)
    lut = cluster_lut(np.random.default_rng(0).integers(-1, 12, crop_segmentation.n_segments), alpha=180)
    image = colour_segments(grid, lut)
    np.testing.assert_array_equal(decode_data_url(png_data_url(image)), image)
    photo = true_colour(real_crop, grid)
    np.testing.assert_array_equal(decode_data_url(png_data_url(photo, compress_level=6)), photo)
    rgb = photo[..., :3]
    back = decode_data_url(png_data_url(rgb))
    assert back.shape == rgb.shape
    np.testing.assert_array_equal(back, rgb)
    one = np.array([[[1, 2, 3, 4]]], np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(one)))), one)
    with pytest.raises(ValueError, match=r"\(h, w, 4\)"):
        png_data_url(np.zeros((4, 4), np.uint8))


def test_recolour_and_encode_is_fast() -> None:
    """50,000 segments on a 1600 x 1600 display raster: recolour + PNG data URL well under 100 ms."""
    rows, cols = np.mgrid[0:1600, 0:1600]
    labels = ((rows // 8) * 250 + cols * 250 // 1600 + 1).astype(np.int32)      # 200 x 250 blocks
    assert labels.max() == 50_000 and len(np.unique(labels)) == 50_000
    grid = DisplayGrid(Affine(10, 0, 0, 0, -10, 0), (1600, 1600), labels, ((0.0, 0.0), (1.0, 1.0)),
                       (0.5, 0.5), 50_000)
    lut = cluster_lut(np.random.default_rng(0).integers(-1, 40, 50_000), alpha=180)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        url = png_data_url(colour_segments(grid, lut))
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.1
    assert len(url) < 2_000_000


# --- scene images ------------------------------------------------------------------------------------

def test_true_and_false_colour_alpha_follows_the_valid_mask(real_crop: Scene,
                                                            crop_segmentation: Segmentation) -> None:
    grid = display_grid(crop_segmentation)
    for render in (true_colour, false_colour):
        rgba = render(real_crop, grid)
        assert rgba.shape == grid.shape + (4,) and rgba.dtype == np.uint8
        # the whole crop is valid: alpha is 255 exactly over the scene, 0 in the empty corners
        np.testing.assert_array_equal(rgba[..., 3] == 255, grid.segment_ids > 0)
        assert set(np.unique(rgba[..., 3]).tolist()) == {0, 255}
        assert (rgba[grid.segment_ids == 0] == 0).all()
        # a 2-98 percentile stretch: about 2 % of the shown pixels clip at each end, per channel
        shown = rgba[grid.segment_ids > 0][:, :3]
        for k in range(3):
            assert 0.01 < (shown[:, k] == 255).mean() < 0.04
            assert 0.005 < (shown[:, k] == 0).mean() < 0.04
    np.testing.assert_array_equal(false_colour(real_crop, grid), render_bands(real_crop, grid, ["nir", "red", "B3"]))
    np.testing.assert_array_equal(true_colour(real_crop, grid), render_bands(real_crop, grid, ["B04", "B03", "B02"]))


def test_invalid_pixels_are_transparent(real_crop: Scene, crop_segmentation: Segmentation) -> None:
    valid = real_crop.valid.copy()
    valid[:, :100] = False
    data = real_crop.data.copy()
    data[:, ~valid] = 0
    scene = Scene(data, real_crop.bands, real_crop.transform, real_crop.crs, valid)
    grid = display_grid(crop_segmentation)
    rgba = true_colour(scene, grid)
    r, c = display_pixel_of(grid, crop_segmentation, 128, 50)
    assert rgba[r, c, 3] == 0 and rgba[r, c, :3].tolist() == [0, 0, 0]
    r, c = display_pixel_of(grid, crop_segmentation, 128, 200)
    assert rgba[r, c, 3] == 255
    # masked source pixels do not darken their neighbours: next to the mask edge values stay in range
    r, c = display_pixel_of(grid, crop_segmentation, 128, 101)
    full = true_colour(real_crop, grid)
    assert rgba[r, c, 3] == 255 and full[r, c, 3] == 255
    assert (rgba[..., 3] == 255).mean() < (full[..., 3] == 255).mean() * 0.7


def test_render_bands_stretches_between_percentiles(quadrant_scene: Scene) -> None:
    seg = Segmentation(quadrant_labels(), quadrant_scene.transform, quadrant_scene.crs)
    grid = display_grid(seg)
    rgba = render_bands(quadrant_scene, grid, ["B04", "B03", "B02"], percentiles=(0, 100))
    # quadrant B04 values 0.04, 0.15, 0.02, 0.25: lowest -> 0, highest -> 255, others in proportion
    expected_red = {1: round((0.04 - 0.02) / 0.23 * 255), 2: round(0.13 / 0.23 * 255), 3: 0, 4: 255}
    for (row, col), sid in zip([(15, 15), (15, 45), (45, 15), (45, 45)], [1, 2, 3, 4], strict=True):
        pixel = rgba[display_pixel_of(grid, seg, row, col)]
        assert abs(int(pixel[0]) - expected_red[sid]) <= 1
        assert pixel[3] == 255


def test_missing_or_wrong_bands_raise(scene_factory, quadrant_scene: Scene) -> None:
    rgb_only = scene_factory(np.ones((3, 20, 20), np.float32), ["B02", "B03", "B04"])
    grid = display_grid(Segmentation(np.ones((20, 20), np.int32), rgb_only.transform, rgb_only.crs))
    assert true_colour(rgb_only, grid).shape == grid.shape + (4,)
    with pytest.raises(BandError, match="B08"):
        false_colour(rgb_only, grid)
    with pytest.raises(BandError, match="3 bands"):
        render_bands(quadrant_scene, grid, ["B04", "B03"])
    with pytest.raises(BandError, match="unknown band"):
        render_bands(quadrant_scene, grid, ["B04", "B03", "B99"])
    with pytest.raises(ValueError, match="percentiles"):
        true_colour(quadrant_scene, grid, percentiles=(98, 2))


def test_false_colour_falls_back_to_b8a(scene_factory) -> None:
    scene = scene_factory(np.random.default_rng(0).random((3, 20, 20), np.float32), ["B03", "B04", "B8A"])
    grid = display_grid(Segmentation(np.ones((20, 20), np.int32), scene.transform, scene.crs))
    np.testing.assert_array_equal(false_colour(scene, grid), render_bands(scene, grid, ["B8A", "B04", "B03"]))


# --- clicks ------------------------------------------------------------------------------------------

def test_locate_pixel_centres_of_the_quadrants(quadrants: Segmentation) -> None:
    loc = SegmentLocator(quadrants)
    rows = np.array([0, 0, 59, 59, 15, 29, 30, 44])
    cols = np.array([0, 59, 0, 59, 45, 29, 30, 10])
    lon, lat = pixel_lonlat(quadrants, rows, cols)
    for r, c, x, y in zip(rows, cols, lon, lat, strict=True):
        assert loc.pixel(y, x) == (r, c)
        assert loc.locate(y, x) == quadrants.labels[r, c]
    np.testing.assert_array_equal(loc.locate_many(lat, lon), quadrants.labels[rows, cols])
    assert loc.latlon(10, 20) == pytest.approx(tuple(v[0] for v in pixel_lonlat(quadrants, [10], [20])[::-1]))


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


def test_locate_on_the_real_crop_is_right_and_fast(crop_segmentation: Segmentation) -> None:
    rng = np.random.default_rng(7)
    rows, cols = rng.integers(0, 256, 500), rng.integers(0, 256, 500)
    lon, lat = pixel_lonlat(crop_segmentation, rows, cols)
    loc = SegmentLocator(crop_segmentation)
    got = [loc.locate(y, x) for y, x in zip(lat, lon, strict=True)]
    np.testing.assert_array_equal(got, crop_segmentation.labels[rows, cols])
    y, x = float(lat[0]), float(lon[0])
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        loc.locate(y, x)
    assert (time.perf_counter() - start) / n < 1e-4       # well under 1 ms per click


# --- drawn polygons ----------------------------------------------------------------------------------

def ring_lonlat(seg: Segmentation, corners: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(lon, lat) of (row, col) positions on the grid (pixel corners when integers: no half-pixel shift)."""
    rows, cols = np.array(corners, float).T
    lon, lat = pixel_lonlat(seg, rows - 0.5, cols - 0.5)
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def test_polygon_around_one_quadrant_selects_it(quadrants: Segmentation) -> None:
    inner = ring_lonlat(quadrants, [(2, 32), (2, 58), (28, 58), (28, 32)])        # inside quadrant 2
    assert segments_in_polygon(quadrants, inner).tolist() == [2]
    exact = ring_lonlat(quadrants, [(0, 30), (0, 60), (30, 60), (30, 30)])        # its very edges
    assert segments_in_polygon(quadrants, exact, min_fraction=0.95).tolist() == [2]
    everything = ring_lonlat(quadrants, [(-5, -5), (-5, 65), (65, 65), (65, -5)])
    result = segments_in_polygon(quadrants, everything, min_fraction=1.0)
    assert result.tolist() == [1, 2, 3, 4] and result.dtype == np.int32
    # the same polygon as a closed ring, a GeoJSON geometry, a Feature (DrawControl) and a shapely polygon
    closed = inner + [inner[0]]
    geometry = {"type": "Polygon", "coordinates": [closed]}
    feature = {"type": "Feature", "properties": {"style": {}}, "geometry": geometry}
    for polygon in (closed, geometry, feature, shapely.Polygon(inner)):
        assert segments_in_polygon(quadrants, polygon).tolist() == [2]


def test_min_fraction_and_holes(quadrants: Segmentation) -> None:
    # rows 0-30, cols 30-44: 14/30 of quadrant 2
    part = ring_lonlat(quadrants, [(0, 30), (0, 44), (30, 44), (30, 30)])
    assert segments_in_polygon(quadrants, part, min_fraction=0.46).tolist() == [2]
    assert segments_in_polygon(quadrants, part, min_fraction=0.47).tolist() == []
    assert segments_in_polygon(quadrants, part).tolist() == []
    assert segments_in_polygon(quadrants, part, min_fraction=0.0).tolist() == [2]
    half = ring_lonlat(quadrants, [(0, 30), (0, 45), (30, 45), (30, 30)])        # exactly half
    assert segments_in_polygon(quadrants, half).tolist() == [2]
    outer = ring_lonlat(quadrants, [(0, 0), (0, 60), (60, 60), (60, 0)])
    hole = ring_lonlat(quadrants, [(32, 32), (32, 58), (58, 58), (58, 32)])     # most of quadrant 4
    donut = {"type": "Polygon", "coordinates": [outer, hole]}
    assert segments_in_polygon(quadrants, donut).tolist() == [1, 2, 3]
    multi = {"type": "MultiPolygon", "coordinates": [[part], [hole]]}
    assert segments_in_polygon(quadrants, multi).tolist() == [4]
    assert segments_in_polygon(quadrants, multi, min_fraction=0.4).tolist() == [2, 4]
    with pytest.raises(ValueError, match="min_fraction"):
        segments_in_polygon(quadrants, part, min_fraction=1.5)


def test_polygon_outside_the_scene_is_empty(quadrants: Segmentation) -> None:
    far = [(-3.0, 51.0), (-2.9, 51.0), (-2.9, 51.1)]
    result = segments_in_polygon(quadrants, far)
    assert result.shape == (0,) and result.dtype == np.int32
    beside = ring_lonlat(quadrants, [(0, 61), (0, 70), (30, 70), (30, 61)])       # just east of the scene
    assert segments_in_polygon(quadrants, beside, min_fraction=0).tolist() == []


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
def test_invalid_polygons_raise(quadrants: Segmentation, polygon: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        segments_in_polygon(quadrants, polygon)  # type: ignore[arg-type]


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
    counts = np.bincount(seg.labels.ravel()[inside], minlength=seg.n_segments + 1)[1:]
    fraction = counts / seg.areas()
    expected = set((np.flatnonzero(fraction >= 0.5) + 1).tolist())
    assert len(expected) > 50
    borderline = set((np.flatnonzero(np.abs(fraction - 0.5) < 0.05) + 1).tolist())
    assert selected - borderline == expected - borderline
    # with precomputed areas: the same answer
    assert set(segments_in_polygon(seg, polygon, areas=seg.areas()).tolist()) == selected
    with pytest.raises(SegmentationError, match="areas"):
        segments_in_polygon(seg, polygon, areas=seg.areas()[:-1])
