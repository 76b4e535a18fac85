"""Encoding a large scene tile by tile: the U-Net's training sample drawn from all over the scene, and band
values and features summed per segment in each tile, then added up across tiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from s2label._tasks import Tasks
from s2label.encoders.spectral import index_bands, normalised_difference
from s2label.errors import SceneTooSmallError, SegmentationError
from s2label.io.scene import Scene
from s2label.io.source import SceneSource
from s2label.segmentation.grid import TileGrid
from s2label.segmentation.superpixels import Segmentation

__all__ = ["training_sample", "PooledTiles", "pool_tiles"]

def training_sample(src: SceneSource, *, n_blocks: int = 16, block: int = 512, gap: int = 16,
                    seed: int = 0) -> Scene:
    """Blocks from all over the scene, side by side with no-data gaps between them, to train the U-Net on.

    Block origins are drawn at random (seeded) from a regular grid of candidate blocks; a block with under half
    of its pixels valid is skipped. The gaps (``gap`` px of no data) keep every training tile inside one block
    (training tiles are at least 90 % valid), so no tile sees a false edge between blocks. A scene of at most
    ``n_blocks`` blocks is used whole.

    Parameters
    ----------
    src : SceneSource
        The scene to draw blocks from.
    n_blocks : int
        At most this many blocks.
    block : int
        Side of a block in pixels (at most the scene's shorter side).
    gap : int
        Pixels of no data between neighbouring blocks.
    seed : int
        Seeds the draw of block origins.

    Returns
    -------
    Scene
        ``source`` names the blocks' origin; its transform is that of the first block (the mosaic has no real
        place on the ground: use it for training and statistics only).

    Raises
    ------
    SceneTooSmallError
        No block of the scene is at least half valid.
    """
    h, w = src.shape
    b = int(min(block, h, w))
    origins = [(r, c) for r in range(0, h - b + 1, b) for c in range(0, w - b + 1, b)]
    if len(origins) <= 1:
        return src.read((0, h, 0, w))
    rng = np.random.default_rng(seed)
    blocks: list[Scene] = []
    for k in rng.permutation(len(origins)):
        r, c = origins[int(k)]
        part = src.read((r, r + b, c, c + b))
        if part.valid.mean() >= 0.5:
            blocks.append(part)
        if len(blocks) == n_blocks:
            break
    if not blocks:
        raise SceneTooSmallError("no block of the scene is half valid: nothing to train on",
                                 path=src.description or None)
    ncol = math.ceil(math.sqrt(len(blocks)))
    nrow = math.ceil(len(blocks) / ncol)
    step = b + gap
    data = np.zeros((len(blocks[0].bands), nrow * step - gap, ncol * step - gap), np.float32)
    valid = np.zeros(data.shape[1:], bool)
    for k, part in enumerate(blocks):
        r, c = divmod(k, ncol)
        data[:, r * step:r * step + b, c * step:c * step + b] = part.data
        valid[r * step:r * step + b, c * step:c * step + b] = part.valid
    return Scene(data, blocks[0].bands, blocks[0].transform, blocks[0].crs, valid,
                 f"{len(blocks)} blocks of {b} px from {src.description}", {"training_sample": True})


@dataclass(frozen=True, eq=False)
class PooledTiles:
    """Per-segment means gathered tile by tile.

    Attributes
    ----------
    bands : ndarray (N, C) float64
        Mean reflectance of each band over each segment.
    features : ndarray (N, F) float32
        Mean CNN features (with their standard deviations after them when pooled with ``std``), or the spectral
        features (band means, standard deviations, NDVI, NDWI) for the spectral encoder.
    feature_names : tuple of str
        For the spectral features; empty for CNN features.
    counts : ndarray (N,) int64
        Pixels of each segment.
    """

    bands: np.ndarray
    features: np.ndarray
    feature_names: tuple[str, ...]
    counts: np.ndarray


def _pool_tile(src: SceneSource, grid: TileGrid, i: int, labels: np.ndarray, cnn: Any, margin: int,
               std: bool, device: str, num_threads: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums over each segment present in tile ``i``'s core: (ids, pixel counts, sums (k, 2C+2 or C+F(2)))."""
    r0, r1, c0, c1 = grid.core(i)
    er0, er1, ec0, ec1 = grid.extended(i, halo=margin if cnn is not None else 0)
    # the U-Net pools by 2 and 4: start on a multiple of 4, as the whole scene's tiles do, so features match
    er0, ec0 = er0 - er0 % 4, ec0 - ec0 % 4
    scene = src.read((er0, er1, ec0, ec1))
    core = (slice(None), slice(r0 - er0, r1 - er0), slice(c0 - ec0, c1 - ec0))
    data = scene.data[core]
    channels = [data]
    if cnn is not None and scene.valid.any():
        fmap = cnn.feature_map(scene, device=device, num_threads=num_threads, balanced=True)[core]
        channels += [fmap, fmap * fmap] if std else [fmap]
    elif cnn is not None:
        width = cnn.config.features * (2 if std else 1)
        channels.append(np.zeros((width,) + data.shape[1:], np.float32))
    else:
        channels.append(data * data)
        channels += [normalised_difference(data[a], data[b])[None] for a, b in index_bands(scene.bands).values()]
    ids, inverse = np.unique(labels.ravel(), return_inverse=True)
    counts = np.bincount(inverse, minlength=ids.size)
    sums = np.empty((ids.size, sum(c.shape[0] for c in channels)), np.float64)
    k = 0
    for block in channels:
        for ch in block:
            sums[:, k] = np.bincount(inverse, weights=ch.ravel().astype(np.float64), minlength=ids.size)
            k += 1
    keep = ids > 0
    return ids[keep], counts[keep], sums[keep]


