"""Cluster segment embeddings with HDBSCAN after standardising and reducing them (UMAP by default).

HDBSCAN on raw segment embeddings tends to return one giant cluster (``eom``) or mostly noise (``leaf``):
neighbouring land covers form a continuum. Reducing with UMAP (``min_dist=0``, as the paper does) makes the
density structure HDBSCAN needs; sizes are chosen from the number of segments N, and a cluster may not hold more
than half of them (``max_cluster_size``), so the default gives a usable set of labels.

New segments (another scene, the same scene rotated) are assigned to the fitted clusters by a vote of their
nearest training segments in the standardised embedding space (:meth:`SegmentClusterer.predict`) — the role of
``hdbscan.approximate_predict``, with a model that is plain arrays (no pickled UMAP), so it saves and loads safely.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import hdbscan
import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.validation import check_array, check_is_fitted

from s2label._frozen import Picklable
from s2label._renamed import renamed_attribute
from s2label._standardise import spread, standardise
from s2label.clustering._umap import import_umap
from s2label.encoders.embeddings import Embeddings
from s2label.errors import ClusteringError, S2LabelWarning

__all__ = [
    "Clustering", "SegmentClusterer", "cluster", "default_min_cluster_size", "assign_noise_to_nearest",
    "MIN_SEGMENTS_TO_CLUSTER", "REDUCTIONS", "AUTO_SAMPLE",
]

#: Fewer segments than this cannot form even two clusters with a noise label.
MIN_SEGMENTS_TO_CLUSTER = 10
#: Reductions accepted by :class:`SegmentClusterer`.
REDUCTIONS: tuple[str, ...] = ("umap", "pca", "none")
_PREDICT_NEIGHBOURS = 10


def default_min_cluster_size(n: int) -> int:
    """Smallest cluster HDBSCAN may return for ``n`` segments: 1 % of them, at least 5.

    Parameters
    ----------
    n : int
        Number of segments to cluster.

    Returns
    -------
    int
        ``max(5, round(0.01 * n))``.

    Examples
    --------
    >>> default_min_cluster_size(18_000), default_min_cluster_size(200)
    (180, 5)
    """
    return max(5, int(round(0.01 * n)))


class SegmentClusterer(ClusterMixin, TransformerMixin, BaseEstimator):
    """Standardise, reduce and HDBSCAN-cluster embedding vectors: a scikit-learn clustering estimator.

    ``fit(X)`` then ``labels_``, or ``fit_predict(X)``; :meth:`predict` assigns new vectors to the fitted clusters
    (:meth:`approximate_predict` also gives the strength of each assignment). ``get_params``/``set_params`` and
    :func:`sklearn.base.clone` work as for any estimator.

    Parameters
    ----------
    min_cluster_size : int, optional
        Default :func:`default_min_cluster_size` of the number of rows N.
    min_samples : int, optional
        HDBSCAN's density smoothing; default 2 (little noise on continuous land cover).
    reduce : {"umap", "pca", "none"}
        Reduction before clustering (UMAP with ``min_dist=0``; PCA is faster, and coarser).
    n_components : int
        Dimensions kept by the reduction.
    n_neighbors : int
        UMAP's neighbourhood size.
    cluster_selection_method : {"eom", "leaf"}
    cluster_selection_epsilon : float
    max_cluster_fraction : float
        No selected cluster may hold more than this share of the segments (``eom`` only; 1 disables).
    random_state : int
        Seeds UMAP and PCA; with a seed UMAP runs single-threaded and is reproducible.

    Attributes
    ----------
    labels_ : ndarray (N,) int32, -1 = noise
    probabilities_ : ndarray (N,) float32
    outlier_scores_ : ndarray (N,) float32
    embedding_ : ndarray (N, K) float32
        The reduced vectors that were clustered.
    train_ : ndarray (N, D) float32
        The standardised vectors (what :meth:`predict` compares new segments with).
    mean_, scale_ : ndarray (D,)
        The standardisation.
    condensed_tree_ : ndarray
        HDBSCAN's condensed tree (structured array ``parent, child, lambda_val, child_size``).
    reach_ : float
        Distance beyond which a new vector counts as unlike every training segment (noise).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, .1, (60, 4)), rng.normal(3, .1, (60, 4))])
    >>> model = SegmentClusterer(reduce="pca", min_cluster_size=10).fit(X)
    >>> np.unique(model.labels_).tolist(), model.predict(X[:3]).tolist()
    ([0, 1], [0, 0, 0])
    """

    def __init__(self, *, min_cluster_size: int | None = None, min_samples: int | None = None,
                 reduce: Literal["umap", "pca", "none"] = "umap", n_components: int = 8, n_neighbors: int = 30,
                 cluster_selection_method: Literal["eom", "leaf"] = "eom", cluster_selection_epsilon: float = 0.0,
                 max_cluster_fraction: float = 0.5, random_state: int = 0) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.reduce = reduce
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.cluster_selection_method = cluster_selection_method
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.max_cluster_fraction = max_cluster_fraction
        self.random_state = random_state

    def _reduce(self, Z: np.ndarray) -> np.ndarray:
        n, d = Z.shape
        k = int(min(self.n_components, d, n - 2))
        if self.reduce == "none" or k >= d:
            return Z
        if self.reduce == "pca":
            return PCA(n_components=k, random_state=self.random_state).fit_transform(Z)
        if self.reduce == "umap":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*n_jobs value 1 overridden.*")
                warnings.filterwarnings("ignore", category=FutureWarning)
                warnings.filterwarnings("ignore", message=".*knn_search_index.*")
                umap = import_umap()  # imported late: it compiles with numba on first use

                # exact neighbours from scikit-learn: spares UMAP's approximate search (and ~30 s of JIT)
                n_neighbors = int(min(self.n_neighbors, n - 1))
                dist, idx = NearestNeighbors(n_neighbors=n_neighbors).fit(Z).kneighbors(Z)
                reducer = umap.UMAP(n_components=k, n_neighbors=n_neighbors, min_dist=0.0,
                                    random_state=self.random_state, precomputed_knn=(idx, dist, None),
                                    init="spectral" if n > k + 1 else "random")
                return reducer.fit_transform(Z)
        raise ClusteringError(f"unknown reduction {self.reduce!r}; use one of {', '.join(REDUCTIONS)}")

    def fit(self, X: np.ndarray, y: None = None) -> SegmentClusterer:
        """Fit on (N, D) vectors; returns ``self``.

        Parameters
        ----------
        X : array-like (N, D)
            At least :data:`MIN_SEGMENTS_TO_CLUSTER` rows, all finite.
        y : None
            Ignored (unsupervised), accepted for the scikit-learn API.
        """
        X = _check_vectors(X)
        n = X.shape[0]
        self.n_features_in_ = X.shape[1]
        if self.reduce not in REDUCTIONS:
            raise ClusteringError(f"unknown reduction {self.reduce!r}; use one of {', '.join(REDUCTIONS)}")
        mean, scale = spread(X, axis=0)
        self.mean_, self.scale_ = mean.astype(np.float32), scale.astype(np.float32)
        self.train_ = standardise(X, self.mean_, self.scale_)
        self.embedding_ = np.ascontiguousarray(self._reduce(self.train_), dtype=np.float32)
        mcs = int(self.min_cluster_size or default_min_cluster_size(n))
        if mcs < 2:
            raise ClusteringError(f"min_cluster_size (--min-cluster-size) must be >= 2, got {mcs}")
        ms = int(self.min_samples or min(mcs, 2))
        max_size = int(self.max_cluster_fraction * n) if self.cluster_selection_method == "eom" else 0
        max_size = max_size if 0 < self.max_cluster_fraction < 1 and max_size > mcs else 0
        self.hdbscan_ = hdbscan.HDBSCAN(
            min_cluster_size=mcs, min_samples=ms, cluster_selection_method=self.cluster_selection_method,
            cluster_selection_epsilon=float(self.cluster_selection_epsilon), max_cluster_size=max_size,
        ).fit(self.embedding_.astype(np.float64))
        self.min_cluster_size_, self.min_samples_, self.max_cluster_size_ = mcs, ms, max_size
        self.labels_ = self.hdbscan_.labels_.astype(np.int32)
        self.probabilities_ = self.hdbscan_.probabilities_.astype(np.float32)
        self.outlier_scores_ = np.nan_to_num(self.hdbscan_.outlier_scores_, nan=1.0).astype(np.float32)
        self.condensed_tree_ = self.hdbscan_.condensed_tree_.to_numpy()
        self._fit_predictor()
        return self

    def _fit_predictor(self) -> None:
        k = min(_PREDICT_NEIGHBOURS + 1, self.train_.shape[0])
        self._nn = NearestNeighbors(n_neighbors=k).fit(self.train_)
        dist, _ = self._nn.kneighbors(self.train_)
        nearest_other = dist[:, 1] if dist.shape[1] > 1 else dist[:, 0]
        self.reach_ = float(np.quantile(nearest_other, 0.99) * 2.0) if nearest_other.size else np.inf

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise new vectors as the training vectors were: (M, D) float32."""
        check_is_fitted(self, "train_")
        X = _check_vectors(X, min_rows=1)
        if X.shape[1] != self.n_features_in_:
            raise ClusteringError(f"X has {X.shape[1]} features, but SegmentClusterer is expecting "
                                  f"{self.n_features_in_} features as input (the embedding dimensions the clusters "
                                  "were fitted on)")
        return standardise(X, self.mean_, self.scale_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The fitted cluster of each new vector: (M,) int32, -1 = noise (see :meth:`approximate_predict`)."""
        return self.approximate_predict(X)[0]

    def approximate_predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Assign new vectors to the fitted clusters by a vote of their 10 nearest training segments.

        The role of ``hdbscan.approximate_predict``, on plain arrays.

        A vector whose nearest training segment is farther than :attr:`reach_`, or whose neighbours are
        mostly noise, is noise (-1).

        Returns
        -------
        labels : ndarray (M,) int32
        strengths : ndarray (M,) float32
            Share of the neighbours' votes the assigned cluster got (0 for noise).
        """
        Z = self.transform(X)
        dist, idx = self._nn.kneighbors(Z, n_neighbors=min(_PREDICT_NEIGHBOURS, self.train_.shape[0]))
        votes = self.labels_[idx]
        n_clusters = int(self.labels_.max()) + 1
        if n_clusters == 0:
            return np.full(len(Z), -1, np.int32), np.zeros(len(Z), np.float32)
        weights = 1.0 / (dist + 1e-6)
        tally = np.zeros((len(Z), n_clusters + 1), np.float64)  # last column: noise
        np.add.at(tally, (np.repeat(np.arange(len(Z)), votes.shape[1]), np.where(votes < 0, n_clusters, votes).ravel()),
                  weights.ravel())
        share = tally / tally.sum(axis=1, keepdims=True)
        best = share[:, :n_clusters].argmax(axis=1)
        strength = share[np.arange(len(Z)), best]
        noise = (share[:, n_clusters] > 0.5) | (dist[:, 0] > self.reach_)
        labels = np.where(noise, -1, best).astype(np.int32)
        return labels, np.where(noise, 0.0, strength).astype(np.float32)

    # --- persistence as plain arrays ---------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as plain arrays (for :func:`numpy.savez`; no pickle)."""
        return {"mean": self.mean_, "scale": self.scale_, "train": self.train_, "labels": self.labels_,
                "probabilities": self.probabilities_, "outlier_scores": self.outlier_scores_,
                "embedding": self.embedding_, "condensed_tree": self.condensed_tree_,
                "sizes": np.array([self.min_cluster_size_, self.min_samples_, self.max_cluster_size_], np.int64)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> SegmentClusterer:
        """Rebuild a fitted clusterer from :meth:`to_arrays` output and :meth:`get_params`."""
        names = cls._get_param_names()
        model = cls(**{k: params[k] for k in names if k in params})
        model.mean_, model.scale_ = np.asarray(arrays["mean"]), np.asarray(arrays["scale"])
        model.train_ = np.ascontiguousarray(arrays["train"], dtype=np.float32)
        model.labels_ = np.asarray(arrays["labels"], np.int32)
        model.probabilities_ = np.asarray(arrays["probabilities"], np.float32)
        model.outlier_scores_ = np.asarray(arrays["outlier_scores"], np.float32)
        model.embedding_ = np.asarray(arrays["embedding"], np.float32)
        model.condensed_tree_ = np.asarray(arrays["condensed_tree"])
        model.min_cluster_size_, model.min_samples_, model.max_cluster_size_ = (int(v) for v in arrays["sizes"])
        shapes_ok = (model.train_.ndim == 2 and model.labels_.shape == (model.train_.shape[0],)
                     and model.mean_.shape == (model.train_.shape[1],))
        if not shapes_ok:
            raise ClusteringError("clusterer arrays do not fit together")
        model.n_features_in_ = model.train_.shape[1]
        model._fit_predictor()
        return model


def _check_vectors(X: np.ndarray, *, min_rows: int = MIN_SEGMENTS_TO_CLUSTER) -> np.ndarray:
    try:  # scikit-learn's checks: dense (else TypeError), real, 2-D (its messages say what to do)
        X = check_array(X, dtype=np.float64, ensure_all_finite=False, ensure_min_samples=0)
    except ValueError as exc:
        raise ClusteringError(f"embeddings must be a dense (N, D) array of real numbers: {exc}") from None
    if X.shape[0] < min_rows:
        raise ClusteringError(f"{X.shape[0]} segments are too few to cluster (need {min_rows}; "
                              f"n_samples={X.shape[0]})")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ClusteringError(f"{int(bad.sum())} embedding vector(s) contain NaN or infinity "
                              f"(first at row {int(np.flatnonzero(bad)[0])})")
    return X


@dataclass(frozen=True, eq=False)
class Clustering(Picklable):
    """HDBSCAN clusters of segments.

    Attributes
    ----------
    cluster : ndarray (N,) int32
        Cluster of each segment, -1 = noise (``labels`` before 0.2, still an alias until 0.3).
    probabilities : ndarray (N,) float32
        Strength of membership (0 for noise).
    outlier_scores : ndarray (N,) float32
        GLOSH outlier score (higher = more unusual).
    segment_ids : ndarray (N,) int32
    condensed_tree : ndarray
        HDBSCAN's condensed tree as a structured array (``parent``, ``child``, ``lambda_val``, ``child_size``),
        for re-cutting coarser or finer.
    embedding : ndarray (N, K) float32
        The space in which noise is given its nearest cluster (the reduced space the clusters were found in).
    params : Mapping
    model : SegmentClusterer, optional
        The fitted clusterer, to assign new segments.
    """

    cluster: np.ndarray
    probabilities: np.ndarray
    outlier_scores: np.ndarray
    segment_ids: np.ndarray
    condensed_tree: np.ndarray
    embedding: np.ndarray
    params: Mapping[str, Any] = field(default_factory=dict)
    model: SegmentClusterer | None = None

    labels = renamed_attribute("cluster", "Clustering.labels")
    labels_noise_assigned = renamed_attribute("cluster_noise_assigned", "Clustering.labels_noise_assigned")

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def __repr__(self) -> str:
        return (f"Clustering({self.n_clusters} clusters over {self.cluster.size} segments, "
                f"{self.noise_fraction:.1%} noise)")

    @property
    def n_clusters(self) -> int:
        return int(self.cluster.max()) + 1 if self.cluster.size and self.cluster.max() >= 0 else 0

    @property
    def noise_fraction(self) -> float:
        return float(np.mean(self.cluster < 0)) if self.cluster.size else 0.0

    def sizes(self) -> np.ndarray:
        """(n_clusters,) number of segments in each cluster."""
        return np.bincount(self.cluster[self.cluster >= 0], minlength=self.n_clusters)

    def cluster_noise_assigned(self) -> np.ndarray:
        """Labels with every noise segment given the cluster of its nearest non-noise segment
        in :attr:`embedding` (the noise stays marked in :attr:`labels`)."""
        return assign_noise_to_nearest(self.cluster, self.embedding)

    def summary(self) -> dict[str, float | int]:
        """Counts a report needs: clusters, noise share, largest cluster share."""
        sizes = self.sizes()
        return {"clusters": self.n_clusters, "noise_fraction": round(self.noise_fraction, 6),
                "largest_cluster_fraction": round(float(sizes.max() / self.cluster.size), 6) if sizes.size else 0.0}


def assign_noise_to_nearest(labels: np.ndarray, space: np.ndarray) -> np.ndarray:
    """Give each ``-1`` the label of its nearest labelled row of ``space`` (Euclidean).

    Parameters
    ----------
    labels : ndarray (N,) int
        Cluster of each row, ``-1`` (any negative value) for noise.
    space : ndarray (N, D) float
        Where the rows lie, e.g. :attr:`Clustering.embedding`.

    Returns
    -------
    ndarray (N,) int
        A copy of ``labels`` with no noise left, unless every row is noise (then an unchanged copy).

    Examples
    --------
    >>> import numpy as np
    >>> assign_noise_to_nearest(np.array([0, 1, -1]), np.array([[0.], [10.], [9.]])).tolist()
    [0, 1, 1]
    """
    labels = np.asarray(labels)
    noise = labels < 0
    if not noise.any() or noise.all():
        return labels.copy()
    nn = NearestNeighbors(n_neighbors=1).fit(space[~noise])
    idx = nn.kneighbors(space[noise], return_distance=False)[:, 0]
    out = labels.copy()
    out[noise] = labels[~noise][idx]
    return out


#: Above this many segments :func:`cluster` fits on a sample of this size by default (``sample="auto"``).
AUTO_SAMPLE = 100_000


def _sample_rows(n: int, sample: int | str | None, seed: int) -> np.ndarray | None:
    """Rows to fit on, sorted (None: all). ``"auto"`` samples :data:`AUTO_SAMPLE` rows above that many."""
    if sample is None:
        return None
    if isinstance(sample, str):
        if sample != "auto":
            raise ClusteringError(f"sample must be an int, 'auto' or None, got {sample!r}")
        sample = AUTO_SAMPLE
    sample = int(sample)
    if sample < MIN_SEGMENTS_TO_CLUSTER:
        raise ClusteringError(f"sample must be at least {MIN_SEGMENTS_TO_CLUSTER} segments, got {sample}")
    if n <= sample:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))


