"""How much memory a run by tiles needs, checked before anything is read."""

from __future__ import annotations

from s2label import _profiling
from s2label.errors import S2LabelError
from s2label.segmentation.grid import TileGrid

__all__ = ["tile_memory", "check_tile_memory", "TILE_BYTES_PER_PIXEL", "SCENE_BYTES_PER_PIXEL"]

#: Working bytes per tile pixel (halo included) of one tile task: bands, SLIC's arrays, and for the CNN
#: its feature map and layer activations (measured: about 1.1 GiB above the baseline for a 2,188 px tile of
#: 4 bands with the default U-Net).
TILE_BYTES_PER_PIXEL = {"cnn": 240, "spectral": 120}


#: Bytes per scene pixel held for the whole scene: segment ids (int32) and their renumbering.
SCENE_BYTES_PER_PIXEL = 12


def tile_memory(grid: TileGrid, n_bands: int, *, cnn: bool, workers: int = 1,
                margin: int = 32) -> int:
    """Estimated peak bytes of a tiled run: ``workers`` tile tasks at once, plus the whole-scene arrays.

    Parameters
    ----------
    grid : TileGrid
        The tiles (their size and halo) over the scene.
    n_bands : int
        Bands read.
    cnn : bool
        Whether the tiles run the U-Net (:data:`TILE_BYTES_PER_PIXEL` ``"cnn"``), else ``"spectral"``.
    workers : int
        Tile tasks at the same time.
    margin : int
        Context counted on every side of a core, at least (the grid's halo when that is larger).

    Returns
    -------
    int
        Bytes.
    """
    side = grid.size + 2 * max(grid.halo, margin)
    per_px = TILE_BYTES_PER_PIXEL["cnn" if cnn else "spectral"] + 4 * n_bands
    return int(max(workers, 1) * side * side * per_px + grid.shape[0] * grid.shape[1] * SCENE_BYTES_PER_PIXEL)


def check_tile_memory(grid: TileGrid, n_bands: int, *, cnn: bool, workers: int = 1, margin: int = 32,
                      available: int | None = None) -> int:
    """Refuse, before anything is read, tiles that would not fit in memory; returns the estimate in bytes.

    Parameters
    ----------
    grid, n_bands, cnn, workers, margin
        As for :func:`tile_memory`.
    available : int, optional
        Bytes of memory available (default: what the system reports); the estimate may take 80 % of it.

    Returns
    -------
    int
        :func:`tile_memory`'s estimate in bytes.

    Raises
    ------
    S2LabelError
        With the estimate, what is available, and what to change.
    """
    need = tile_memory(grid, n_bands, cnn=cnn, workers=workers, margin=margin)
    have = _profiling.available_memory_bytes() if available is None else int(available)
    if need > 0.8 * have:
        raise S2LabelError(f"tiles of {grid.size} px ({max(workers, 1)} at a time) over {grid.shape[1]} x "
                           f"{grid.shape[0]} px need about {need / 2**30:.1f} GiB, and {have / 2**30:.1f} GiB of "
                           "memory is available: use a smaller tile_size (--tile-size) or fewer workers")
    return need
