"""Segment and encode a scene too large to hold whole, tile by tile, as one seamless segmentation.

The scene is cut into a grid of tiles (:func:`s2label.segmentation.grid.plan_tiles`). Each stage reads only the
tile it works on, with a halo of context, so the working memory follows the tile size:

1. **Segment** every tile with its halo (SLIC on bands standardised with statistics shared by all tiles).
   Each segment is *owned* by the tile whose core holds its centroid.
2. **Stitch**: a pixel of tile ``i``'s core takes the segment that covers it in tile ``i`` if ``i`` owns
   it; otherwise the segment of the tile ``j`` that owns it, as tile ``j`` segmented that pixel, if ``j``
   owns that one too. So a segment that crosses a core border is taken whole from the tile that holds its
   centre, where it had context on every side: tile borders leave no seam of cut segments. (Where the two
   tiles disagree, the pixel keeps tile ``i``'s segment.) Connected pieces are then numbered across the
   whole scene (connected components within each core, joined across core borders), so the result is one
   global labelling 1..N, each segment 4-connected.
3. **Encode**: the U-Net (trained beforehand on a sample of blocks from all over the scene) runs on each
   tile with its margin; features and band values are summed per segment in each tile and the sums are
   added up across tiles, so a segment that spans tiles is pooled over all its pixels.

The graph is then built once for the whole scene (:func:`s2label.build_graph`, row chunks), and the GNN,
clustering and export follow as for a scene in memory. Every tile stage is a task of
:class:`s2label._tasks.Tasks`: run in this process, or on any ``dask.distributed`` cluster.

What the whole scene costs in memory: the segment id raster (4 B/px) and per-segment arrays. Everything
else (bands, SLIC's work arrays, the CNN feature map) is held one tile at a time per worker.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from affine import Affine
from scipy.ndimage import find_objects
from scipy.sparse.csgraph import connected_components
from skimage.measure import label as connected_pieces

from s2label._tasks import Tasks
from s2label.errors import SegmentationError
from s2label.io.scene import Scene
from s2label.io.source import SceneSource
from s2label.segmentation.grid import Bounds, TileGrid, plan_tiles
from s2label.segmentation.superpixels import MIN_SEGMENTS, Segmentation, coordinate_sums, segment

__all__ = ["segment_tiles", "seam_boundary_fraction", "seed_step", "plan_segment_tiles",
           "segment_on_grid", "merge_small_segments"]

# --- segmentation ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Segmented:
    """One tile segmented with its halo: local ids, and the tile owning each local segment."""

    bounds: Bounds
    labels: np.ndarray
    owner: np.ndarray


def _segment_tile(src: SceneSource, grid: TileGrid, i: int, params: Mapping[str, Any],
                  stats: tuple[np.ndarray, np.ndarray]) -> _Segmented:
    bounds = grid.extended(i)
    scene = src.read(bounds)
    n_valid = int(scene.valid.sum())
    size = float(params.get("segment_size", 200))
    if n_valid == 0:
        labels = np.zeros(scene.shape, np.int32)
    else:
        opts = {k: v for k, v in params.items() if k != "segment_size"}
        labels = segment_on_grid(scene, (bounds[0], bounds[2]), segment_size=size, stats=stats, **opts).ids
    n_local = int(labels.max())
    counts, row_sum, col_sum = coordinate_sums(labels, n_local)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows, cols = row_sum / counts, col_sum / counts
    owner = grid.tile_of(np.floor(np.nan_to_num(rows) + bounds[0]).astype(np.int64),
                         np.floor(np.nan_to_num(cols) + bounds[2]).astype(np.int64))
    owner[0] = -1
    return _Segmented(bounds, labels, owner)


def seed_step(segment_size: float) -> int:
    """The SLIC seed spacing shared by all tiles for segments of ``segment_size`` px: round(sqrt(size)).

    Tile sizes and haloes are multiples of it (:func:`plan_segment_tiles`), so every tile's seeds lie
    on one grid over the whole scene.

    Parameters
    ----------
    segment_size : float
        Target mean segment size in pixels.

    Returns
    -------
    int
        At least 1.
    """
    return max(1, round(math.sqrt(float(segment_size))))


def segment_on_grid(scene: Scene, origin: tuple[int, int], *, segment_size: float = 200,
                    stats: tuple[np.ndarray, np.ndarray] | None = None, **options: Any) -> Segmentation:
    """:func:`s2label.segment` with SLIC's seeds on the scene-wide grid of multiples of :func:`seed_step`.

    ``origin`` is the (row, col) of the scene's first pixel in the whole scene. Any tile segmented this way
    starts from the same seeds as the whole scene would where they overlap, so neighbouring tiles segment
    their overlap alike; tile borders, at multiples of the step, then pass through seeds rather than along
    the lines between them where SLIC puts its boundaries.

    Parameters
    ----------
    scene : Scene
        The tile (or window) to segment.
    origin : (int, int)
        (row, col) of its first pixel in the whole scene.
    segment_size : float
        Target mean segment size in pixels; sets the seed step and the number of segments.
    stats : (mean, std), optional
        Per-band statistics to standardise with, e.g. the whole scene's
        (:func:`~s2label.segmentation.superpixels.band_stats`); default the tile's own.
    **options
        Other keywords of :func:`s2label.segment` (``compactness``, ``bands``...).

    Returns
    -------
    Segmentation
        On the scene's grid; ``params`` records ``seed_step`` and ``seed_origin``.

    Examples
    --------
    >>> from s2label.io.datasets import sample_scene
    >>> scene = sample_scene(window=((0, 128), (0, 128)), bands=["B02", "B03", "B04", "B08"])
    >>> seg = segment_on_grid(scene, (0, 0), segment_size=196)
    >>> seg.params["seed_step"], seg.shape, 60 < seg.n_segments < 100
    (14, (128, 128), True)
    """
    step = seed_step(segment_size)
    # scikit-image seeds at step // 2 + k step from the top-left: pad so they fall on multiples of step
    top, left = (origin[0] + step // 2) % step, (origin[1] + step // 2) % step
    n_valid = int(scene.valid.sum())
    n = max(MIN_SEGMENTS, round(n_valid / float(segment_size)))
    if top or left:
        data = np.pad(scene.data, ((0, 0), (top, 0), (left, 0)))
        valid = np.pad(scene.valid, ((top, 0), (left, 0)))
        padded = Scene(data, scene.bands, scene.transform * Affine.translation(-left, -top), scene.crs, valid,
                       scene.source, dict(scene.meta))
        seg = segment(padded, n_segments=n, stats=stats, seed_step=step, **options)
        labels = connected_pieces(seg.ids[top:, left:], background=0, connectivity=1).astype(np.int32)
        return Segmentation(labels, scene.transform, scene.crs, dict(seg.params) | {"seed_origin": list(origin)})
    seg = segment(scene, n_segments=n, stats=stats, seed_step=step, **options)
    return Segmentation(seg.ids, scene.transform, scene.crs, dict(seg.params) | {"seed_origin": list(origin)})


def plan_segment_tiles(shape: tuple[int, int], segment_size: float, *, size: int = 2048,
                       halo: int = 64, balanced: bool = True) -> TileGrid:
    """:func:`~s2label.segmentation.grid.plan_tiles` with ``size`` and ``halo`` rounded up to multiples of the
    seed step.

    With ``balanced``, the tiles are as many as ``size`` gives along the scene's longer side, but of equal
    size there (the smallest multiple of the step that covers it): 4,000 px cut at 2,048 px gives two tiles
    of 2,002 px rather than 2,058 + 1,942, so tile tasks take about equal time and none waits on a larger one.

    Parameters
    ----------
    shape : (int, int)
        The scene's (H, W).
    segment_size : float
        Target mean segment size in pixels; sets the seed step (:func:`seed_step`).
    size : int
        Largest core side in pixels (before rounding up to the step).
    halo : int
        Context on each side in pixels (before rounding up to the step).
    balanced : bool
        Make the tiles along the longer side of equal size (above).

    Returns
    -------
    TileGrid

    Raises
    ------
    S2LabelError
        As :func:`~s2label.segmentation.grid.plan_tiles` (e.g. for an empty shape).

    Examples
    --------
    >>> g = plan_segment_tiles((5000, 5000), 200, size=2048, halo=64, balanced=False)
    >>> g.size, g.halo, g.size % 14, g.halo % 14
    (2058, 70, 0, 0)
    >>> plan_segment_tiles((5000, 5000), 200, size=2048, halo=64).size   # 3 tiles a side, not 2,058 x 2 + 884
    1680
    """
    step = seed_step(segment_size)
    size, halo = math.ceil(size / step) * step, math.ceil(halo / step) * step
    if balanced:
        longer = max(int(shape[0]), int(shape[1]), 1)
        even = math.ceil(math.ceil(longer / math.ceil(longer / size)) / step) * step
        size = min(size, max(even, math.ceil(max(64, halo) / step) * step))  # plan_tiles' least size
    return plan_tiles(shape, size=size, halo=halo)


def _view(part: _Segmented, bounds: Bounds) -> tuple[np.ndarray, np.ndarray]:
    """``part``'s local ids over ``bounds`` (0 outside it) and where ``part`` covers ``bounds``."""
    r0, r1, c0, c1 = bounds
    pr0, pr1, pc0, pc1 = part.bounds
    out = np.zeros((r1 - r0, c1 - c0), part.labels.dtype)
    inside = np.zeros(out.shape, bool)
    a0, a1, b0, b1 = max(r0, pr0), min(r1, pr1), max(c0, pc0), min(c1, pc1)
    if a0 < a1 and b0 < b1:
        out[a0 - r0:a1 - r0, b0 - c0:b1 - c0] = part.labels[a0 - pr0:a1 - pr0, b0 - pc0:b1 - pc0]
        inside[a0 - r0:a1 - r0, b0 - c0:b1 - c0] = True
    return out, inside