def cluster(embeddings: Embeddings, *, min_cluster_size: int | None = None, min_samples: int | None = None,
            reduce: Literal["umap", "pca", "none"] = "umap", n_components: int = 8, n_neighbors: int = 30,
            cluster_selection_method: Literal["eom", "leaf"] = "eom", cluster_selection_epsilon: float = 0.0,
            max_cluster_fraction: float = 0.5, random_state: int = 0,
            sample: int | Literal["auto"] | None = "auto") -> Clustering:
    """Cluster segment embeddings with HDBSCAN.

    Parameters
    ----------
    embeddings : Embeddings
    min_cluster_size, min_samples, reduce, n_components, n_neighbors
        See :class:`SegmentClusterer`.
    cluster_selection_method, cluster_selection_epsilon, max_cluster_fraction, random_state
        See :class:`SegmentClusterer`.
    sample : int, "auto" or None
        Fit UMAP and HDBSCAN on this many segments drawn at random (seeded by ``random_state``) and assign
        the others to the clusters found (:meth:`SegmentClusterer.predict`: a distance-weighted vote of their
        10 nearest fitted segments), so that millions of segments can be clustered; an explicit
        ``min_cluster_size`` is scaled to the sample. ``"auto"`` samples :data:`AUTO_SAMPLE` segments when
        there are more; ``None`` always fits on all. :func:`s2label.evaluation.measures.sample_agreement` measures how
        well a sampled fit agrees with a full one.

    Returns
    -------
    Clustering
        For a sampled fit ``params["fit_rows"]`` holds the number of fitted segments, and the condensed tree
        describes those only (the explorer then offers no re-cut along the hierarchy).

    Raises
    ------
    ClusteringError
        Too few segments, or non-finite vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from s2label.encoders.embeddings import Embeddings
    >>> rng = np.random.default_rng(1)
    >>> v = np.concatenate([rng.normal(0, .1, (50, 3)), rng.normal(5, .1, (50, 3))])
    >>> c = cluster(Embeddings(v, np.arange(1, 101), "spectral"), reduce="pca", min_cluster_size=10)
    >>> c.n_clusters, c.noise_fraction
    (2, 0.0)
    >>> s = cluster(Embeddings(v, np.arange(1, 101), "spectral"), reduce="pca", min_cluster_size=20, sample=40)
    >>> from sklearn.metrics import adjusted_rand_score
    >>> s.params["fit_rows"], adjusted_rand_score(c.cluster, s.cluster)
    (40, 1.0)
    """
    n = embeddings.n
    rows = _sample_rows(n, sample, random_state)
    if rows is not None and min_cluster_size is not None:
        min_cluster_size = max(2, int(round(min_cluster_size * rows.size / n)))
    model = SegmentClusterer(min_cluster_size=min_cluster_size, min_samples=min_samples, reduce=reduce,
                             n_components=n_components, n_neighbors=n_neighbors,
                             cluster_selection_method=cluster_selection_method,
                             cluster_selection_epsilon=cluster_selection_epsilon,
                             max_cluster_fraction=max_cluster_fraction,
                             random_state=random_state).fit(embeddings.vectors if rows is None
                                                            else embeddings.vectors[rows])
    if not (model.labels_ >= 0).any():
        warnings.warn(f"HDBSCAN found no cluster among {len(model.labels_)} segments (all noise); try a smaller "
                      f"min_cluster_size than {model.min_cluster_size_}", S2LabelWarning, stacklevel=2)
    if rows is None:
        return clustering_from_model(model, embeddings)
    labels, strengths = model.approximate_predict(embeddings.vectors)
    probabilities, outliers = strengths, 1.0 - strengths
    labels[rows], probabilities[rows], outliers[rows] = model.labels_, model.probabilities_, model.outlier_scores_
    params = _model_params(model, embeddings) | {"fit_rows": int(rows.size), "sample_seed": random_state}
    return Clustering(cluster=labels, probabilities=probabilities, outlier_scores=outliers.astype(np.float32),
                      segment_ids=embeddings.segment_ids, condensed_tree=model.condensed_tree_,
                      embedding=model.transform(embeddings.vectors), params=params, model=model)


