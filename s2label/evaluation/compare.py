"""Run s2label and the baselines side by side on one scene and score them with :mod:`s2label.evaluation.measures`.

Methods (all on the same SLIC segmentation except pixel k-means):

- ``pixel-kmeans``: k-means on standardised pixel spectra, k = K;
- ``mean-spectra-kmeans``: SLIC + per-segment mean spectra + k-means, k = K;
- ``spectral``: SLIC + spectral features (means, standard deviations, NDVI, NDWI) + s2label's clustering;
- ``cnn``: SLIC + pooled U-Net activations + s2label's clustering;
- ``cnn-gnn``: the same plus the graph neural network (s2label's default).

K is the number of clusters ``cnn-gnn`` finds, so methods are compared at the same number of clusters.
Rotation stability applies each method's fitted model to the scene rotated by 90° and compares the result,
rotated back, with the original (ARI); ``rotation_ari_retrain`` instead retrains on the rotated scene.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from s2label.clustering.clusterer import (
    Clustering,
    SegmentClusterer,
    assign_noise_to_nearest,
    cluster,
    predict_clustering,
)
from s2label.encoders.encoder import CNNConfig, GNNConfig, SegmentEncoder, fit_embed
from s2label.encoders.spectral import spectral_features
from s2label.evaluation.baselines import pixel_kmeans
from s2label.evaluation.context import context_consistency
from s2label.evaluation.measures import (
    fragmentation,
    named_cluster_accuracy,
    rotate_scene,
    rotation_stability,
)
from s2label.io.scene import Scene
from s2label.segmentation.export import label_raster
from s2label.segmentation.graph import SegmentGraph, build_graph
from s2label.segmentation.superpixels import Segmentation, segment

__all__ = ["MethodScores", "compare_methods", "to_markdown", "METHODS"]

METHODS: tuple[str, ...] = ("pixel-kmeans", "mean-spectra-kmeans", "spectral", "cnn", "cnn-gnn")
_NAN = float("nan")


@dataclass(frozen=True)
class MethodScores:
    """One method's figures; NaN where a measure does not apply (e.g. no reference data).

    Attributes
    ----------
    method : str
    n_clusters : int
    noise_fraction : float
        Share of segments (pixels for pixel k-means) that are noise.
    largest_cluster_fraction : float
    accuracy_strict, accuracy_assigned, ari, nmi : float
        Named-cluster accuracy (noise wrong / noise given its nearest cluster) and agreement with the
        reference (see :func:`s2label.evaluation.measures.named_cluster_accuracy`).
    ssim, spectral_angle, ssim_random, spectral_angle_random : float
        Context consistency (see :func:`s2label.evaluation.measures.context_consistency`).
    fragmentation : float
        Share of segments whose cluster differs from every neighbour's (noise assigned).
    rotation_ari : float
        The fitted model applied to the scene rotated 90°, against the original (ARI, noise assigned).
    rotation_ari_retrain : float
        Retrained on the rotated scene, against the original.
    seconds : float
        Wall time of fitting the method on the scene.
    labels : ndarray (H, W) int, optional
        The method's label map on the scene's grid (-1 noise, -2 no data), for plots; not in :meth:`to_dict`.
    """

    method: str
    n_clusters: int
    noise_fraction: float
    largest_cluster_fraction: float
    accuracy_strict: float = _NAN
    accuracy_assigned: float = _NAN
    ari: float = _NAN
    nmi: float = _NAN
    ssim: float = _NAN
    spectral_angle: float = _NAN
    ssim_random: float = _NAN
    spectral_angle_random: float = _NAN
    fragmentation: float = _NAN
    rotation_ari: float = _NAN
    rotation_ari_retrain: float = _NAN
    seconds: float = _NAN
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The figures (without the label map)."""
        return {k: v for k, v in asdict(self).items() if k != "labels"}


@dataclass
class _Fitted:
    """What one segment method produced on the scene, and how to apply it to another."""

    labels: np.ndarray  # (N,) raw, -1 noise
    assigned: np.ndarray  # (N,) noise given nearest cluster
    vectors: np.ndarray
    seconds: float
    encoder: SegmentEncoder | None = None
    clusterer: SegmentClusterer | None = None
    kmeans: tuple[StandardScaler, KMeans] | None = None


def _mean_spectra(scene: Scene, seg: Segmentation) -> np.ndarray:
    return spectral_features(scene, seg, std=False, indices=False).vectors


def _fit_kmeans(vectors: np.ndarray, k: int, seed: int) -> tuple[StandardScaler, KMeans, np.ndarray]:
    scaler = StandardScaler().fit(vectors)
    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(scaler.transform(vectors))
    return scaler, model, model.labels_.astype(np.int32)


