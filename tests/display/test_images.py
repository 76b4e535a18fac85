"""PNG data URLs round-trip the images the map shows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from affine import Affine
from PIL import Image

from s2label.display.imagery import render_bands
from s2label.display.images import png_bytes, png_data_url
from s2label.display.mercator import DisplayGrid, display_grid
from s2label.display.overlays import colour_segments
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation
from tests.display._grids import TRUE_COLOUR, cluster_colours, decode_data_url


def test_data_url_round_trips(crop_segmentation: Segmentation, real_crop: Scene) -> None:
    grid = display_grid(crop_segmentation)
    lut = cluster_colours(np.random.default_rng(0).integers(-1, 12, crop_segmentation.n_segments), alpha=180)
    image = colour_segments(grid, lut)
    np.testing.assert_array_equal(decode_data_url(png_data_url(image)), image)
    photo = render_bands(real_crop, grid, TRUE_COLOUR)
    np.testing.assert_array_equal(decode_data_url(png_data_url(photo, compress_level=6)), photo)
    rgb = photo[..., :3]
    back = decode_data_url(png_data_url(rgb))
    assert back.shape == rgb.shape
    np.testing.assert_array_equal(back, rgb)
    one = np.array([[[1, 2, 3, 4]]], np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(one)))), one)
    with pytest.raises(ValueError, match=r"\(h, w, 4\)"):
        png_data_url(np.zeros((4, 4), np.uint8))


def test_recolour_and_encode_50000_segments() -> None:
    """50,000 segments on a 1600 x 1600 display raster: the recoloured PNG is right and small (its time is in
    ``benchmarks/widget.py``)."""
    rows, cols = np.mgrid[0:1600, 0:1600]
    labels = ((rows // 8) * 250 + cols * 250 // 1600 + 1).astype(np.int32)      # 200 x 250 blocks
    assert labels.max() == 50_000 and len(np.unique(labels)) == 50_000
    grid = DisplayGrid(Affine(10, 0, 0, 0, -10, 0), (1600, 1600), labels, ((0.0, 0.0), (1.0, 1.0)),
                       (0.5, 0.5), 50_000)
    lut = cluster_colours(np.random.default_rng(0).integers(-1, 40, 50_000), alpha=180)
    image = colour_segments(grid, lut)
    np.testing.assert_array_equal(image, lut[labels])
    url = png_data_url(image)
    np.testing.assert_array_equal(decode_data_url(url), image)
    assert len(url) < 2_000_000