def _model_params(model: SegmentClusterer, embeddings: Embeddings) -> dict[str, Any]:
    return model.get_params() | {"min_cluster_size": model.min_cluster_size_, "min_samples": model.min_samples_,
                                 "max_cluster_size": model.max_cluster_size_, "embedding_method": embeddings.encoder}


def clustering_from_model(model: SegmentClusterer, embeddings: Embeddings) -> Clustering:
    """The :class:`Clustering` of the segments a :class:`SegmentClusterer` was fitted on."""
    params = _model_params(model, embeddings)
    return Clustering(cluster=model.labels_, probabilities=model.probabilities_,
                      outlier_scores=model.outlier_scores_, segment_ids=embeddings.segment_ids,
                      condensed_tree=model.condensed_tree_, embedding=model.embedding_, params=params, model=model)


def predict_clustering(model: SegmentClusterer, embeddings: Embeddings) -> Clustering:
    """Assign the segments of another scene to a fitted model's clusters (:meth:`SegmentClusterer.predict`).

    The returned clustering keeps the model's condensed tree; its :attr:`Clustering.embedding` is the
    standardised embedding space, where noise is given its nearest cluster.
    """
    labels, strengths = model.approximate_predict(embeddings.vectors)
    params = model.get_params() | {"predicted": True, "embedding_method": embeddings.encoder}
    return Clustering(cluster=labels, probabilities=strengths, outlier_scores=1.0 - strengths,
                      segment_ids=embeddings.segment_ids, condensed_tree=model.condensed_tree_,
                      embedding=model.transform(embeddings.vectors), params=params, model=model)