def _stitch_tile(grid: TileGrid, i: int, offsets: np.ndarray,
                 *parts: _Segmented) -> tuple[np.ndarray, np.ndarray]:
    """Tile ``i``'s core with provisional global ids, cut into connected pieces.

    ``parts`` are the segmented tiles ``[i] + grid.neighbours(i)``, in that order.

    Returns
    -------
    pieces : ndarray (h, w) int32
        Connected pieces 1..k of the core (0 = no data).
    ids : ndarray (k + 1,) int64
        The provisional segment id of each piece (``offsets[j] + local id`` in the tile ``j`` it came from).
    """
    by_tile = dict(zip([i, *grid.neighbours(i)], parts, strict=True))
    r0, r1, c0, c1 = grid.core(i)
    local = _view(by_tile[i], (r0, r1, c0, c1))[0]
    prov = np.zeros(local.shape, np.int64)
    decided = local == 0
    # 1. a segment claimed by the tile holding its centroid; the lowest tile first when two claim
    for k in sorted(by_tile):
        theirs, inside = _view(by_tile[k], (r0, r1, c0, c1))
        take = inside & ~decided & (by_tile[k].owner[theirs] == k)
        prov[take] = offsets[k] + theirs[take]
        decided |= take
    # 2. claimed by none (each tile puts the centroid in the other): the lower of the two tiles decides
    owner = by_tile[i].owner[local]
    pick = np.where(owner >= 0, np.minimum(owner, i), i)
    for k in np.unique(pick[~decided]):
        if int(k) not in by_tile:
            continue
        theirs, inside = _view(by_tile[int(k)], (r0, r1, c0, c1))
        take = inside & ~decided & (pick == k) & (theirs > 0)
        prov[take] = offsets[k] + theirs[take]
        decided |= take
    rest = ~decided
    prov[rest] = offsets[i] + local[rest]
    pieces = connected_pieces(prov, background=0, connectivity=1).astype(np.int32)
    ids = np.zeros(int(pieces.max()) + 1, np.int64)
    ids[pieces.ravel()] = prov.ravel()
    return pieces, ids


