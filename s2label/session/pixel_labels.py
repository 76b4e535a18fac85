"""Labels finer than a segment: a pixel classifier trained on the pixels of confidently labelled segments.

Every segment-level label map is capped by its segmentation: a segment that straddles a field and a road has
one label. :func:`refine_pixels` lifts the cap. It trains a random forest
(:class:`sklearn.ensemble.RandomForestClassifier`, 50 trees, the classifier of ilastik and IRIS) on pixels drawn
from segments whose label is confident (set by hand, or a propagation or cluster probability of at least
``min_confidence``, 0.5 by default: more likely right than not), with the pixel's own bands and two indices
(NDVI, NDWI), and lets it re-decide the label of every labelled pixel (``where="everywhere"``, the default) or
of pixels near a segment boundary only (``where="boundary"``). Pixels of unlabelled segments stay unlabelled:
the classifier only re-draws the borders of the labels the researcher has, it adds none.

Measured on the Aberystwyth reference scene (4 classes; spectral run, 4,456 segments):

- every segment given its majority class (the segment ceiling, 0.808): everywhere 0.903, a 2 px boundary band
  0.863; with 15 % of the segments given a random class (0.720): 0.887 and 0.806 -- each segment's wrong
  pixels are outvoted by the right ones elsewhere, which a boundary band cannot use;
- the labels a simulated researcher reaches (``benchmarks/labelling.py``, 50 / 200 actions, segment maps
  0.741 / 0.756): ``min_confidence`` 0.5 gives 0.860 / 0.868, 0.0 gives 0.855 / 0.862, 0.9 0.832 / 0.815: the
  forest needs examples from the whole scene more than it needs sure ones;
- gradient boosting (``HistGradientBoostingClassifier``, 100 rounds) instead: 0.898 at the ceiling, 14 times
  slower, and 23 times slower on a session of 26 unnamed clusters (it grows a tree per label and round);
- features that describe the pixel's segment (its mean bands; measured with boosting) let the classifier
  recognise the segment and copy its label (0.808, no gain); a 3 x 3 neighbourhood mean gave 0.883 against 0.898
  without it.

Examples
--------
A segment that holds two surfaces is split along them:

>>> import numpy as np
>>> from affine import Affine
>>> from rasterio.crs import CRS
>>> from s2label.io.scene import Scene
>>> from s2label.segmentation.superpixels import Segmentation
>>> truth = np.zeros((40, 40), np.int64); truth[:, 25:] = 1                # water right of column 25
>>> data = np.where(truth == 1, 0.02, 0.3)[None].repeat(3, 0)
>>> grid = Affine(10, 0, 500000, 0, -10, 4000000)
>>> scene = Scene(data.astype(np.float32), ("B03", "B04", "B08"), grid, CRS.from_epsg(32633), np.ones((40, 40), bool))
>>> segments = np.where(np.arange(40)[None, :] < 20, 1, 2).repeat(40, 0)   # the cut is at column 20
>>> seg = Segmentation(segments.astype(np.int32), grid, CRS.from_epsg(32633))
>>> result = refine_pixels(scene, seg, np.array([0, 1]), np.array([1.0, 1.0]), progress=False)
>>> float((result.labels == truth).mean()) > 0.99, int(result.n_changed)
(True, 200)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.segmentation import find_boundaries
from sklearn.ensemble import RandomForestClassifier
from tqdm.auto import tqdm

from s2label.errors import SessionError
from s2label.io.scene import Scene
from s2label.segmentation.export import NODATA
from s2label.segmentation.superpixels import Segmentation

__all__ = ["PixelLabels", "WHERE", "pixel_features", "refine_pixels"]

#: Which pixels the classifier may re-decide.
WHERE = ("everywhere", "boundary")
_CHUNK = 1 << 20  # pixels per prediction chunk


@dataclass(frozen=True)
class PixelLabels:
    """A label per pixel.

    Attributes
    ----------
    labels : ndarray (H, W) int32
        Label id of each pixel; ``-1`` unlabelled, :data:`~s2label.segmentation.export.NODATA` (-2) outside the
        segments.
    probability : ndarray (H, W) float32
        The classifier's probability of the pixel's label where it decided it; the segment's confidence
        elsewhere.
    n_changed : int
        Pixels whose label differs from their segment's.
    params : dict
        The options, the classes and the number of training pixels.
    """

    labels: np.ndarray
    probability: np.ndarray
    n_changed: int
    params: dict


def _index(scene: Scene, name: str) -> int | None:
    try:
        return scene.band_index(name)
    except Exception:  # noqa: BLE001 - a band the scene lacks: no index from it
        return None


def pixel_features(scene: Scene, pixels: np.ndarray) -> np.ndarray:
    """Features of some pixels: their bands, and NDVI and NDWI when the scene has B03, B04 and B08.

    Parameters
    ----------
    scene : Scene
    pixels : ndarray (K,) int
        Flat indices into the (H, W) grid.

    Returns
    -------
    ndarray (K, C + 2) float32 (C when the scene lacks B03/B04/B08)
    """
    own = scene.data.reshape(scene.data.shape[0], -1)[:, pixels].T.astype(np.float32)
    columns = [own]
    green, red, nir = (_index(scene, b) for b in ("B03", "B04", "B08"))
    if green is not None and red is not None and nir is not None:
        def nd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return ((a - b) / np.maximum(np.abs(a + b), 1e-6))[:, None]

        columns += [nd(own[:, nir], own[:, red]), nd(own[:, green], own[:, nir])]
    return np.concatenate(columns, axis=1)


def _boundary(segmentation: Segmentation, width: int) -> np.ndarray:
    """(H, W) bool: pixels within ``width`` pixels of another segment (both sides of every border)."""
    edge = find_boundaries(segmentation.ids, mode="thick")
    return ndimage.binary_dilation(edge, iterations=width - 1) if width > 1 else edge


def refine_pixels(scene: Scene, segmentation: Segmentation, segment_labels: np.ndarray, confidence: np.ndarray, *,
                  where: str = "everywhere", width: int = 2, min_confidence: float = 0.5, n_train: int = 60_000,
                  seed: int = 0, progress: bool = True) -> PixelLabels:
    """Re-decide the label of pixels with a classifier trained on pixels of confidently labelled segments.

    Parameters
    ----------
    scene : Scene
        The reflectance the segments were cut from (same grid).
    segmentation : Segmentation
    segment_labels : ndarray (N,) int
        Label id of segment ``i + 1`` (``-1`` unlabelled).
    confidence : ndarray (N,) float
        How sure each segment's label is (1 by hand); segments at ``min_confidence`` or more give training
        pixels, weighted by it.
    where : {"everywhere", "boundary"}
        Re-decide every labelled pixel, or only those within ``width`` pixels of a segment boundary.
    width : int
        Width of the boundary band, in pixels (``where="boundary"``).
    min_confidence : float
        0..1.
    n_train : int
        Training pixels at most, shared equally among the labels (a rare label keeps all its pixels).
    seed : int
        Seeds the choice of training pixels and the classifier: the same inputs give the same map.
    progress : bool
        A progress bar over the prediction.

    Returns
    -------
    PixelLabels

    Raises
    ------
    SessionError
        Inputs of the wrong shape or grid, an unknown ``where``, or fewer than two labels with confident
        segments (nothing to tell apart).
    """
    labels = np.asarray(segment_labels, np.int64)
    confidence = np.asarray(confidence, np.float64)
    n = segmentation.n_segments
    if labels.shape != (n,) or confidence.shape != (n,):
        raise SessionError(f"segment_labels and confidence need one value per segment ({n})")
    if segmentation.shape != scene.shape:
        raise SessionError(f"the segmentation ({segmentation.shape}) is not on the scene's grid ({scene.shape})")
    if where not in WHERE:
        raise SessionError(f"where must be one of {WHERE}, got {where!r}")
    if not 0 <= min_confidence <= 1:
        raise SessionError(f"min_confidence must be within 0..1, got {min_confidence}")
    flat = segmentation.ids.ravel().astype(np.int64)
    per_pixel = np.concatenate([[NODATA], labels])[flat].astype(np.int32)  # segment 0 (outside) -> NODATA
    per_pixel_conf = np.concatenate([[0.0], confidence])[flat].astype(np.float32)
    good = np.concatenate([[False], (labels >= 0) & (confidence >= min_confidence)])[flat]
    good &= scene.valid.ravel()
    classes = np.unique(per_pixel[good])
    if classes.size < 2:
        raise SessionError("pixel precision needs confidently labelled segments of at least two labels (name or "
                           "label some, or lower min_confidence)")
    rng = np.random.default_rng(seed)
    share = max(n_train // classes.size, 1)
    train = []
    for value in classes:
        members = np.flatnonzero(good & (per_pixel == value))
        train.append(members if members.size <= share else rng.choice(members, share, replace=False))
    train_px = np.sort(np.concatenate(train))
    model = RandomForestClassifier(n_estimators=50, min_samples_leaf=3, n_jobs=-1, random_state=seed)
    model.fit(pixel_features(scene, train_px), per_pixel[train_px],
              sample_weight=per_pixel_conf[train_px])
    decide = np.isin(per_pixel, classes) & scene.valid.ravel()  # a label with no confident segment stays as it is
    if where == "boundary":
        decide &= _boundary(segmentation, width).ravel()
    todo = np.flatnonzero(decide)
    out, prob = per_pixel.copy(), per_pixel_conf.copy()
    prob[per_pixel < 0] = 0.0
    for start in tqdm(range(0, todo.size, _CHUNK), disable=not progress, desc="pixel labels", unit="Mpx",
                      unit_scale=_CHUNK / 1e6):
        part = todo[start:start + _CHUNK]
        p = model.predict_proba(pixel_features(scene, part))
        best = np.argmax(p, axis=1)
        out[part] = model.classes_[best]
        prob[part] = p[np.arange(part.size), best]
    shape = segmentation.shape
    return PixelLabels(out.reshape(shape), prob.reshape(shape), int((out != per_pixel).sum()),
                       {"where": where, "width": width, "min_confidence": min_confidence, "n_train": int(train_px.size),
                        "classes": [int(c) for c in classes], "seed": seed})




