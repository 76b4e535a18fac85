"""Measure cluster quality, for s2label and for baselines (the design notes, "Quality is measured, not assumed").

Plain functions over arrays: :func:`named_cluster_accuracy` (with ARI and NMI), :func:`fragmentation`,
:func:`rotation_stability` with :func:`rotate_scene`, :func:`sample_agreement` (clustering a sample against all);
:func:`load_reference` reads a class raster onto a scene's grid. The paper's context measure is in
:mod:`s2label.evaluation.context`, the k-means baselines in :mod:`s2label.evaluation.baselines`, the agreement
of two annotators in :mod:`s2label.evaluation.inter_annotator`.

Pixel label maps are (H, W) int with -1 = noise and -2 = no data (:data:`~s2label.segmentation.export.NOISE`,
:data:`~s2label.segmentation.export.NODATA`); segment labels are (N,) for ids 1..N.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from types import MappingProxyType
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioIOError
from rasterio.warp import Resampling, reproject, transform_bounds
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from s2label._frozen import Picklable
from s2label._renamed import renamed_function
from s2label.errors import ClusteringError, SceneError, SegmentationError
from s2label.io.scene import Scene
from s2label.segmentation.export import NODATA, NOISE, label_raster
from s2label.segmentation.graph import SegmentGraph

__all__ = [
    "ClusterAccuracy", "named_cluster_accuracy", "fragmentation", "rotate_scene",
    "rotation_stability", "load_reference", "SampleAgreement", "sample_agreement",
]


# --- named-cluster accuracy -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ClusterAccuracy(Picklable):
    """Agreement of a pixel clustering with a reference class map.

    Attributes
    ----------
    accuracy_strict : float
        Share of evaluated pixels whose cluster's name is their reference class; noise counts wrong.
    accuracy_assigned : float
        The same on the clustering with noise given its nearest cluster (clusters renamed on it).
    ari, nmi : float
        Adjusted Rand index and normalised mutual information with the reference.
    n_clusters : int
        Clusters (labels >= 0) a user would have to name.
    noise_fraction : float
        Share of evaluated pixels that are noise.
    n_pixels : int
        Evaluated pixels: reference valid and prediction not no-data.
    names : Mapping[int, int]
        Reference class that names each cluster (majority vote, noise counted wrong).
    """

    accuracy_strict: float
    accuracy_assigned: float
    ari: float
    nmi: float
    n_clusters: int
    noise_fraction: float
    n_pixels: int
    names: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (names keyed by cluster as str) for reports."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return out | {"names": {str(k): v for k, v in self.names.items()}}


def _check_pixel_labels(name: str, labels: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise SegmentationError(f"{name} must be an (H, W) label map, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise SegmentationError(f"{name} has shape {arr.shape}, expected {shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ClusteringError(f"{name} must hold integer labels, got dtype {arr.dtype}")
    if arr.size and arr.min() < NODATA:
        raise ClusteringError(f"{name} holds label {int(arr.min())}; only -1 (noise) and -2 (no data) may be < 0")
    return arr


def _majority_names(pred: np.ndarray, ref: np.ndarray) -> tuple[dict[int, int], int]:
    """Name each cluster >= 0 by its majority class; returns (names, number of pixels named right)."""
    clusters, classes = np.unique(pred), np.unique(ref)
    table = contingency_matrix(pred, ref)[clusters >= 0]  # rows: sorted clusters, cols: sorted classes
    names = dict(zip(clusters[clusters >= 0].tolist(), classes[table.argmax(axis=1)].tolist(), strict=True))
    return names, int(table.max(axis=1).sum())


def named_cluster_accuracy(pred: np.ndarray, reference: np.ndarray, *, assigned: np.ndarray | None = None,
                           reference_nodata: int = 0) -> ClusterAccuracy:
    """Name every cluster by its majority reference class and count the pixels named right.

    Parameters
    ----------
    pred : ndarray, shape (H, W), int
        Cluster of each pixel; -1 = noise, -2 = no data.
    reference : ndarray, shape (H, W), int
        Reference class of each pixel; ``reference_nodata`` = no reference.
    assigned : ndarray, shape (H, W), int, optional
        The same clustering with noise given its nearest cluster (no -1 where ``pred`` has data). If None,
        ``accuracy_assigned`` leaves noise wrong (it equals ``accuracy_strict``), and ARI/NMI use ``pred``.
    reference_nodata : int
        Reference value of pixels without a class.

    Returns
    -------
    ClusterAccuracy
        Evaluated pixels are those with a reference class and ``pred != -2``. ARI and NMI compare the
        reference with ``assigned`` (or ``pred``, noise as its own label) over them.

    Raises
    ------
    SegmentationError
        If the maps differ in shape.
    ClusteringError
        For non-integer labels or labels < -2, noise in ``assigned``, or no pixel to evaluate.

    Examples
    --------
    >>> ref = np.array([[1, 1, 2, 2]])
    >>> acc = named_cluster_accuracy(np.array([[0, -1, 1, 1]]), ref, assigned=np.array([[0, 0, 1, 1]]))
    >>> acc.accuracy_strict, acc.accuracy_assigned, acc.ari, dict(acc.names)
    (0.75, 1.0, 1.0, {0: 1, 1: 2})
    """
    pred = _check_pixel_labels("pred", pred)
    reference = np.asarray(reference)
    if reference.shape != pred.shape:
        raise SegmentationError(f"reference has shape {reference.shape}, prediction {pred.shape}")
    evaluated = (reference != reference_nodata) & (pred != NODATA)
    n = int(evaluated.sum())
    if n == 0:
        raise ClusteringError("no pixel has both a reference class and a predicted label")
    p, ref = pred[evaluated], reference[evaluated]
    names, right = _majority_names(p, ref)
    strict = right / n
    if assigned is None:
        assigned_accuracy, compared = strict, p
    else:
        a = _check_pixel_labels("assigned", assigned, pred.shape)[evaluated]
        if a.size and a.min() < 0:
            raise ClusteringError(f"assigned has {int((a < 0).sum())} noise/no-data pixel(s) where pred has data")
        assigned_accuracy = _majority_names(a, ref)[1] / n
        compared = a
    return ClusterAccuracy(
        accuracy_strict=float(strict), accuracy_assigned=float(assigned_accuracy),
        ari=float(adjusted_rand_score(ref, compared)), nmi=float(normalized_mutual_info_score(ref, compared)),
        n_clusters=int(np.unique(pred[pred >= 0]).size), noise_fraction=float(np.mean(p == NOISE)), n_pixels=n,
        names=names)


# --- fragmentation ------------------------------------------------------------------------------------------

def fragmentation(graph: SegmentGraph, segment_labels: np.ndarray) -> float:
    """Share of segments whose label differs from every neighbour's label.

    Isolated segments (no neighbour) are left out of both counts. Labels are compared as given: noise
    (-1) is a label like any other, so pass noise-assigned labels to count only cluster outliers.

    Parameters
    ----------
    graph : SegmentGraph
    segment_labels : ndarray, shape (N,), int
        Label of each node (segment ``i + 1``).

    Returns
    -------
    float
        In [0, 1]; NaN if no segment has a neighbour.

    Examples
    --------
    In a path of three nodes, a middle node unlike both ends makes all three outliers:

    >>> from s2label.segmentation.graph import build_graph
    >>> g = build_graph(np.array([[1, 2, 3]]))
    >>> fragmentation(g, np.array([0, 1, 0])), fragmentation(g, np.array([0, 0, 1]))
    (1.0, 0.3333333333333333)
    """
    labels = np.asarray(segment_labels)
    if labels.shape != (graph.num_nodes,):
        raise SegmentationError(f"{labels.shape} labels for a graph of {graph.num_nodes} nodes")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ClusteringError(f"segment labels must be integers, got dtype {labels.dtype}")
    src, dst = graph.edge_index
    degree = np.bincount(src, minlength=graph.num_nodes)
    same = np.bincount(src, weights=labels[src] == labels[dst], minlength=graph.num_nodes)
    connected = degree > 0
    if not connected.any():
        return float("nan")
    return float(np.sum(connected & (same == 0)) / np.sum(connected))


# --- rotation stability -------------------------------------------------------------------------------------

def rotate_scene(scene: Scene, k: int = 1) -> Scene:
    """The scene rotated by ``k`` x 90° counter-clockwise (:func:`numpy.rot90` on rows and columns).

    The grid stays north-up with the same pixel size and top-left corner and the same CRS; its geometry
    means nothing, only the pixels do. ``source`` gets the suffix ``[rot90x{k}]``.

    Parameters
    ----------
    scene : Scene
    k : int
        Number of quarter turns (negative: clockwise).

    Returns
    -------
    Scene
        Of shape (W, H) for odd ``k``, its ``data`` and ``valid`` rotated alike.

    Examples
    --------
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> s = Scene(np.arange(6, dtype=np.float32).reshape(1, 2, 3), ("B04",), Affine(10, 0, 0, 0, -10, 20),
    ...           CRS.from_epsg(32633), np.ones((2, 3), bool), source="a.tif")
    >>> r = rotate_scene(s)
    >>> r.shape, r.data[0].tolist(), r.source
    ((3, 2), [[2.0, 5.0], [1.0, 4.0], [0.0, 3.0]], 'a.tif[rot90x1]')
    """
    xres, yres = scene.resolution
    west, _, _, north = scene.bounds
    return Scene(np.ascontiguousarray(np.rot90(scene.data, k, axes=(1, 2))), scene.bands,
                 Affine(xres, 0.0, west, 0.0, -yres, north), scene.crs,
                 np.ascontiguousarray(np.rot90(scene.valid, k)), f"{scene.source}[rot90x{k}]", dict(scene.meta))


def rotation_stability(original: np.ndarray, rotated: np.ndarray, k: int = 1) -> float:
    """ARI between a pixel label map and the label map of the ``k`` x 90° rotated scene, rotated back.

    Parameters
    ----------
    original : ndarray, shape (H, W), int
        Labels of the scene (-1 noise, its own label; -2 no data, left out).
    rotated : ndarray, int
        Labels of :func:`rotate_scene` ``(scene, k)``.
    k : int
        The rotation applied.

    Returns
    -------
    float
        Adjusted Rand index over the pixels that are not no data (-2) in either map; 1.0 when the two maps
        agree up to the labels' names.

    Raises
    ------
    SegmentationError
        A map that is not (H, W), or ``rotated`` rotated back not of ``original``'s shape.
    ClusteringError
        A map of non-integer labels or labels below -2, or no pixel labelled in both.

    Examples
    --------
    >>> a = np.array([[0, 0, 1], [2, 2, 1]])
    >>> rotation_stability(a, 5 - np.rot90(a, 3), k=3)
    1.0
    """
    original = _check_pixel_labels("original", original)
    back = _check_pixel_labels("rotated", np.rot90(np.asarray(rotated), -k), original.shape)
    both = (original != NODATA) & (back != NODATA)
    if not both.any():
        raise ClusteringError("no pixel is labelled in both the original and the rotated map")
    return float(adjusted_rand_score(original[both], back[both]))


# --- reference data -----------------------------------------------------------------------------------------

def load_reference(path: str | os.PathLike[str], scene: Scene) -> np.ndarray:
    """Read a class raster (band 1) onto the scene's grid.

    A raster on the same grid (CRS, transform, shape) is read as is; any other is reprojected with
    nearest-neighbour resampling. Its nodata value, and pixels it does not cover, become 0.

    Parameters
    ----------
    path : str or path-like
        The class raster (e.g. a land-cover GeoTIFF).
    scene : Scene
        Gives the grid (CRS, transform, shape).

    Returns
    -------
    ndarray, shape (H, W), int32
        Class per pixel, 0 = no reference.

    Raises
    ------
    SceneError
        Naming the file, if it cannot be read, has no CRS, or does not overlap the scene.
    """
    try:
        ds = rasterio.open(path)
    except RasterioIOError as err:
        raise SceneError(f"cannot read the reference raster: {err}", path=path) from None
    with ds:
        if ds.crs is None:
            raise SceneError("reference raster has no CRS", path=path)
        if ds.crs == scene.crs and ds.shape == scene.shape and ds.transform.almost_equals(scene.transform):
            out = ds.read(1)
            if ds.nodata is not None:
                out = np.where(out == ds.nodata, 0, out)
            return out.astype(np.int32)
        west, south, east, north = transform_bounds(ds.crs, scene.crs, *ds.bounds)
        sw, ss, se, sn = scene.bounds
        if west >= se or east <= sw or south >= sn or north <= ss:
            raise SceneError("reference raster does not overlap the scene", path=path)
        out = np.zeros(scene.shape, dtype=np.int32)
        reproject(rasterio.band(ds, 1), out, dst_transform=scene.transform, dst_crs=scene.crs,
                  resampling=Resampling.nearest, src_nodata=ds.nodata, dst_nodata=0)
    return out


# --- clustering on a sample -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SampleAgreement:
    """How a clustering fitted on a sample of the segments agrees with one fitted on all of them.

    Attributes
    ----------
    n_segments, fit_rows : int
        Segments in all, and in the sample.
    ari, nmi : float
        Adjusted Rand index / normalised mutual information between the two labellings, noise as a label.
    ari_assigned : float
        ARI with noise given its nearest cluster in both.
    clusters_full, clusters_sampled : int
    noise_full, noise_sampled : float
        Share of segments left as noise.
    seconds_full, seconds_sampled : float
        Wall time of each clustering.
    """

    n_segments: int
    fit_rows: int
    ari: float
    nmi: float
    ari_assigned: float
    clusters_full: int
    clusters_sampled: int
    noise_full: float
    noise_sampled: float
    seconds_full: float
    seconds_sampled: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_agreement(embeddings: Any, sample: int, *, full: Any = None, **cluster_options: Any) -> SampleAgreement:
    """Cluster ``embeddings`` on all segments and on a sample of ``sample``; compare the labellings.

    Parameters
    ----------
    embeddings : Embeddings
    sample : int
        Segments to fit on (see :func:`s2label.cluster` ``sample``).
    full : Clustering, optional
        The clustering of all segments, when already made with the same options (its time is then NaN).
    **cluster_options
        Other :func:`s2label.cluster` arguments, the same for both fits.

    Returns
    -------
    SampleAgreement

    Examples
    --------
    >>> import numpy as np
    >>> from s2label.encoders.embeddings import Embeddings
    >>> rng = np.random.default_rng(0)
    >>> v = np.concatenate([rng.normal(c, .2, (300, 4)) for c in (0, 3, 6)])
    >>> a = sample_agreement(Embeddings(v, np.arange(1, 901), "spectral"), 300, reduce="pca")
    >>> a.fit_rows, a.clusters_full, a.clusters_sampled, round(a.ari_assigned, 2)
    (300, 3, 3, 1.0)
    """
    import time

    from s2label.clustering.clusterer import cluster

    if "sample" in cluster_options:
        raise TypeError("give the sample size as the second argument")
    seconds_full = float("nan")
    if full is None:
        t0 = time.perf_counter()
        full = cluster(embeddings, sample=None, **cluster_options)
        seconds_full = time.perf_counter() - t0
    t1 = time.perf_counter()
    part = cluster(embeddings, sample=sample, **cluster_options)
    seconds_sampled = time.perf_counter() - t1
    return SampleAgreement(
        n_segments=int(embeddings.n), fit_rows=int(part.params.get("fit_rows", embeddings.n)),
        ari=float(adjusted_rand_score(full.cluster, part.cluster)),
        nmi=float(normalized_mutual_info_score(full.cluster, part.cluster)),
        ari_assigned=float(adjusted_rand_score(full.cluster_noise_assigned(), part.cluster_noise_assigned())),
        clusters_full=full.n_clusters, clusters_sampled=part.n_clusters, noise_full=full.noise_fraction,
        noise_sampled=part.noise_fraction, seconds_full=seconds_full, seconds_sampled=seconds_sampled,
    )


segment_to_pixels = renamed_function(label_raster, "s2label.evaluation.measures.segment_to_pixels")
