"""How far two annotators agree: Cohen's kappa, per-label IoU and the confusion table of two label maps.

Two researchers label the same run (two sessions); their labels have ids of their own, so they are matched by
*name*. Unlabelled pixels are a category of their own (``"unlabelled"``); pixels outside the segments (no data)
are left out.

Examples
--------
>>> import numpy as np
>>> a = np.array([[0, 0, 1], [1, 1, -1]])
>>> b = np.array([[0, 1, 1], [1, 1, -1]])
>>> result = agreement(a, b, names_a={0: "water", 1: "field"}, names_b={0: "water", 1: "field"})
>>> result.labels, result.confusion.tolist()
(('field', 'unlabelled', 'water'), [[3, 0, 0], [0, 1, 0], [1, 0, 1]])
>>> round(result.kappa, 3), {k: round(v, 2) for k, v in result.iou.items()}
(0.714, {'field': 0.75, 'unlabelled': 1.0, 'water': 0.5})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from s2label.errors import SessionError
from s2label.segmentation.export import NODATA, NOISE

__all__ = ["LabelAgreement", "agreement"]

UNLABELLED_NAME = "unlabelled"


@dataclass(frozen=True)
class LabelAgreement:
    """Agreement of two label maps over the pixels both cover.

    Attributes
    ----------
    labels : tuple of str
        The label names, sorted; ``"unlabelled"`` among them where either map has unlabelled pixels.
    confusion : ndarray (L, L) int64
        Pixels labelled ``labels[i]`` in the first map and ``labels[j]`` in the second.
    kappa : float
        Cohen's kappa: ``(p_o - p_e) / (1 - p_e)`` (1 when both maps are one same label).
    accuracy : float
        ``p_o``, the share of pixels with the same label in both.
    iou : dict
        Per label, pixels in both / pixels in either.
    n_pixels : int
    """

    labels: tuple[str, ...]
    confusion: np.ndarray
    kappa: float
    accuracy: float
    iou: dict[str, float]
    n_pixels: int


def _named(labels: Any, names: Mapping[int, str] | None) -> tuple[np.ndarray, Mapping[int, str]]:
    """A raster of label ids and their names, from a raster (+ names) or a session (its segment precision map)."""
    if hasattr(labels, "label_raster") and hasattr(labels, "labels"):
        return np.asarray(labels.label_raster()), {lab.id: lab.name for lab in labels.labels}
    raster = np.asarray(labels)
    if raster.dtype.kind not in "iu":
        raise SessionError(f"a label map must hold integer label ids, got {raster.dtype}")
    present = [int(v) for v in np.unique(raster) if v >= 0]
    return raster, dict(names) if names is not None else {v: str(v) for v in present}


def agreement(a: Any, b: Any, *, names_a: Mapping[int, str] | None = None,
              names_b: Mapping[int, str] | None = None) -> LabelAgreement:
    """Compare two annotators' label maps, label by label name.

    Parameters
    ----------
    a, b : LabelSession or ndarray (H, W) int
        Two sessions over the same run (their per-segment label maps, pixel-exact polygons included), or two
        label rasters on one grid (``-1`` unlabelled, ``-2`` no data).
    names_a, names_b : mapping label id -> name, optional
        Names of a raster's ids (default: the ids as text, so equal ids match).

    Returns
    -------
    LabelAgreement

    Raises
    ------
    SessionError
        Maps of different shapes, no pixel both cover, or an id without a name.
    """
    ra, na = _named(a, names_a)
    rb, nb = _named(b, names_b)
    if ra.shape != rb.shape:
        raise SessionError(f"the two label maps have different shapes: {ra.shape} and {rb.shape}")
    both = (ra != NODATA) & (rb != NODATA)
    if not both.any():
        raise SessionError("the two label maps cover no pixel in common")
    va, vb = ra[both], rb[both]

    def names_of(values: np.ndarray, names: Mapping[int, str]) -> tuple[np.ndarray, np.ndarray]:
        ids = np.unique(values)
        missing = [int(v) for v in ids if v != NOISE and int(v) not in names]
        if missing:
            raise SessionError(f"label {missing[0]} of a label map has no name")
        return ids, np.array([UNLABELLED_NAME if v == NOISE else names[int(v)] for v in ids], object)

    ids_a, text_a = names_of(va, na)
    ids_b, text_b = names_of(vb, nb)
    labels = tuple(sorted({*text_a, *text_b}))
    index = {name: i for i, name in enumerate(labels)}
    ca = np.array([index[t] for t in text_a])[np.searchsorted(ids_a, va)]
    cb = np.array([index[t] for t in text_b])[np.searchsorted(ids_b, vb)]
    k = len(labels)
    confusion = np.bincount(ca * k + cb, minlength=k * k).reshape(k, k).astype(np.int64)
    n = int(confusion.sum())
    observed = float(np.trace(confusion)) / n
    expected = float((confusion.sum(axis=1) * confusion.sum(axis=0)).sum()) / (n * n)
    kappa = 1.0 if expected == 1.0 else (observed - expected) / (1.0 - expected)
    union = confusion.sum(axis=1) + confusion.sum(axis=0) - np.diag(confusion)
    iou = {name: float(confusion[i, i] / union[i]) for i, name in enumerate(labels) if union[i] > 0}
    return LabelAgreement(labels, confusion, float(kappa), observed, iou, n)
