"""A large scene cut into a grid of square tiles: their cores (a partition of the scene) and their haloes.

Tiled processing (:mod:`s2label.segmentation.stitch`) segments and encodes each tile with ``halo`` pixels of
context on every side, then keeps from each tile only what belongs to its core.

Examples
--------
>>> grid = plan_tiles((5000, 3000), size=2048, halo=64)
>>> len(grid), grid.n_rows, grid.n_cols
(6, 3, 2)
>>> grid.core(3), grid.extended(3)
((2048, 4096, 2048, 3000), (1984, 4160, 1984, 3000))
>>> grid.tile_of([0, 4999], [2047, 2048]).tolist(), grid.neighbours(0)
([0, 5], [1, 2, 3])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from s2label.errors import S2LabelError

__all__ = ["TileGrid", "plan_tiles", "Bounds"]

#: (row_start, row_stop, col_start, col_stop) in scene pixels.
Bounds = tuple[int, int, int, int]


@dataclass(frozen=True)
class TileGrid:
    """Square tiles of ``size`` px over a scene of ``shape`` (the last row and column may be narrower).

    Tile ``i`` sits in grid row ``i // n_cols``, column ``i % n_cols``.

    Attributes
    ----------
    shape : (int, int)
        Scene (H, W) in pixels.
    size : int
        Core side in pixels.
    halo : int
        Context added on every side of a core (clipped at the scene edge).
    """

    shape: tuple[int, int]
    size: int
    halo: int

    @property
    def n_rows(self) -> int:
        return math.ceil(self.shape[0] / self.size)

    @property
    def n_cols(self) -> int:
        return math.ceil(self.shape[1] / self.size)

    def __len__(self) -> int:
        return self.n_rows * self.n_cols

    def __repr__(self) -> str:
        return (f"TileGrid({len(self)} tiles of {self.size} px + {self.halo} px halo over "
                f"{self.shape[0]}x{self.shape[1]} px)")

    def core(self, i: int) -> Bounds:
        """Bounds of tile ``i``'s core: the cores tile the scene without overlap."""
        r, c = divmod(i, self.n_cols)
        h, w = self.shape
        return (r * self.size, min((r + 1) * self.size, h), c * self.size, min((c + 1) * self.size, w))

    def extended(self, i: int, halo: int | None = None) -> Bounds:
        """Bounds of tile ``i``'s core grown by ``halo`` (default: the grid's) on each side, inside the scene."""
        g = self.halo if halo is None else int(halo)
        r0, r1, c0, c1 = self.core(i)
        h, w = self.shape
        return (max(r0 - g, 0), min(r1 + g, h), max(c0 - g, 0), min(c1 + g, w))

    def tile_of(self, rows: np.ndarray | list[int], cols: np.ndarray | list[int]) -> np.ndarray:
        """The tile whose core holds each pixel (row, col); pixels outside the scene are clipped to it."""
        r = np.clip(np.asarray(rows, np.int64), 0, self.shape[0] - 1) // self.size
        c = np.clip(np.asarray(cols, np.int64), 0, self.shape[1] - 1) // self.size
        return r * self.n_cols + c

    def neighbours(self, i: int) -> list[int]:
        """The up to 8 tiles around tile ``i``, in index order."""
        r, c = divmod(i, self.n_cols)
        return [rr * self.n_cols + cc for rr in range(r - 1, r + 2) for cc in range(c - 1, c + 2)
                if (rr, cc) != (r, c) and 0 <= rr < self.n_rows and 0 <= cc < self.n_cols]


def plan_tiles(shape: tuple[int, int], *, size: int = 2048, halo: int = 64) -> TileGrid:
    """Cut a scene of ``shape`` (H, W) into tiles of ``size`` px with ``halo`` px of context.

    Parameters
    ----------
    shape : (int, int)
    size : int
        Core side in pixels; at least 64 and at least the halo, so a tile with its halo overlaps only
        its 8 neighbours.
    halo : int
        Context on each side in pixels (at least 1).

    Returns
    -------
    TileGrid

    Raises
    ------
    S2LabelError
        For a size or halo outside those limits, or an empty shape.
    """
    h, w = (int(shape[0]), int(shape[1]))
    if h < 1 or w < 1:
        raise S2LabelError(f"cannot cut a scene of {h} x {w} px into tiles")
    if halo < 1:
        raise S2LabelError(f"halo must be at least 1 px, got {halo}")
    if size < 64 or size < halo:
        raise S2LabelError(f"tile size must be at least 64 px and at least the halo ({halo} px), got {size}")
    return TileGrid((h, w), int(size), int(halo))
