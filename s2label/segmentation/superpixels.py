"""Superpixel segmentation of a scene (SLIC, or Felzenszwalb) into segments that never cross the mask."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from skimage.measure import label as connected_components
from skimage.segmentation import felzenszwalb, slic

from s2label._frozen import Picklable
from s2label._renamed import renamed_attribute, renamed_function
from s2label._standardise import spread
from s2label.errors import SceneTooSmallError, SegmentationError
from s2label.io.scene import Scene

__all__ = ["Segmentation", "segment", "standardise", "band_stats", "coordinate_sums", "MIN_SEGMENTS"]

#: A scene must hold at least this many segments' worth of valid pixels.
MIN_SEGMENTS = 4


@dataclass(frozen=True, eq=False)
class Segmentation(Picklable):
    """Segment id of every pixel of a scene.

    Attributes
    ----------
    ids : ndarray, shape (H, W), int32
        Segment id of each pixel: 0 where masked or no data; segments are numbered 1..N, each 4-connected.
        (``labels`` before 0.2, still an alias until 0.3.)
    transform, crs
        The scene's grid.
    params : Mapping
        How it was made (method, sizes, bands, compactness...).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.array([[1, 1, 2], [0, 3, 2]], np.int32), Affine.identity(), CRS.from_epsg(3857))
    >>> seg.n_segments, seg.areas().tolist()
    (3, [2, 2, 1])
    """

    ids: np.ndarray
    transform: Affine
    crs: CRS
    params: Mapping[str, Any] = field(default_factory=dict)

    labels = renamed_attribute("ids", "Segmentation.labels")

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids)
        if ids.ndim != 2:
            raise SegmentationError(f"segment ids must be (H, W), got shape {ids.shape}")
        if ids.dtype != np.int32:
            ids = ids.astype(np.int32)
        if ids.size and ids.min() < 0:
            raise SegmentationError("segment ids must be >= 0 (0 = no data)")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def n_segments(self) -> int:
        """Number of segments N (the largest id)."""
        return int(self.ids.max()) if self.ids.size else 0

    def __repr__(self) -> str:
        h, w = self.ids.shape
        method = self.params.get("method", "")
        return f"Segmentation({self.n_segments} segments on {w}x{h} px" + (f", {method}" if method else "") + ")"

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.ids.shape[0]), int(self.ids.shape[1]))

    @property
    def segment_ids(self) -> np.ndarray:
        """(N,) int32 ids 1..N."""
        return np.arange(1, self.n_segments + 1, dtype=np.int32)

    def areas(self) -> np.ndarray:
        """(N,) int64 pixel count of each segment, index ``id - 1``."""
        return np.bincount(self.ids.ravel(), minlength=self.n_segments + 1)[1:]

    def to_raster(self, values: np.ndarray, *, fill: float = 0) -> np.ndarray:
        """Paint a per-segment array (N,) or (N, K) onto the grid; ``fill`` where there is no segment.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> from rasterio.crs import CRS
        >>> seg = Segmentation(np.array([[1, 2], [0, 2]]), Affine.identity(), CRS.from_epsg(3857))
        >>> seg.to_raster(np.array([7, 9]), fill=-2).tolist()
        [[7, 9], [-2, 9]]
        """
        values = np.asarray(values)
        if values.shape[0] != self.n_segments:
            raise SegmentationError(f"{values.shape[0]} values for {self.n_segments} segments")
        lut = np.empty((self.n_segments + 1,) + values.shape[1:], dtype=np.result_type(values, fill))
        lut[0] = fill
        lut[1:] = values
        return lut[self.ids]


def coordinate_sums(ids: np.ndarray, n_segments: int, *, first_row: int = 0) -> tuple[np.ndarray, ...]:
    """Pixel count and sums of row and column coordinates of each segment id 0..N (the moments of centroids).

    Sums of integer coordinates are exact in float64, so the sums of blocks of rows (``first_row`` the block's
    row in the whole raster) add up to those of the whole, in any order; centroid = sum / count.

    Parameters
    ----------
    ids : ndarray (H, W) int
        Segment ids 0..N (0: no segment, counted too).
    n_segments : int
        N; the outputs have N + 1 entries even if the highest ids are absent.
    first_row : int
        Row of ``ids``' first row in the whole raster (added to the row coordinates).

    Returns
    -------
    counts : ndarray (N + 1,) int64
    row_sum, col_sum : ndarray (N + 1,) float64

    Examples
    --------
    >>> counts, rows, cols = coordinate_sums(np.array([[1, 1, 2], [0, 2, 2]]), 2)  # id 0: no segment
    >>> (rows / np.maximum(counts, 1)).tolist(), (cols / np.maximum(counts, 1)).tolist()
    ([1.0, 0.0, 0.6666666666666666], [0.0, 0.5, 1.6666666666666667])
    """
    height, width = ids.shape
    flat = np.asarray(ids).ravel()
    counts = np.bincount(flat, minlength=n_segments + 1)
    row_sum = np.bincount(flat, weights=np.repeat(np.arange(first_row, first_row + height, dtype=np.float64), width),
                          minlength=n_segments + 1)
    col_sum = np.bincount(flat, weights=np.tile(np.arange(width, dtype=np.float64), height), minlength=n_segments + 1)
    return counts.astype(np.int64), row_sum, col_sum


def band_stats(scene: Scene, bands: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each band over the valid pixels: two (C,) float64 arrays.

    A band with no spread gets a standard deviation of 1 (so standardising it never divides by zero).

    Parameters
    ----------
    scene : Scene
    bands : sequence of str, optional
        Only these bands, in this order (default: all the scene's).

    Returns
    -------
    mean, std : ndarray (C,) float64
    """
    data = scene.data if bands is None else scene.data[[scene.band_index(b) for b in bands]]
    return spread(data[:, scene.valid], axis=1, dtype=np.float64)