def compare_methods(
    scene: Scene,
    *,
    reference: np.ndarray | None = None,
    methods: Sequence[str] = METHODS,
    segment_size: int = 200,
    compactness: float = 0.1,
    seed: int = 0,
    rotation: bool = True,
    retrain_rotation: bool = True,
    cnn: CNNConfig | None = None,
    gnn: GNNConfig | None = None,
    cluster_options: dict[str, Any] | None = None,
    context_queries: int = 200,
    progress: bool = False,
) -> list[MethodScores]:
    """Fit every method on ``scene`` and measure it.

    Parameters
    ----------
    scene : Scene
    reference : ndarray (H, W) int, optional
        Reference classes on the scene's grid (0 = none), e.g. from :func:`s2label.evaluation.measures.load_reference`;
        without it the accuracy columns are NaN.
    methods : sequence of str
        A subset of :data:`METHODS`; ``cnn-gnn`` is always run (it sets K).
    segment_size, compactness : segmentation settings shared by the segment methods.
    seed : int
    rotation, retrain_rotation : bool
        Measure rotation stability by applying the fitted model / by retraining.
    cnn, gnn : encoder hyper-parameters.
    cluster_options : dict, optional
        Keyword arguments of :func:`s2label.clustering.clusterer.cluster`.
    context_queries : int
        Query segments of the context-consistency measure.
    progress : bool

    Returns
    -------
    list of MethodScores
        In the order of :data:`METHODS`.
    """
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
    copts = dict(cluster_options or {}) | {"random_state": seed}
    seg_kw: dict[str, Any] = {"segment_size": segment_size, "compactness": compactness}
    seg = segment(scene, **seg_kw)
    graph = build_graph(seg)
    rot = rotate_scene(scene, 1) if (rotation or retrain_rotation) else None
    rot_seg = segment(rot, **seg_kw) if rot is not None else None
    rot_graph = build_graph(rot_seg) if rot_seg is not None else None
    wanted = [m for m in METHODS if m in set(methods) | {"cnn-gnn"}]
    bar = tqdm(total=len(wanted), desc="compare", disable=not progress)

    def encode_fit(kind: str, scn: Scene, sg: Segmentation, gr: SegmentGraph) -> _Fitted:
        t0 = time.perf_counter()
        enc, emb = fit_embed(scn, sg, gr, encoder=kind, seed=seed, cnn=cnn, gnn=gnn)  # type: ignore[arg-type]
        clus = cluster(emb, **copts)
        assert clus.model is not None
        return _Fitted(clus.cluster, clus.cluster_noise_assigned(), emb.vectors, time.perf_counter() - t0, enc,
                       clus.model)

    fitted: dict[str, _Fitted] = {}
    bar.set_postfix_str("cnn-gnn")
    fitted["cnn-gnn"] = encode_fit("cnn-gnn", scene, seg, graph)
    bar.update()
    k = max(int(fitted["cnn-gnn"].labels.max()) + 1, 2)
    scores: dict[str, MethodScores] = {}
    for method in wanted:
        bar.set_postfix_str(method)
        if method == "pixel-kmeans":
            scores[method] = _score_pixel_kmeans(scene, reference, k, seed, rot, retrain_rotation)
            bar.update()
            continue
        if method == "mean-spectra-kmeans":
            t0 = time.perf_counter()
            vectors = _mean_spectra(scene, seg)
            scaler, km, labels = _fit_kmeans(vectors, k, seed)
            fitted[method] = _Fitted(labels, labels, vectors, time.perf_counter() - t0, kmeans=(scaler, km))
        elif method == "cnn" and "cnn-gnn" in fitted and fitted["cnn-gnn"].encoder is not None:
            # the same trained CNN as cnn-gnn, without the graph stage
            t0 = time.perf_counter()
            enc = SegmentEncoder("cnn", scene.bands, cnn=fitted["cnn-gnn"].encoder.cnn)
            emb = enc.encode(scene, seg, graph)
            clus = cluster(emb, **copts)
            assert clus.model is not None
            fitted[method] = _Fitted(clus.cluster, clus.cluster_noise_assigned(), emb.vectors,
                                     time.perf_counter() - t0 + fitted["cnn-gnn"].encoder.timings.get("train_cnn", 0),
                                     enc, clus.model)
        elif method not in fitted:
            fitted[method] = encode_fit(method, scene, seg, graph)
        scores[method] = _score_segments(method, fitted[method], scene, seg, graph, reference, rot, rot_seg,
                                         rot_graph, retrain_rotation, encode_fit, seed, context_queries)
        bar.update()
    bar.close()
    return [scores[m] for m in wanted if m in set(methods) | {"cnn-gnn"}]


def _accuracy(pred: np.ndarray, assigned: np.ndarray, reference: np.ndarray | None) -> dict[str, float]:
    if reference is None:
        return {}
    acc = named_cluster_accuracy(pred, reference, assigned=assigned)
    return {"accuracy_strict": acc.accuracy_strict, "accuracy_assigned": acc.accuracy_assigned, "ari": acc.ari,
            "nmi": acc.nmi}


