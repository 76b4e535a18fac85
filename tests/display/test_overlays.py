"""Lookup-table colours painted on the display grid, checked on known segmentations and the real crop."""

from __future__ import annotations

import numpy as np
import pytest

from s2label.display.mercator import display_grid
from s2label.display.overlays import colour_segments, segment_lut
from s2label.errors import SegmentationError
from s2label.segmentation.superpixels import Segmentation
from tests.display._grids import QUADRANT_LUT, display_pixel_of

# --- display grid ------------------------------------------------------------------------------------


# --- lookup-table colours ----------------------------------------------------------------------------

def test_colour_segments_paints_the_lut_rows(utm_quadrants: Segmentation) -> None:
    grid = display_grid(utm_quadrants)
    image = colour_segments(grid, QUADRANT_LUT)
    assert image.shape == grid.shape + (4,) and image.dtype == np.uint8
    for (row, col), sid in zip([(15, 15), (15, 45), (45, 15), (45, 45)], [1, 2, 3, 4], strict=True):
        assert image[display_pixel_of(grid, utm_quadrants, row, col)].tolist() == QUADRANT_LUT[sid].tolist()
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


def test_segment_lut() -> None:
    lut = segment_lut(np.array([[10, 20, 30], [40, 50, 60], [70, 80, 90]]), alpha=150,
                      visible=np.array([True, True, False]))
    assert lut.dtype == np.uint8 and lut.shape == (4, 4)
    assert lut.tolist() == [[0, 0, 0, 0], [10, 20, 30, 150], [40, 50, 60, 150], [70, 80, 90, 0]]
    rgba = segment_lut(np.array([[1, 2, 3, 4]]))
    assert rgba.tolist() == [[0, 0, 0, 0], [1, 2, 3, 4]]

    with pytest.raises(ValueError):
        segment_lut(np.zeros((3, 2), np.uint8))


# --- scene images ------------------------------------------------------------------------------------


# --- clicks ------------------------------------------------------------------------------------------


# --- drawn polygons ----------------------------------------------------------------------------------


