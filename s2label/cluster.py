"""Cluster segment embeddings with HDBSCAN, after standardising and reducing them (PCA by default)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import hdbscan
import numpy as np
from sklearn.decomposition import PCA

from .embeddings import Embeddings
from .errors import ClusteringError, S2LabelWarning

__all__ = ["Clustering", "SegmentClusterer", "cluster", "default_min_cluster_size", "MIN_SEGMENTS_TO_CLUSTER"]

#: Fewer segments than this cannot form even two clusters with a noise label.
MIN_SEGMENTS_TO_CLUSTER = 10


def default_min_cluster_size(n: int) -> int:
    """Smallest cluster HDBSCAN may return for ``n`` segments: 0.5 % of them, at least 5.

    Examples
    --------
    >>> default_min_cluster_size(18_000), default_min_cluster_size(200)
    (90, 5)
    """
    return max(5, int(round(0.005 * n)))


class SegmentClusterer:
    """Standardise, reduce and HDBSCAN-cluster embedding vectors (scikit-learn style).

    Parameters
    ----------
    min_cluster_size : int, optional
        Default :func:`default_min_cluster_size` of the number of rows.
    min_samples : int, optional
        HDBSCAN's density smoothing; default ``min(min_cluster_size, 10)`` (less noise than HDBSCAN's own default).
    reduce : {"pca", "none"}
        Reduction before clustering; HDBSCAN struggles in many dimensions.
    n_components : int
        Dimensions kept by the reduction.
    cluster_selection_method : {"eom", "leaf"}
    cluster_selection_epsilon : float
    random_state : int

    Attributes
    ----------
    labels_ : ndarray (N,) int32, -1 = noise
    probabilities_ : ndarray (N,) float32
    outlier_scores_ : ndarray (N,) float32
    embedding_ : ndarray (N, K) float32
        The standardised, reduced vectors that were clustered.
    hdbscan_ : hdbscan.HDBSCAN
    reducer_ : sklearn.decomposition.PCA or None
    mean_, scale_ : ndarray (D,)
        Standardisation applied before the reduction.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, .1, (60, 4)), rng.normal(3, .1, (60, 4))])
    >>> model = SegmentClusterer(min_cluster_size=10).fit(X)
    >>> np.unique(model.labels_).tolist()
    [0, 1]
    """

    def __init__(self, *, min_cluster_size: int | None = None, min_samples: int | None = None,
                 reduce: Literal["pca", "none"] = "pca", n_components: int = 10,
                 cluster_selection_method: Literal["eom", "leaf"] = "eom",
                 cluster_selection_epsilon: float = 0.0, random_state: int = 0) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.reduce = reduce
        self.n_components = n_components
        self.cluster_selection_method = cluster_selection_method
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("min_cluster_size", "min_samples", "reduce", "n_components",
                                                "cluster_selection_method", "cluster_selection_epsilon",
                                                "random_state")}

    def fit(self, X: np.ndarray) -> SegmentClusterer:
        """Fit on (N, D) vectors; returns ``self``."""
        X = _check_vectors(X)
        n = X.shape[0]
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        self.scale_ = scale
        Z = (X - self.mean_) / self.scale_
        if self.reduce == "pca":
            k = int(min(self.n_components, Z.shape[1], n - 1))
            self.reducer_: PCA | None = PCA(n_components=k, random_state=self.random_state).fit(Z)
            Z = self.reducer_.transform(Z)
        elif self.reduce == "none":
            self.reducer_ = None
        else:
            raise ClusteringError(f"unknown reduction {self.reduce!r}; use 'pca' or 'none'")
        self.embedding_ = np.ascontiguousarray(Z, dtype=np.float32)
        mcs = self.min_cluster_size or default_min_cluster_size(n)
        if mcs < 2:
            raise ClusteringError(f"min_cluster_size must be >= 2, got {mcs}")
        ms = self.min_samples or min(mcs, 10)
        self.hdbscan_ = hdbscan.HDBSCAN(
            min_cluster_size=int(mcs), min_samples=int(ms),
            cluster_selection_method=self.cluster_selection_method,
            cluster_selection_epsilon=float(self.cluster_selection_epsilon), prediction_data=True,
        ).fit(self.embedding_.astype(np.float64))
        self.min_cluster_size_, self.min_samples_ = int(mcs), int(ms)
        self.labels_ = self.hdbscan_.labels_.astype(np.int32)
        self.probabilities_ = self.hdbscan_.probabilities_.astype(np.float32)
        self.outlier_scores_ = np.nan_to_num(self.hdbscan_.outlier_scores_, nan=1.0).astype(np.float32)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise and reduce new vectors into the clustered space, (N, K) float32."""
        X = _check_vectors(X, min_rows=1)
        if X.shape[1] != self.mean_.shape[0]:
            raise ClusteringError(f"vectors have {X.shape[1]} dimensions; the model was fitted on "
                                  f"{self.mean_.shape[0]}")
        Z = (X - self.mean_) / self.scale_
        if self.reducer_ is not None:
            Z = self.reducer_.transform(Z)
        return np.ascontiguousarray(Z, dtype=np.float32)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Assign new vectors to the fitted clusters (``hdbscan.approximate_predict``).

        Returns
        -------
        labels : ndarray (N,) int32, -1 = noise
        strengths : ndarray (N,) float32
        """
        labels, strengths = hdbscan.approximate_predict(self.hdbscan_, self.transform(X).astype(np.float64))
        return labels.astype(np.int32), strengths.astype(np.float32)


def _check_vectors(X: np.ndarray, *, min_rows: int = MIN_SEGMENTS_TO_CLUSTER) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ClusteringError(f"embeddings must be (N, D), got shape {X.shape}")
    if X.shape[0] < min_rows:
        raise ClusteringError(f"{X.shape[0]} segments are too few to cluster (need {min_rows})")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ClusteringError(f"{int(bad.sum())} embedding vector(s) contain NaN or infinity "
                              f"(first at row {int(np.flatnonzero(bad)[0])})")
    return X


@dataclass(frozen=True, eq=False)
class Clustering:
    """HDBSCAN clusters of segments.

    Attributes
    ----------
    labels : ndarray (N,) int32
        Cluster of each segment, -1 = noise.
    probabilities : ndarray (N,) float32
        Strength of membership (0 for noise).
    outlier_scores : ndarray (N,) float32
        GLOSH outlier score (higher = more unusual).
    segment_ids : ndarray (N,) int32
    condensed_tree : ndarray
        HDBSCAN's condensed tree as a structured array (``parent``, ``child``, ``lambda_val``,
        ``child_size``), for re-cutting coarser or finer.
    embedding : ndarray (N, K) float32
        The reduced space the clusters were found in.
    params : Mapping
    model : SegmentClusterer, optional
        The fitted clusterer, to assign new segments.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    outlier_scores: np.ndarray
    segment_ids: np.ndarray
    condensed_tree: np.ndarray
    embedding: np.ndarray
    params: Mapping[str, Any] = field(default_factory=dict)
    model: SegmentClusterer | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size and self.labels.max() >= 0 else 0

    @property
    def noise_fraction(self) -> float:
        return float(np.mean(self.labels < 0)) if self.labels.size else 0.0

    def sizes(self) -> np.ndarray:
        """(n_clusters,) number of segments in each cluster."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.n_clusters)

    def labels_noise_assigned(self) -> np.ndarray:
        """Labels with every noise segment given the cluster of its nearest non-noise segment
        in the clustered space (the noise stays marked in :attr:`labels`)."""
        return assign_noise_to_nearest(self.labels, self.embedding)


def assign_noise_to_nearest(labels: np.ndarray, space: np.ndarray) -> np.ndarray:
    """Give each ``-1`` the label of its nearest labelled row of ``space`` (Euclidean).

    Examples
    --------
    >>> import numpy as np
    >>> assign_noise_to_nearest(np.array([0, 1, -1]), np.array([[0.], [10.], [9.]])).tolist()
    [0, 1, 1]
    """
    from sklearn.neighbors import NearestNeighbors

    labels = np.asarray(labels)
    noise = labels < 0
    if not noise.any() or noise.all():
        return labels.copy()
    nn = NearestNeighbors(n_neighbors=1).fit(space[~noise])
    idx = nn.kneighbors(space[noise], return_distance=False)[:, 0]
    out = labels.copy()
    out[noise] = labels[~noise][idx]
    return out


def cluster(embeddings: Embeddings, *, min_cluster_size: int | None = None, min_samples: int | None = None,
            reduce: Literal["pca", "none"] = "pca", n_components: int = 10,
            cluster_selection_method: Literal["eom", "leaf"] = "eom",
            cluster_selection_epsilon: float = 0.0, random_state: int = 0) -> Clustering:
    """Cluster segment embeddings with HDBSCAN.

    Parameters
    ----------
    embeddings : Embeddings
    min_cluster_size, min_samples, reduce, n_components, cluster_selection_method,
    cluster_selection_epsilon, random_state
        See :class:`SegmentClusterer`.

    Returns
    -------
    Clustering

    Raises
    ------
    ClusteringError
        Too few segments, or non-finite vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from s2label.embeddings import Embeddings
    >>> rng = np.random.default_rng(1)
    >>> v = np.concatenate([rng.normal(0, .1, (50, 3)), rng.normal(5, .1, (50, 3))])
    >>> c = cluster(Embeddings(v, np.arange(1, 101), "spectral"), min_cluster_size=10)
    >>> c.n_clusters, c.noise_fraction
    (2, 0.0)
    """
    model = SegmentClusterer(min_cluster_size=min_cluster_size, min_samples=min_samples, reduce=reduce,
                             n_components=n_components, cluster_selection_method=cluster_selection_method,
                             cluster_selection_epsilon=cluster_selection_epsilon,
                             random_state=random_state).fit(embeddings.vectors)
    if not (model.labels_ >= 0).any():
        warnings.warn(f"HDBSCAN found no cluster among {len(model.labels_)} segments (all noise); try a smaller "
                      f"min_cluster_size than {model.min_cluster_size_}", S2LabelWarning, stacklevel=2)
    params = model.get_params() | {"min_cluster_size": model.min_cluster_size_,
                                   "min_samples": model.min_samples_, "embedding_method": embeddings.method}
    return Clustering(labels=model.labels_, probabilities=model.probabilities_,
                      outlier_scores=model.outlier_scores_, segment_ids=embeddings.segment_ids,
                      condensed_tree=model.hdbscan_.condensed_tree_.to_numpy(), embedding=model.embedding_,
                      params=params, model=model)