def _score_pixel_kmeans(scene: Scene, reference: np.ndarray | None, k: int, seed: int, rot: Scene | None,
                        retrain_rotation: bool) -> MethodScores:
    t0 = time.perf_counter()
    pix = pixel_kmeans(scene, k, seed=seed)
    seconds = time.perf_counter() - t0
    sizes = np.bincount(pix[pix >= 0])
    extra: dict[str, float] = _accuracy(pix, pix, reference)
    if rot is not None and retrain_rotation:
        extra["rotation_ari_retrain"] = rotation_stability(pix, pixel_kmeans(rot, k, seed=seed), k=1)
    # a per-pixel model applied to rotated pixels gives the same labels: stability 1 by construction
    extra["rotation_ari"] = 1.0 if rot is not None else _NAN
    return MethodScores("pixel-kmeans", int(sizes.size), 0.0, float(sizes.max() / sizes.sum()), seconds=seconds,
                        labels=pix, **extra)


def _apply(fit: _Fitted, scene: Scene, seg: Segmentation, graph: SegmentGraph) -> np.ndarray:
    """Labels (noise assigned) of another scene's segments under a fitted method."""
    if fit.kmeans is not None:
        scaler, km = fit.kmeans
        return km.predict(scaler.transform(_mean_spectra(scene, seg))).astype(np.int32)
    assert fit.encoder is not None and fit.clusterer is not None
    emb = fit.encoder.encode(scene, seg, graph)
    clus: Clustering = predict_clustering(fit.clusterer, emb)
    return assign_noise_to_nearest(clus.cluster, clus.embedding)


def _score_segments(method: str, fit: _Fitted, scene: Scene, seg: Segmentation, graph: SegmentGraph,
                    reference: np.ndarray | None, rot: Scene | None, rot_seg: Segmentation | None,
                    rot_graph: SegmentGraph | None, retrain_rotation: bool, encode_fit: Any, seed: int,
                    context_queries: int) -> MethodScores:
    labels, assigned = fit.labels, fit.assigned
    n_clusters = int(labels.max()) + 1 if (labels >= 0).any() else 0
    sizes = np.bincount(labels[labels >= 0], minlength=max(n_clusters, 1))
    pix, pix_assigned = label_raster(seg, labels), label_raster(seg, assigned)
    extra: dict[str, float] = _accuracy(pix, pix_assigned, reference)
    ctx = context_consistency(scene, seg, graph, fit.vectors, n_queries=context_queries, seed=seed)
    extra.update(ssim=ctx.ssim, spectral_angle=ctx.spectral_angle, ssim_random=ctx.ssim_random,
                 spectral_angle_random=ctx.spectral_angle_random)
    extra["fragmentation"] = fragmentation(graph, assigned)
    if rot is not None and rot_seg is not None and rot_graph is not None:
        rot_pix = label_raster(rot_seg, _apply(fit, rot, rot_seg, rot_graph))
        extra["rotation_ari"] = rotation_stability(pix_assigned, rot_pix, k=1)
        if retrain_rotation:
            if fit.kmeans is not None:
                relabels = _fit_kmeans(_mean_spectra(rot, rot_seg), n_clusters, seed)[2]
            else:
                relabels = encode_fit(method, rot, rot_seg, rot_graph).assigned
            extra["rotation_ari_retrain"] = rotation_stability(pix_assigned, label_raster(rot_seg, relabels),
                                                               k=1)
    return MethodScores(method, n_clusters, float(np.mean(labels < 0)), float(sizes.max() / labels.size),
                        seconds=fit.seconds, labels=pix, **extra)


_COLUMNS = [
    ("method", "method", "{}"), ("n_clusters", "clusters", "{:d}"), ("noise_fraction", "noise", "{:.1%}"),
    ("largest_cluster_fraction", "largest", "{:.1%}"), ("accuracy_strict", "acc. strict", "{:.3f}"),
    ("accuracy_assigned", "acc. noise assigned", "{:.3f}"), ("ari", "ARI", "{:.3f}"), ("nmi", "NMI", "{:.3f}"),
    ("ssim", "SSIM", "{:.3f}"), ("ssim_random", "SSIM random", "{:.3f}"), ("spectral_angle", "SAM rad", "{:.3f}"),
    ("spectral_angle_random", "SAM random", "{:.3f}"), ("fragmentation", "fragmentation", "{:.3f}"),
    ("rotation_ari", "rotation ARI (model)", "{:.3f}"), ("rotation_ari_retrain", "rotation ARI (retrained)", "{:.3f}"),
    ("seconds", "fit s", "{:.1f}"),
]


def to_markdown(scores: Sequence[MethodScores], *, skip_empty: bool = True) -> str:
    """A markdown table of the scores (columns that are NaN for every method are left out).

    Parameters
    ----------
    scores : sequence of MethodScores
        One row each, in this order.
    skip_empty : bool
        Leave out the columns that are NaN for every method; ``False`` keeps them all.

    Returns
    -------
    str
        The table's lines joined by newlines; a NaN value is shown as ``–``.
    """
    cols = [c for c in _COLUMNS if not skip_empty or any(not _isnan(getattr(s, c[0])) for s in scores)]
    lines = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "|".join("---" if c[0] == "method" else "---:"
                                                                        for c in cols) + "|"]
    for s in scores:
        cells = []
        for name, _, fmt in cols:
            value = getattr(s, name)
            cells.append("–" if _isnan(value) else fmt.format(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
