"""The tile grid: cores partition the scene, haloes are clipped, pixels find their tile."""

from __future__ import annotations

import numpy as np
import pytest

from s2label.errors import S2LabelError
from s2label.segmentation.grid import plan_tiles


@pytest.mark.parametrize("shape, size", [((1000, 700), 256), ((512, 512), 256), ((64, 300), 64)])
def test_cores_tile_the_scene_exactly_once(shape, size):
    grid = plan_tiles(shape, size=size, halo=16)
    cover = np.zeros(shape, np.int32)
    for i in range(len(grid)):
        r0, r1, c0, c1 = grid.core(i)
        cover[r0:r1, c0:c1] += 1
        assert (r1 - r0) <= size and (c1 - c0) <= size
    assert (cover == 1).all()
    assert len(grid) == -(-shape[0] // size) * -(-shape[1] // size)


def test_extended_tiles_grow_by_the_halo_inside_the_scene():
    grid = plan_tiles((1000, 700), size=256, halo=40)
    assert grid.extended(0) == (0, 296, 0, 296)                      # clipped at the top-left corner
    assert grid.extended(grid.n_cols + 1) == (216, 552, 216, 552)    # interior: 40 px on every side
    assert grid.extended(len(grid) - 1) == (728, 1000, 472, 700)     # the narrower last row and column
    assert grid.extended(0, halo=8) == (0, 264, 0, 264)


def test_every_pixel_finds_the_tile_whose_core_holds_it():
    grid = plan_tiles((1000, 700), size=256, halo=16)
    rows, cols = np.mgrid[0:1000:7, 0:700:5]
    found = grid.tile_of(rows.ravel(), cols.ravel())
    for i in np.unique(found):
        r0, r1, c0, c1 = grid.core(int(i))
        mine = found == i
        assert ((rows.ravel()[mine] >= r0) & (rows.ravel()[mine] < r1)).all()
        assert ((cols.ravel()[mine] >= c0) & (cols.ravel()[mine] < c1)).all()
    assert grid.tile_of([-5, 5000], [-5, 5000]).tolist() == [0, len(grid) - 1]   # clipped to the scene


def test_neighbours_are_the_surrounding_tiles():
    grid = plan_tiles((1000, 700), size=256, halo=16)   # 4 rows x 3 cols
    assert (grid.n_rows, grid.n_cols) == (4, 3)
    assert grid.neighbours(0) == [1, 3, 4]
    assert grid.neighbours(4) == [0, 1, 2, 3, 5, 6, 7, 8]
    assert grid.neighbours(11) == [7, 8, 10]


@pytest.mark.parametrize("kwargs, message", [
    ({"size": 32, "halo": 8}, "at least 64"),
    ({"size": 128, "halo": 200}, "at least the halo"),
    ({"size": 128, "halo": 0}, "halo must be"),
])
def test_bad_sizes_are_refused(kwargs, message):
    with pytest.raises(S2LabelError, match=message):
        plan_tiles((500, 500), **kwargs)
    with pytest.raises(S2LabelError, match="cannot cut"):
        plan_tiles((0, 500), size=128, halo=8)
