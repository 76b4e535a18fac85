"""The Web-Mercator display grid, checked against pyproj and Leaflet's placement on known segmentations."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer
from rasterio.warp import calculate_default_transform

from s2label.display.locate import SegmentLocator
from s2label.display.mercator import display_grid
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation
from tests.display._grids import ORIGIN, UTM, display_pixel_of, leaflet_pixel_lonlat, pixel_lonlat, quadrant_labels


def test_display_grid_bounds_are_the_mercator_corners_of_the_grid(utm_quadrants: Segmentation) -> None:
    grid = display_grid(utm_quadrants)
    t = grid.transform
    assert t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0        # north-up
    (south, west), (north, east) = grid.bounds
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (xw, xe), (ys, yn) = to_merc.transform([west, east], [south, north])
    h, w = grid.shape
    np.testing.assert_allclose([xw, yn], [t.c, t.f], atol=1e-3)
    np.testing.assert_allclose([xe, ys], [t.c + w * t.a, t.f + h * t.e], atol=1e-3)
    # the scene's centre is inside, and so is the grid's centre
    lon, lat = pixel_lonlat(utm_quadrants, np.array([29.5]), np.array([29.5]))
    assert south < lat[0] < north and west < lon[0] < east
    assert south < grid.centre[0] < north and west < grid.centre[1] < east
    # bounds are not the scene's lat/lon extent: the rotated grid's corners lie outside the scene
    assert (grid.segment_ids == 0).any()
    assert grid.n_segments == 4 and grid.crs.to_epsg() == 3857
    assert grid.segment_ids.dtype == np.int32 and grid.segment_ids.shape == grid.shape
    assert not grid.segment_ids.flags.writeable


def test_display_ids_agree_with_leaflet_placement_and_click_lookup(utm_quadrants: Segmentation) -> None:
    """Each display pixel, placed where Leaflet stretches it, lies over the segment the grid says."""
    grid = display_grid(utm_quadrants)
    lon, lat = leaflet_pixel_lonlat(grid)
    truth = SegmentLocator(utm_quadrants).locate_many(lat.ravel(), lon.ravel()).reshape(grid.shape)
    agree = truth == grid.segment_ids
    assert agree.mean() > 0.98
    # disagreements only where a display pixel straddles an edge (between segments or the scene border)
    for r, c in zip(*np.nonzero(~agree), strict=True):
        window = truth[max(r - 1, 0): r + 2, max(c - 1, 0): c + 2]
        assert len(np.unique(window)) > 1
    # the quadrant centres land on their own segment
    for (row, col), sid in zip([(15, 15), (15, 45), (45, 15), (45, 45)], [1, 2, 3, 4], strict=True):
        assert grid.segment_ids[display_pixel_of(grid, utm_quadrants, row, col)] == sid


def test_display_grid_on_the_real_crop(real_crop: Scene, crop_segmentation: Segmentation) -> None:
    grid = display_grid(crop_segmentation)
    # no downsampling needed: the grid is calculate_default_transform's, never finer
    _, w, h = calculate_default_transform(real_crop.crs, "EPSG:3857", 256, 256, *real_crop.bounds)
    assert grid.shape == (h, w)
    lon, lat = pixel_lonlat(crop_segmentation, np.array([127.5]), np.array([127.5]))
    (south, west), (north, east) = grid.bounds
    assert south < lat[0] < north and west < lon[0] < east
    assert 36 < grid.centre[0] < 39 and -79 < grid.centre[1] < -75        # Virginia
    assert abs(grid.centre[0] - lat[0]) < 1e-3 and abs(grid.centre[1] - lon[0]) < 1e-3
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