def segment_tiles(src: SceneSource, grid: TileGrid, *, params: Mapping[str, Any],
                  stats: tuple[np.ndarray, np.ndarray], tasks: Tasks | None = None,
                  progress: bool = False) -> Segmentation:
    """Segment ``src`` tile by tile and stitch the tiles into one seamless :class:`Segmentation`.

    Parameters
    ----------
    src : SceneSource
    grid : TileGrid
        Over ``src.shape``.
    params : mapping
        :func:`s2label.segment` arguments (``method``, ``segment_size``, ``compactness``...).
    stats : (mean, std)
        Per-band statistics shared by all tiles (:func:`s2label.segmentation.superpixels.band_stats` of a sample).
    tasks : Tasks, optional
        Where the tile tasks run (default: in this process).
    progress : bool

    Returns
    -------
    Segmentation
        Segments 1..N, each 4-connected, numbered tile by tile; ``params["tiles"]`` records the grid.

    Examples
    --------
    >>> from s2label.io.datasets import sample_scene
    >>> from s2label.segmentation.superpixels import band_stats
    >>> from s2label.segmentation.grid import plan_tiles
    >>> from s2label.io.source import open_source
    >>> scene = sample_scene(window=((0, 256), (0, 256)), bands=["B02", "B03", "B04", "B08"])
    >>> seg = segment_tiles(open_source(scene), plan_tiles(scene.shape, size=128, halo=32),
    ...                       params={"segment_size": 200, "compactness": 0.1}, stats=band_stats(scene))
    >>> 250 < seg.n_segments < 400, seg.shape
    (True, (256, 256))
    """
    if grid.shape != src.shape:
        raise SegmentationError(f"tile grid {grid.shape} does not cover the scene {src.shape}")
    tasks = tasks or Tasks()
    src_h = tasks.scatter(src)
    segmented = tasks.map(_segment_tile, [(src_h, grid, i, dict(params), stats) for i in range(len(grid))],
                          name="segment tiles", progress=progress)
    # numbering: tile i's local ids become offsets[i] + id; the offsets need every tile's count
    counts = tasks.gather([tasks.submit(_n_local, s, key=f"s2label-count-{os.urandom(4).hex()}-{k}")
                           for k, s in enumerate(segmented)])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    stitched = tasks.map(_stitch_tile, [(grid, i, offsets, segmented[i], *[segmented[j] for j in grid.neighbours(i)])
                                        for i in range(len(grid))], name="stitch tiles", progress=progress)
    results = tasks.gather(stitched, name="stitch tiles", progress=progress)
    del segmented, stitched
    labels = _join_pieces(grid, results)
    labels = merge_small_segments(labels, max(1, int(float(params.get("segment_size", 200)) // 4)))
    out_params = dict(params) | {"tiles": {"size": grid.size, "halo": grid.halo, "count": len(grid)}}
    return Segmentation(labels, src.grid.transform, src.grid.crs, out_params)


def _n_local(s: _Segmented) -> int:
    return int(s.owner.shape[0] - 1)


def _join_pieces(grid: TileGrid, results: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """One raster of ids 1..N from every core's pieces: pieces with the same provisional id that touch across a
    core border become one segment."""
    h, w = grid.shape
    labels = np.zeros((h, w), np.int32)
    piece_offsets = np.concatenate([[0], np.cumsum([len(ids) - 1 for _, ids in results])]).astype(np.int64)
    ids_all = np.concatenate([[0]] + [ids[1:] for _, ids in results])
    for i, (pieces, _) in enumerate(results):
        r0, r1, c0, c1 = grid.core(i)
        labels[r0:r1, c0:c1] = np.where(pieces > 0, pieces + piece_offsets[i], 0)
    a_list, b_list = [], []
    seams = [(labels[:, c - 1], labels[:, c]) for c in range(grid.size, w, grid.size)]
    seams += [(labels[r - 1, :], labels[r, :]) for r in range(grid.size, h, grid.size)]
    for a, b in seams:
        same = (a > 0) & (b > 0) & (ids_all[a] == ids_all[b])
        a_list.append(a[same])
        b_list.append(b[same])
    n = int(piece_offsets[-1]) + 1
    a_all = np.concatenate(a_list) if a_list else np.zeros(0, np.int32)
    b_all = np.concatenate(b_list) if b_list else np.zeros(0, np.int32)
    joins = sp.coo_matrix((np.ones(a_all.size, np.int8), (a_all, b_all)), shape=(n, n))
    _, component = connected_components(joins, directed=False)
    # components numbered in order of their first piece (piece 0 = no data is its own component)
    order = np.full(component.max() + 1, -1, np.int64)
    first = np.unique(component, return_index=True)
    order[first[0]] = np.argsort(np.argsort(first[1]))
    lut = order[component].astype(np.int32)  # piece 0 has component rank 0
    for r0 in range(0, h, grid.size):  # in place, a band of rows at a time
        labels[r0:r0 + grid.size] = lut[labels[r0:r0 + grid.size]]
    return labels


def merge_small_segments(labels: np.ndarray, min_size: int, *, rounds: int = 3) -> np.ndarray:
    """Give each segment under ``min_size`` px to the neighbour it shares most boundary with; renumber 1..N.

    Stitching leaves slivers where two tiles drew a boundary a pixel apart; this puts them back. A small
    segment with no neighbour (an island of data in no-data) is kept. A small segment goes to a neighbour of
    at least ``min_size`` px when it has one (the longest such border; the lowest id on a tie), else to its
    longest neighbour; repeated up to ``rounds`` times. Only the small segments' bounding boxes are looked
    at, so the cost is a few passes over ``labels`` whatever the number of segments. Works in place on
    ``labels`` (int32, ids 1..N, 0 = no data).

    Parameters
    ----------
    labels : ndarray (H, W) int32
        Segment ids 1..N, 0 = no data; overwritten.
    min_size : int
        Segments of fewer pixels are merged.
    rounds : int
        At most this many passes (a pass may leave merged segments still small).

    Returns
    -------
    ndarray (H, W) int32
        ``labels`` itself; when a segment was merged, its ids are renumbered 1..M without gaps.

    Examples
    --------
    >>> import numpy as np
    >>> merge_small_segments(np.array([[1, 1, 2, 2], [1, 1, 3, 2], [1, 1, 2, 2]], np.int32), 2).tolist()
    [[1, 1, 2, 2], [1, 1, 2, 2], [1, 1, 2, 2]]
    """
    for _ in range(rounds):
        areas = np.bincount(labels.ravel())
        areas[0] = 0
        small = np.flatnonzero((areas > 0) & (areas < min_size))
        if not small.size:
            break
        boxes = find_objects(labels)
        lut = np.arange(areas.size, dtype=np.int64)
        for node in small:
            nbrs, lengths = _borders(labels, boxes[node - 1], int(node))
            if not nbrs.size:
                continue
            big = areas[nbrs] >= min_size
            pool = np.flatnonzero(big) if big.any() else np.arange(nbrs.size)
            lut[node] = nbrs[pool[np.argmax(lengths[pool])]]
        if (lut == np.arange(lut.size)).all():
            break
        # follow chains (a small segment given to another small one) to their end
        for _ in range(8):
            lut = lut[lut]
        present = np.zeros(lut.size, bool)
        present[lut] = True
        present[0] = False
        rank = np.cumsum(present).astype(np.int32)
        final = np.where(present[lut], rank[lut], 0).astype(np.int32)
        for r0 in range(0, labels.shape[0], 1024):
            labels[r0:r0 + 1024] = final[labels[r0:r0 + 1024]]
    return labels


def _borders(labels: np.ndarray, box: tuple[slice, slice], node: int) -> tuple[np.ndarray, np.ndarray]:
    """The segments next to ``node`` (4-neighbourhood; not no-data) and the length of each shared border in
    pixel edges, sorted by id. ``box`` is ``node``'s bounding box (:func:`scipy.ndimage.find_objects`)."""
    r0, r1 = max(box[0].start - 1, 0), box[0].stop + 1
    c0, c1 = max(box[1].start - 1, 0), box[1].stop + 1
    crop = labels[r0:r1, c0:c1]
    mine = crop == node
    across = [np.where(mine[:, :-1], crop[:, 1:], crop[:, :-1])[mine[:, :-1] != mine[:, 1:]],
              np.where(mine[:-1], crop[1:], crop[:-1])[mine[:-1] != mine[1:]]]
    other = np.concatenate(across)
    return np.unique(other[other > 0], return_counts=True)


def seam_boundary_fraction(labels: np.ndarray, grid: TileGrid, step: int) -> tuple[float, float]:
    """How much tile borders show in a segmentation: the share of pixel pairs across core borders that are
    segment boundaries, beside the same share across every other line at a multiple of ``step`` (lines in the
    same place relative to SLIC's seed grid, see :func:`segment_on_grid`).

    A segmentation cut at every tile border gives 1.0 at the borders; a seamless one about the same at the
    borders as elsewhere.

    Parameters
    ----------
    labels : ndarray (H, W) int
        Segment ids, 0 = no data (pairs with a no-data pixel are not counted).
    grid : TileGrid
        The tiles the segmentation was made by; core borders lie at multiples of ``grid.size``.
    step : int
        The seed step (:func:`seed_step`); the lines compared lie at its multiples.

    Returns
    -------
    at_borders, elsewhere : float
    """
    def share(lines: list[int], axis: int) -> tuple[int, int]:
        cut = total = 0
        for k in lines:
            a, b = (labels[:, k - 1], labels[:, k]) if axis == 1 else (labels[k - 1, :], labels[k, :])
            ok = (a > 0) & (b > 0)
            cut += int((a[ok] != b[ok]).sum())
            total += int(ok.sum())
        return cut, total

    h, w = labels.shape
    out = []
    for at_border in (True, False):
        cut = total = 0
        for axis, extent in ((1, w), (0, h)):
            lines = [k for k in range(step, extent, step) if (k % grid.size == 0) == at_border]
            c, t = share(lines, axis)
            cut, total = cut + c, total + t
        out.append(cut / max(total, 1))
    return out[0], out[1]