def standardise(scene: Scene, bands: Sequence[str] | None = None, *,
                stats: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Bands scaled to zero mean and unit variance over valid pixels; 0 outside the mask.

    Parameters
    ----------
    scene : Scene
    bands : sequence of str, optional
    stats : (mean, std), optional
        Per-band (C,) statistics to standardise with instead of this scene's own (windows of a large
        scene share those of the whole, see :func:`band_stats`).

    Returns
    -------
    ndarray, shape (C, H, W), float32
    """
    data = scene.data if bands is None else scene.data[[scene.band_index(b) for b in bands]]
    valid = scene.valid
    mean, std = band_stats(scene, bands) if stats is None else (np.asarray(stats[0], np.float64),
                                                                 np.asarray(stats[1], np.float64))
    if mean.shape != (data.shape[0],) or std.shape != (data.shape[0],):
        raise SegmentationError(f"stats for {mean.shape[0]} bands given for {data.shape[0]} bands")
    out = (data - mean[:, None, None].astype(np.float32)) / std[:, None, None].astype(np.float32)
    out[:, ~valid] = 0.0
    return out.astype(np.float32, copy=False)


def segment(
    scene: Scene,
    *,
    method: Literal["slic", "felzenszwalb"] = "slic",
    segment_size: int = 200,
    n_segments: int | None = None,
    compactness: float = 0.1,
    bands: Sequence[str] | None = None,
    mask: np.ndarray | None = None,
    sigma: float = 0.0,
    max_num_iter: int = 10,
    felzenszwalb_scale: float = 30.0,
    stats: tuple[np.ndarray, np.ndarray] | None = None,
    seed_step: int | None = None,
) -> Segmentation:
    """Cut a scene into superpixels.

    Bands are standardised over the valid pixels (so no band dominates by its range) before SLIC
    (:func:`skimage.segmentation.slic`, ``channel_axis=0``) or Felzenszwalb. Masked pixels get id 0, and a
    segment that a mask hole splits becomes two segments: segments never cross the mask.

    Parameters
    ----------
    scene : Scene
    method : {"slic", "felzenszwalb"}
    segment_size : int
        Target mean segment size in pixels (200 px = 2 ha at 10 m); ignored if ``n_segments`` is given.
    n_segments : int, optional
        Target number of segments (SLIC).
    compactness : float
        SLIC's balance of spectral against spatial closeness, on standardised bands: 0.1 follows field
        edges, 1 gives nearly a square grid.
    bands : sequence of str, optional
        Bands to segment on (default: all).
    mask : ndarray (H, W) bool, optional
        Extra mask; pixels where it is False are left unsegmented.
    sigma : float
        Gaussian pre-smoothing width in pixels.
    max_num_iter : int
        SLIC iterations.
    felzenszwalb_scale : float
        Felzenszwalb's ``scale`` (larger: larger segments); its ``min_size`` is ``segment_size // 4``.
    stats : (mean, std), optional
        Per-band statistics to standardise with (default: the scene's own; see :func:`standardise`).
    seed_step : int, optional
        SLIC only: put the initial cluster centres on a regular grid of this step in pixels, starting at
        ``seed_step // 2`` from the top-left corner, over the whole raster (masked pixels included), instead of
        deriving the grid from ``n_segments``. Windows of a large scene whose origins lie on multiples of the
        step then share one grid of seeds, so they segment their overlap alike (:mod:`s2label.segmentation.stitch`).

    Returns
    -------
    Segmentation

    Raises
    ------
    SceneTooSmallError
        If the valid area holds fewer than :data:`MIN_SEGMENTS` segments of ``segment_size``.

    Notes
    -----
    SLIC runs without its ``mask`` argument: scikit-image seeds masked SLIC with k-means over every mask
    coordinate, about 40 times slower on a 1 Mpx scene. Masked pixels are instead filled with a value far
    from any data, so no segment straddles the mask edge, then cleared and split into connected pieces.

    Examples
    --------
    Four constant quadrants give four segments:

    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> q = np.zeros((3, 40, 40), np.float32); q[:, :20, 20:] = 1; q[:, 20:, :20] = 2; q[:, 20:, 20:] = 3
    >>> scene = Scene(q, ("B02", "B03", "B04"), Affine(10, 0, 0, 0, -10, 0), CRS.from_epsg(32633),
    ...               np.ones((40, 40), bool))
    >>> segment(scene, n_segments=4, compactness=0.01).n_segments
    4
    """
    if mask is not None and np.asarray(mask).shape != scene.shape:
        raise SegmentationError(f"mask shape {np.asarray(mask).shape} does not match the scene {scene.shape}")
    valid = scene.valid if mask is None else (scene.valid & np.asarray(mask, bool))
    n_valid = int(valid.sum())
    if n_segments is None:
        if segment_size < 1:
            raise SegmentationError(f"segment_size (--segment-size) must be >= 1 px, got {segment_size}")
        n_segments = max(1, round(n_valid / segment_size))
    size = n_valid / max(n_segments, 1)
    if n_segments < MIN_SEGMENTS:
        raise SceneTooSmallError(
            f"{n_valid} valid pixels make {n_segments} segment(s) of ~{size:.0f} px; at least {MIN_SEGMENTS} "
            "are needed (use a smaller segment_size, --segment-size, or a larger scene or window)",
            path=scene.source or None)

    image = standardise(scene, bands, stats=stats)
    if not valid.all():
        image[:, ~valid] = image[:, valid].min(axis=1)[:, None] - 10.0
    params: dict[str, Any] = {"method": method, "bands": list(bands) if bands else list(scene.bands),
                              "sigma": sigma, "n_segments_requested": int(n_segments),
                              "segment_size": float(size)}
    if method == "slic":
        n_points: float = int(n_segments)
        if seed_step is not None:
            # scikit-image's regular grid: step round(sqrt(H W / n)), first seed at floor(sqrt(H W / n) / 2);
            # a hair fewer points than H W / step^2 makes that exactly `seed_step` and `seed_step // 2`
            n_points = image.shape[1] * image.shape[2] / float(seed_step) ** 2 * (1 - 1e-9)
            params["seed_step"] = int(seed_step)
        raw = slic(image, n_segments=n_points, compactness=compactness, max_num_iter=max_num_iter,
                   sigma=sigma, channel_axis=0, start_label=1, convert2lab=False, enforce_connectivity=True)
        params.update(compactness=compactness, max_num_iter=max_num_iter)
    elif method == "felzenszwalb":
        with warnings.catch_warnings():  # it warns for any channel count but 3; many bands are intended
            warnings.filterwarnings("ignore", message="Got image with third dimension")
            raw = felzenszwalb(image, scale=felzenszwalb_scale, sigma=max(sigma, 0.0),
                               min_size=max(int(size) // 4, 1), channel_axis=0) + 1
        params.update(felzenszwalb_scale=felzenszwalb_scale)
    else:
        raise SegmentationError(f"unknown segmentation method {method!r}; use 'slic' or 'felzenszwalb'")
    raw[~valid] = 0
    labels = connected_components(raw, background=0, connectivity=1).astype(np.int32)
    return Segmentation(ids=labels, transform=scene.transform, crs=scene.crs, params=params)


standardize = renamed_function(standardise, "s2label.segmentation.superpixels.standardize")
