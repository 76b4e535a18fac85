"""What each label looks like spectrally: mean reflectance per band, NDVI and NDWI, pixel counts.

Naming clusters is easier with their spectra beside the map: water has a high NDWI and almost no
near-infrared, vegetation a high NDVI, bare soil and built-up areas a flat, bright spectrum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from s2label.encoders.spectral import segment_stats
from s2label.errors import SegmentationError, SessionError
from s2label.io.bands import WAVELENGTH_NM, find_band
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation

if TYPE_CHECKING:  # pragma: no cover
    from s2label.session.label_session import LabelSession

__all__ = ["LabelSpectra", "label_spectra", "session_spectra", "spectra_of_labels"]


@dataclass(frozen=True, eq=False)
class LabelSpectra:
    """Mean spectrum of every label, over its valid pixels.

    Attributes
    ----------
    labels : ndarray, shape (L,), int
        Label ids, ascending (``-1`` = noise / unlabelled, when present).
    names : tuple of str, length L
    bands : tuple of str, length B
    wavelengths_nm : ndarray, shape (B,), float
        Central wavelength of each band (NaN when unknown).
    mean : ndarray, shape (L, B), float64
        Pixel-weighted mean reflectance.
    ndvi, ndwi : ndarray, shape (L,), float64
        Of the mean spectrum; NaN when the scene lacks the bands.
    n_pixels : ndarray, shape (L,), int64
    """

    labels: np.ndarray
    names: tuple[str, ...]
    bands: tuple[str, ...]
    wavelengths_nm: np.ndarray
    mean: np.ndarray
    ndvi: np.ndarray
    ndwi: np.ndarray
    n_pixels: np.ndarray

    def rows(self) -> list[dict[str, Any]]:
        """One dict per label: ``label``, ``name``, ``n_pixels``, ``ndvi``, ``ndwi`` and each band's mean."""
        out = []
        for i, lab in enumerate(self.labels.tolist()):
            row: dict[str, Any] = {"label": lab, "name": self.names[i], "n_pixels": int(self.n_pixels[i]),
                                   "ndvi": round(float(self.ndvi[i]), 3), "ndwi": round(float(self.ndwi[i]), 3)}
            row.update({b: round(float(v), 4) for b, v in zip(self.bands, self.mean[i], strict=True)})
            out.append(row)
        return out

    def where(self, *, ndvi_above: float | None = None, ndwi_above: float | None = None) -> list[int]:
        """Ids of the labels whose NDVI / NDWI exceed the thresholds given (a quick way to pick water, crops).

        The noise / unlabelled group (-1) is never among them: it is not a label.
        """
        keep = self.labels >= 0
        if ndvi_above is not None:
            keep &= self.ndvi > ndvi_above
        if ndwi_above is not None:
            keep &= self.ndwi > ndwi_above
        return [int(v) for v in self.labels[keep]]


def _index(mean: np.ndarray, bands: tuple[str, ...], a: tuple[str, ...], b: tuple[str, ...]) -> np.ndarray:
    ia, ib = find_band(bands, *a), find_band(bands, *b)
    if ia is None or ib is None:
        return np.full(mean.shape[0], np.nan)
    num, den = mean[:, ia] - mean[:, ib], mean[:, ia] + mean[:, ib]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den != 0, num / den, np.nan)