def pool_tiles(src: SceneSource, grid: TileGrid, segmentation: Segmentation, *, cnn: Any = None,
               std: bool = False, device: str = "auto", num_threads: int | None = None,
               tasks: Tasks | None = None, progress: bool = False) -> PooledTiles:
    """Mean band values and features of every segment, computed tile by tile.

    Parameters
    ----------
    src, grid
        As for :func:`segment_tiles`.
    segmentation : Segmentation
        Of the whole grid.
    cnn : CNNEncoder, optional
        Trained U-Net: its features are computed on each tile with ``cnn.config.margin`` px of context and
        pooled. Without it: the spectral features (band means and standard deviations, NDVI, NDWI).
    std : bool
        Also pool the features' standard deviation (``CNNConfig.pool_std``).
    device, num_threads
        For the U-Net.
    tasks : Tasks, optional
    progress : bool

    Returns
    -------
    PooledTiles
    """
    if segmentation.shape != src.shape:
        raise SegmentationError(f"segmentation {segmentation.shape} is not on the scene's grid {src.shape}")
    tasks = tasks or Tasks()
    src_h, cnn_h = tasks.scatter(src), tasks.scatter(cnn)
    margin = int(cnn.config.margin) if cnn is not None else 0
    args = []
    for i in range(len(grid)):
        r0, r1, c0, c1 = grid.core(i)
        block = segmentation.ids[r0:r1, c0:c1]
        args.append((src_h, grid, i, tasks.scatter(block, broadcast=False), cnn_h,
                     margin, std, device, num_threads))
    handles = tasks.map(_pool_tile, args, name="encode tiles", progress=progress)
    n = segmentation.n_segments
    counts = np.zeros(n + 1, np.int64)
    sums: np.ndarray | None = None
    for ids, cnt, s in tasks.gather(handles, name="encode tiles", progress=progress):
        if sums is None:
            sums = np.zeros((n + 1, s.shape[1]), np.float64)
        counts[ids] += cnt
        sums[ids] += s
    assert sums is not None
    nb = len(src.grid.bands)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums[1:] / counts[1:, None]
    bands = means[:, :nb]
    rest = means[:, nb:]
    names: tuple[str, ...] = ()
    if cnn is None:
        spread = np.sqrt(np.clip(rest[:, :nb] - bands ** 2, 0.0, None))
        features = np.hstack([bands, spread, rest[:, nb:]])
        names = tuple([f"mean_{b}" for b in src.grid.bands] + [f"std_{b}" for b in src.grid.bands]
                      + list(index_bands(src.grid.bands)))
    elif std:
        f = cnn.config.features
        mean = rest[:, :f]
        features = np.hstack([mean, np.sqrt(np.clip(rest[:, f:] - mean ** 2, 0.0, None))])
    else:
        features = rest
    return PooledTiles(bands, features.astype(np.float32), names, counts[1:])
