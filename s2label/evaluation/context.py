"""Context consistency: do segments that look alike in the embedding also look alike with their surroundings?

The measure of the paper: for random query segments, the nearest neighbour in the embedding space is compared,
patch against patch around both centroids, by SSIM and spectral angle, against a random segment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from skimage.metrics import structural_similarity
from sklearn.neighbors import NearestNeighbors

from s2label._renamed import renamed_attribute, warn_renamed
from s2label.errors import ClusteringError, SegmentationError
from s2label.io.scene import Scene
from s2label.segmentation.graph import SegmentGraph
from s2label.segmentation.superpixels import Segmentation

__all__ = ["ContextConsistency", "context_consistency"]


@dataclass(frozen=True)
class ContextConsistency:
    """How alike the surroundings of segments retrieved by embedding similarity are.

    Attributes
    ----------
    ssim : float
        Mean SSIM between each query patch and the patches of its retrieved segments.
    spectral_angle : float
        Mean per-pixel spectral angle (radians) between the same patches.
    n_pairs : int
        Query-retrieved pairs compared.
    ssim_random, spectral_angle_random : float
        The same for as many random non-neighbour pairs (chance level).
    n_queries, k, patch : int
        Queries actually sampled, neighbours per query, patch side in pixels.
    """

    ssim: float
    spectral_angle: float
    n_pairs: int
    ssim_random: float
    spectral_angle_random: float
    n_queries: int
    k: int
    patch: int

    window = renamed_attribute("patch", "ContextConsistency.window")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict for reports."""
        return asdict(self)