def spectra_of_labels(segment_means: np.ndarray, segment_sizes: np.ndarray, segment_labels: np.ndarray,
                      bands: Sequence[str], *, names: Mapping[int, str] | None = None) -> LabelSpectra:
    """Pixel-weighted mean spectrum of each label, from per-segment means.

    Parameters
    ----------
    segment_means : ndarray, shape (N, B)
        Mean reflectance of each segment (NaN rows are left out).
    segment_sizes : ndarray, shape (N,)
        Pixels per segment.
    segment_labels : ndarray, shape (N,), int
        Label of each segment; negative values are kept as one group ``-1``.
    bands : sequence of str, length B
    names : mapping, optional
        Label id to name; default ``"cluster <id>"`` (``"noise"`` for -1).

    Returns
    -------
    LabelSpectra

    Examples
    --------
    >>> import numpy as np
    >>> s = spectra_of_labels(np.array([[0.1], [0.3], [0.5]]), np.array([1, 3, 4]), np.array([0, 0, -1]), ["B04"])
    >>> s.labels.tolist(), s.mean[:, 0].round(3).tolist(), s.n_pixels.tolist()
    ([-1, 0], [0.5, 0.25], [4, 4])
    """
    means = np.asarray(segment_means, dtype=np.float64)
    seg_lab = np.asarray(segment_labels)
    n = seg_lab.shape[0]
    bands = tuple(bands)
    if seg_lab.shape != (n,) or means.shape != (n, len(bands)) or np.shape(segment_sizes) != (n,):
        raise SegmentationError(f"segment_labels {seg_lab.shape}, segment_means {means.shape} and segment_sizes "
                                f"{np.shape(segment_sizes)} do not describe the same {n} segments of "
                                f"{len(bands)} bands")
    seg_lab = np.where(seg_lab < 0, -1, seg_lab).astype(np.int64)
    ids = np.unique(seg_lab)
    pos = np.searchsorted(ids, seg_lab)
    weights = np.where(np.isfinite(means).all(axis=1), np.asarray(segment_sizes, dtype=np.float64), 0.0)
    n_px = np.bincount(pos, weights=weights, minlength=ids.size)
    sums = np.zeros((ids.size, len(bands)))
    np.add.at(sums, pos, np.nan_to_num(means) * weights[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_px[:, None] > 0, sums / n_px[:, None], np.nan)
    names = dict(names or {})
    label_names = tuple(names.get(int(i), "noise" if i < 0 else f"cluster {int(i)}") for i in ids)
    wavelengths = np.array([WAVELENGTH_NM.get(b, np.nan) for b in bands], dtype=np.float64)
    return LabelSpectra(
        labels=ids.astype(np.int64), names=label_names, bands=bands, wavelengths_nm=wavelengths, mean=mean,
        ndvi=_index(mean, bands, ("B08", "B8A"), ("B04",)), ndwi=_index(mean, bands, ("B03",), ("B08", "B8A")),
        n_pixels=n_px.astype(np.int64),
    )


def label_spectra(scene: Scene, segmentation: Segmentation, segment_labels: np.ndarray, *,
                  names: Mapping[int, str] | None = None) -> LabelSpectra:
    """Mean spectrum of each label of the segments of a scene.

    Parameters
    ----------
    scene : Scene
    segmentation : Segmentation
        On the scene's grid, N segments.
    segment_labels : ndarray, shape (N,), int
        Label of each segment (row ``i`` = segment id ``i + 1``), e.g. ``clustering.cluster``; negative
        values are kept as one group ``-1``.
    names : mapping, optional
        Label id to name.

    Returns
    -------
    LabelSpectra

    Raises
    ------
    SegmentationError
        If the segmentation is not on the scene's grid or ``segment_labels`` has the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> data = np.zeros((3, 2, 4), np.float32); data[:, :, 2:] = [[[0.1]], [[0.05]], [[0.4]]]
    >>> scene = Scene(data + 0.02, ("B03", "B04", "B08"), Affine(10, 0, 0, 0, -10, 0), CRS.from_epsg(32630),
    ...               np.ones((2, 4), bool))
    >>> seg = Segmentation(np.array([[1, 1, 2, 2], [1, 1, 2, 2]]), scene.transform, scene.crs)
    >>> spectra = label_spectra(scene, seg, np.array([0, 1]), names={1: "field"})
    >>> spectra.names, spectra.where(ndvi_above=0.5)
    (('cluster 0', 'field'), [1])
    """
    if segmentation.ids.shape != scene.shape:
        raise SegmentationError(f"segmentation {segmentation.ids.shape} is not on the scene's grid "
                                f"{scene.shape}")
    n = segmentation.n_segments
    if np.shape(segment_labels) != (n,):
        raise SegmentationError(f"segment_labels has shape {np.shape(segment_labels)}, expected ({n},) for "
                                f"{n} segments")
    means, _ = segment_stats(scene.data, segmentation.ids, n)
    sizes = np.bincount(segmentation.ids.ravel(), minlength=n + 1)[1:]
    return spectra_of_labels(means, sizes, segment_labels, scene.bands, names=names)


def session_spectra(session: LabelSession) -> LabelSpectra:
    """Mean spectrum of each label of a :class:`~s2label.LabelSession` as it stands (names included).

    The session must carry segment spectra (:meth:`LabelSession.from_result` and :func:`s2label.explore`
    give it them). Unlabelled segments form the group ``-1``.

    Parameters
    ----------
    session : LabelSession

    Returns
    -------
    LabelSpectra
        One row per label in use, named as in the session (``-1`` is "unlabelled").

    Raises
    ------
    SessionError
        The session has no segment spectra.
    """
    if session.spectra is None:
        raise SessionError("this session has no segment spectra: build it with LabelSession.from_result")
    sizes = np.bincount(session.segmentation.ids.ravel(), minlength=session.n_segments + 1)[1:]
    names = {lab.id: lab.name for lab in session.labels} | {-1: "unlabelled"}
    return spectra_of_labels(session.spectra, sizes, session.label_of_segment(), session.bands, names=names)
