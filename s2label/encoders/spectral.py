"""Per-segment spectral features: band means and standard deviations, NDVI and NDWI (the baseline encoder)."""

from __future__ import annotations

import numpy as np

from s2label._renamed import renamed_function
from s2label.encoders.embeddings import Embeddings
from s2label.errors import SegmentationError
from s2label.io.bands import find_band
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation

__all__ = ["spectral_features", "segment_means", "segment_stats", "normalised_difference", "index_bands"]


def segment_means(values: np.ndarray, labels: np.ndarray, n_segments: int) -> np.ndarray:
    """Mean of each channel over each segment's pixels.

    Parameters
    ----------
    values : ndarray, shape (C, H, W) or (H, W)
    labels : ndarray, shape (H, W), int
        Segment ids 1..N; 0 is ignored.
    n_segments : int

    Returns
    -------
    ndarray, shape (N, C) (or (N,) for 2-D ``values``), float64

    Examples
    --------
    >>> import numpy as np
    >>> segment_means(np.array([[1., 3.], [5., 7.]]), np.array([[1, 1], [2, 0]]), 2).tolist()
    [2.0, 5.0]
    """
    if values.ndim == 2:
        return segment_stats(values[None], labels, n_segments)[0][:, 0]
    return segment_stats(values, labels, n_segments)[0]


def segment_stats(values: np.ndarray, labels: np.ndarray, n_segments: int, *,
                  std: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-segment mean and (optionally) standard deviation of every channel of (C, H, W) ``values``.

    Parameters
    ----------
    values : ndarray (C, H, W)
        Channels to summarise.
    labels : ndarray (H, W) int
        Segment id of every pixel, 1 to ``n_segments``; pixels labelled 0 are left out.
    n_segments : int
        Number of segments N (row ``i`` is segment id ``i + 1``).
    std : bool
        Also compute the standard deviations.

    Returns
    -------
    mean : ndarray (N, C) float64
    std : ndarray (N, C) float64, or None when ``std`` is False
        NaN for a segment id with no pixel.

    Examples
    --------
    >>> import numpy as np
    >>> m, s = segment_stats(np.array([[[1., 3.], [5., 7.]]]), np.array([[1, 1], [2, 2]]), 2, std=True)
    >>> m[:, 0].tolist(), s[:, 0].tolist()
    ([2.0, 6.0], [1.0, 1.0])
    """
    flat = labels.ravel()
    counts = np.bincount(flat, minlength=n_segments + 1)[1:].astype(np.float64)
    counts[counts == 0] = np.nan
    mean = np.empty((n_segments, values.shape[0]), np.float64)
    spread = np.empty_like(mean) if std else None
    for c in range(values.shape[0]):
        band = values[c].ravel().astype(np.float64)
        mean[:, c] = np.bincount(flat, weights=band, minlength=n_segments + 1)[1:] / counts
        if spread is not None:
            sq = np.bincount(flat, weights=band * band, minlength=n_segments + 1)[1:] / counts
            spread[:, c] = np.sqrt(np.clip(sq - mean[:, c] ** 2, 0.0, None))
    return mean, spread


def normalised_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a - b) / (a + b)``, 0 where ``a + b == 0``.

    Parameters
    ----------
    a, b : ndarray
        Two bands of the same shape (e.g. NIR and red for NDVI).

    Returns
    -------
    ndarray float32
        Of their shape.
    """
    num = a.astype(np.float32) - b
    den = a.astype(np.float32) + b
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return out


def index_bands(bands: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """The normalised-difference indices a band list allows, as ``{name: (a, b)}`` channel pairs of
    ``(a - b) / (a + b)``: NDVI (NIR B08 or B8A, red B04) and NDWI (green B03, NIR).

    Parameters
    ----------
    bands : tuple of str
        A scene's band names, in channel order.

    Returns
    -------
    dict of str to (int, int)
        ``"NDVI"`` and/or ``"NDWI"`` when their bands are there, each with the channel indices ``(a, b)``.

    Examples
    --------
    >>> index_bands(("B02", "B03", "B04", "B08"))
    {'NDVI': (3, 2), 'NDWI': (1, 3)}
    """
    red, nir, green = find_band(bands, "B04"), find_band(bands, "B08", "B8A"), find_band(bands, "B03")
    out: dict[str, tuple[int, int]] = {}
    if red is not None and nir is not None:
        out["NDVI"] = (nir, red)
    if green is not None and nir is not None:
        out["NDWI"] = (green, nir)
    return out


def spectral_features(scene: Scene, segmentation: Segmentation, *, std: bool = True,
                      indices: bool = True) -> Embeddings:
    """Describe each segment by its spectrum: mean (and standard deviation) of every band, NDVI, NDWI.

    NDVI is ``(NIR - red) / (NIR + red)`` with B08 (or B8A); NDWI is McFeeters' ``(green - NIR) / (green + NIR)``.
    An index whose bands the scene lacks is left out (its absence shows in ``feature_names``).

    Parameters
    ----------
    scene : Scene
    segmentation : Segmentation
        On the scene's grid.
    std, indices : bool
        Include per-band standard deviations / the two indices.

    Returns
    -------
    Embeddings
        ``encoder="spectral"``, ``vectors`` (N, D) with D = C (+ C) (+ 2).

    Examples
    --------
    >>> from s2label.io.datasets import sample_scene
    >>> from s2label.segmentation.superpixels import segment
    >>> scene = sample_scene(window=((0, 64), (0, 64)))
    >>> emb = spectral_features(scene, segment(scene, segment_size=100))
    >>> emb.feature_names[:2], emb.feature_names[-2:]
    (('mean_B01', 'mean_B02'), ('NDVI', 'NDWI'))
    """
    labels = segmentation.ids
    if labels.shape != scene.shape:
        raise SegmentationError(f"segmentation {labels.shape} is not on the scene's grid {scene.shape}")
    n = segmentation.n_segments
    means, spread = segment_stats(scene.data, labels, n, std=std)
    columns = [means]
    names = [f"mean_{b}" for b in scene.bands]
    if spread is not None:
        columns.append(spread)
        names += [f"std_{b}" for b in scene.bands]
    if indices:
        for name, (a, b) in index_bands(scene.bands).items():
            columns.append(segment_means(normalised_difference(scene.data[a], scene.data[b]), labels, n)[:, None])
            names.append(name)
    vectors = np.concatenate(columns, axis=1)
    return Embeddings(vectors=vectors.astype(np.float32), segment_ids=segmentation.segment_ids,
                      encoder="spectral", params={"std": std, "indices": indices, "bands": list(scene.bands)},
                      feature_names=tuple(names))


normalized_difference = renamed_function(normalised_difference, "s2label.encoders.spectral.normalized_difference")