def _patch_origins(scene: Scene, centroids: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-left (row, col) of each segment's patch, and whether it fits on valid pixels."""
    height, width = scene.shape
    finite = np.isfinite(centroids).all(axis=1)
    centre = np.where(finite[:, None], np.round(np.nan_to_num(centroids)), 0).astype(np.int64)
    origin = centre - patch // 2
    fits = finite & (origin >= 0).all(axis=1) & (origin[:, 0] + patch <= height) & (origin[:, 1] + patch <= width)
    # invalid pixels inside each patch from a summed-area table
    sat = np.zeros((height + 1, width + 1), np.int64)
    sat[1:, 1:] = np.cumsum(np.cumsum(~scene.valid, axis=0), axis=1)
    r0 = np.clip(origin[:, 0], 0, height - patch)
    c0 = np.clip(origin[:, 1], 0, width - patch)
    bad = sat[r0 + patch, c0 + patch] - sat[r0, c0 + patch] - sat[r0 + patch, c0] + sat[r0, c0]
    return origin, fits & (bad == 0)


def _cut_patches(data: np.ndarray, origin: np.ndarray, nodes: np.ndarray, patch: int) -> np.ndarray:
    """(P, C, patch, patch) float64 patches of ``data`` (C, H, W) with top-left corners ``origin[nodes]``."""
    rows = origin[nodes, 0][:, None] + np.arange(patch)
    cols = origin[nodes, 1][:, None] + np.arange(patch)
    return np.moveaxis(data[:, rows[:, :, None], cols[:, None, :]], 0, 1).astype(np.float64)


def _pair_similarity(a: np.ndarray, b: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair SSIM and mean spectral angle (rad) of (P, C, w, w) patches ``a`` and ``b``.

    SSIM is :func:`~skimage.metrics.structural_similarity` (``channel_axis=0``) of each pair, computed in one
    call on the patches laid side by side: its 7 x 7 filter at a patch's pixels that skimage keeps (3 px
    from each edge) reads only that patch, so each pair's mean of the full SSIM map over them is exactly
    the per-pair value, about 100 times faster than one call per pair.
    """
    p, c, w, _ = a.shape
    if p == 0:
        return np.empty(0), np.empty(0)
    strip_a = np.moveaxis(a, 0, 2).reshape(c, w, p * w)
    strip_b = np.moveaxis(b, 0, 2).reshape(c, w, p * w)
    _, full = structural_similarity(strip_a, strip_b, channel_axis=0, data_range=data_range, full=True)
    pad = 3  # (win_size - 1) // 2 for skimage's default win_size 7
    ssim = full.reshape(c, w, p, w)[:, pad:w - pad, :, pad:w - pad].mean(axis=(0, 1, 3))
    dot = (a * b).sum(axis=1)
    norm = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    angle = np.arccos(np.clip(dot / np.maximum(norm, 1e-12), -1.0, 1.0)).mean(axis=(1, 2))
    return ssim, angle


def context_consistency(scene: Scene, segmentation: Segmentation, graph: SegmentGraph, vectors: np.ndarray, *,
                        n_queries: int = 200, k: int = 5, patch: int = 16, seed: int = 0,
                        window: int | None = None) -> ContextConsistency:
    """The paper's context-aware evaluation: do segments close in embedding space have alike surroundings?

    ``n_queries`` query segments are sampled (seeded) among those whose ``patch`` x ``patch`` px patch,
    centred on the segment centroid, lies inside the scene on valid pixels. For each, the ``k`` nearest such
    segments by cosine distance of ``vectors`` that are neither itself nor a graph neighbour are retrieved.
    Each query patch is compared with each retrieved patch by SSIM (``structural_similarity``,
    ``channel_axis=0``, ``data_range`` = 99th minus 1st percentile of valid reflectances over all bands, from
    at most ~1e6 strided valid pixels) and by the spectral angle between corresponding pixels, averaged over
    the patch. As many random non-neighbour pairs (same queries, seeded partners) give the chance level.

    Parameters
    ----------
    scene : Scene
    segmentation : Segmentation
        On the scene's grid, segments 1..N.
    graph : SegmentGraph
        Its adjacency graph (node i = segment i + 1).
    vectors : ndarray, shape (N, D)
        Embedding of each segment.
    n_queries, k, patch, seed : int
        Queries sampled, neighbours retrieved per query, patch side (>= 7 px, SSIM's window), random seed.
    window : int, optional
        The old name of ``patch`` (until s2label 0.3, with a FutureWarning).

    Returns
    -------
    ContextConsistency

    Raises
    ------
    SegmentationError
        If the segmentation, graph or vectors do not fit together or the scene, or ``patch`` < 7.
    ClusteringError
        If vectors hold NaN/inf, or fewer than two segments have a patch on valid pixels.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    n = segmentation.n_segments
    if segmentation.shape != scene.shape:
        raise SegmentationError(f"segmentation {segmentation.shape} does not match the scene {scene.shape}")
    if graph.num_nodes != n or vectors.ndim != 2 or vectors.shape[0] != n:
        raise SegmentationError(f"graph ({graph.num_nodes} nodes) and vectors {vectors.shape} must both "
                                f"cover the {n} segments")
    if window is not None:
        warn_renamed("context_consistency(window=...)", "context_consistency(patch=...)")
        patch = window
    if patch < 7 or k < 1 or n_queries < 1:
        raise SegmentationError(f"need patch >= 7 px, k >= 1, n_queries >= 1; got {patch}, {k}, {n_queries}")
    if not np.isfinite(vectors).all():
        raise ClusteringError("embedding vectors contain NaN or infinity")
    origin, ok = _patch_origins(scene, graph.centroids, patch)
    eligible = np.flatnonzero(ok)
    if eligible.size < 2:
        raise ClusteringError(f"{eligible.size} segment(s) have a {patch}x{patch} px patch on valid pixels; "
                              "need at least 2 (use a smaller patch)")
    rng = np.random.default_rng(seed)
    queries = np.sort(rng.choice(eligible, size=min(n_queries, eligible.size), replace=False))
    degree = graph.degree()
    n_neighbors = int(min(eligible.size, k + 1 + degree[queries].max()))
    nn = NearestNeighbors(n_neighbors=n_neighbors, metric="cosine").fit(vectors[eligible])
    found = eligible[nn.kneighbors(vectors[queries], return_distance=False)]
    retrieved, random_pairs = [], []
    for q, candidates in zip(queries, found, strict=True):
        excluded = np.append(graph.neighbours(int(q)), q)
        hits = candidates[~np.isin(candidates, excluded)][:k]
        retrieved += [(q, h) for h in hits]
        others = eligible[~np.isin(eligible, excluded)]
        if others.size:
            random_pairs += [(q, o) for o in rng.choice(others, size=hits.size)]
    pairs = np.asarray(retrieved, dtype=np.int64).reshape(-1, 2)
    chance = np.asarray(random_pairs, dtype=np.int64).reshape(-1, 2)
    flat = np.flatnonzero(scene.valid.ravel())  # every valid pixel, strided down to ~1e6 on whole tiles
    flat = flat[::max(1, flat.size // 1_000_000)]
    lo, hi = np.percentile(scene.data.reshape(scene.data.shape[0], -1)[:, flat], [1, 99])
    data_range = float(hi - lo) or 1.0
    ssim, angle = _pair_similarity(_cut_patches(scene.data, origin, pairs[:, 0], patch),
                                   _cut_patches(scene.data, origin, pairs[:, 1], patch), data_range)
    ssim_r, angle_r = _pair_similarity(_cut_patches(scene.data, origin, chance[:, 0], patch),
                                       _cut_patches(scene.data, origin, chance[:, 1], patch), data_range)
    return ContextConsistency(ssim=_mean(ssim), spectral_angle=_mean(angle), n_pairs=int(pairs.shape[0]),
                              ssim_random=_mean(ssim_r), spectral_angle_random=_mean(angle_r),
                              n_queries=int(queries.size), k=k, patch=patch)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")
