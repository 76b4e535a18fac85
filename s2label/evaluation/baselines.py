"""Baselines the pipeline is measured against: k-means on pixels and on segment vectors.

Examples
--------
>>> import numpy as np
>>> from s2label.evaluation.baselines import segment_kmeans
>>> rng = np.random.default_rng(0)
>>> X = np.vstack([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
>>> labels = segment_kmeans(X, 2, seed=0)
>>> len(set(labels[:20])), len(set(labels[20:])), bool(labels[0] != labels[-1])
(1, 1, True)
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from s2label.errors import ClusteringError
from s2label.io.scene import Scene
from s2label.segmentation.export import NODATA

__all__ = ["pixel_kmeans", "segment_kmeans"]


def pixel_kmeans(scene: Scene, n_clusters: int, *, sample: int = 200_000, seed: int = 0) -> np.ndarray:
    """Baseline: k-means on standardised pixel spectra.

    Fitted (:class:`sklearn.cluster.KMeans`, 4 initialisations) on a seeded sample of at most ``sample``
    valid pixels, standardised by the sample's mean and deviation, then predicted for every valid pixel in
    chunks (memory stays bounded on whole tiles).

    Parameters
    ----------
    scene : Scene
    n_clusters : int
        k, at least 1 and at most the number of sampled valid pixels.
    sample : int
        Fit on at most this many valid pixels.
    seed : int
        Seeds the sample and k-means.

    Returns
    -------
    ndarray, shape (H, W), int32
        Cluster 0..n_clusters-1; -2 outside ``scene.valid``.

    Raises
    ------
    ClusteringError
        ``n_clusters`` below 1 or above the number of sampled valid pixels.

    Examples
    --------
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> d = np.zeros((2, 3, 4), np.float32); d[:, :, 2:] = 1
    >>> s = Scene(d, ("B04", "B08"), Affine(10, 0, 0, 0, -10, 0), CRS.from_epsg(32633), np.ones((3, 4), bool))
    >>> m = pixel_kmeans(s, 2)
    >>> bool(m[0, 0] == m[2, 1] != m[0, 2] == m[2, 3])
    True
    """
    flat = np.flatnonzero(scene.valid.ravel())
    if n_clusters < 1 or n_clusters > min(flat.size, sample):
        raise ClusteringError(f"cannot make {n_clusters} clusters of {min(flat.size, sample)} sampled valid pixels")
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(flat, size=min(sample, flat.size), replace=False))
    pixels = scene.data.reshape(scene.data.shape[0], -1)
    train = pixels[:, picked].T.astype(np.float64)
    scaler = StandardScaler().fit(train)
    model = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit(scaler.transform(train))
    out = np.full(scene.valid.size, NODATA, np.int32)
    for start in range(0, flat.size, _CHUNK_PIXELS):
        chunk = flat[start:start + _CHUNK_PIXELS]
        out[chunk] = model.predict(scaler.transform(pixels[:, chunk].T.astype(np.float64)))
    return out.reshape(scene.shape)


def segment_kmeans(vectors: np.ndarray, n_clusters: int, *, seed: int = 0) -> np.ndarray:
    """Baseline: k-means (10 initialisations) on standardised (N, D) segment vectors, e.g. mean spectra.

    Parameters
    ----------
    vectors : ndarray, shape (N, D), float
        One finite vector per segment.
    n_clusters : int
        k, 1 to N.
    seed : int
        Seeds k-means.

    Returns
    -------
    ndarray, shape (N,), int32
        Cluster 0..n_clusters-1 of each segment (no noise).

    Raises
    ------
    ClusteringError
        ``vectors`` not (N, D) or not finite, or ``n_clusters`` outside 1..N.

    Examples
    --------
    >>> segment_kmeans(np.array([[0., 0.], [0.1, 0.], [5., 5.], [5.1, 5.]]), 2).tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])
    True
    """
    X = np.asarray(vectors, dtype=np.float64)
    if X.ndim != 2:
        raise ClusteringError(f"vectors must be (N, D), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ClusteringError("vectors contain NaN or infinity")
    if n_clusters < 1 or n_clusters > X.shape[0]:
        raise ClusteringError(f"cannot make {n_clusters} clusters of {X.shape[0]} vectors")
    model = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(StandardScaler().fit_transform(X))
    return model.labels_.astype(np.int32)


#: Pixels predicted per k-means chunk in :func:`pixel_kmeans` (bounds memory on whole tiles).
_CHUNK_PIXELS = 1_000_000
