"""Scene images on the display grid: stretch, no-data transparency, band checks."""

from __future__ import annotations

import numpy as np
import pytest

from s2label.display.imagery import render_bands
from s2label.display.mercator import display_grid
from s2label.errors import BandError
from s2label.io.bands import false_colour_bands
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation
from tests.display._grids import TRUE_COLOUR, display_pixel_of, quadrant_labels


def test_true_and_false_colour_alpha_follows_the_valid_mask(real_crop: Scene,
                                                            crop_segmentation: Segmentation) -> None:
    grid = display_grid(crop_segmentation)
    for bands in (TRUE_COLOUR, false_colour_bands(real_crop.bands)):
        rgba = render_bands(real_crop, grid, bands)
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
    np.testing.assert_array_equal(render_bands(real_crop, grid, ["B08", "B04", "B03"]),
                                  render_bands(real_crop, grid, ["nir", "red", "B3"]))  # band aliases


def test_invalid_pixels_are_transparent(real_crop: Scene, crop_segmentation: Segmentation) -> None:
    valid = real_crop.valid.copy()
    valid[:, :100] = False
    data = real_crop.data.copy()
    data[:, ~valid] = 0
    scene = Scene(data, real_crop.bands, real_crop.transform, real_crop.crs, valid)
    grid = display_grid(crop_segmentation)
    rgba = render_bands(scene, grid, TRUE_COLOUR)
    r, c = display_pixel_of(grid, crop_segmentation, 128, 50)
    assert rgba[r, c, 3] == 0 and rgba[r, c, :3].tolist() == [0, 0, 0]
    r, c = display_pixel_of(grid, crop_segmentation, 128, 200)
    assert rgba[r, c, 3] == 255
    # masked source pixels do not darken their neighbours: next to the mask edge values stay in range
    r, c = display_pixel_of(grid, crop_segmentation, 128, 101)
    full = render_bands(real_crop, grid, TRUE_COLOUR)
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
    assert render_bands(rgb_only, grid, TRUE_COLOUR).shape == grid.shape + (4,)
    with pytest.raises(BandError, match="B08"):
        render_bands(rgb_only, grid, false_colour_bands(rgb_only.bands))
    with pytest.raises(BandError, match="3 bands"):
        render_bands(quadrant_scene, grid, ["B04", "B03"])
    with pytest.raises(BandError, match="unknown band"):
        render_bands(quadrant_scene, grid, ["B04", "B03", "B99"])
    with pytest.raises(ValueError, match="percentiles"):
        render_bands(quadrant_scene, grid, TRUE_COLOUR, percentiles=(98, 2))
