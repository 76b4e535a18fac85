"""The :class:`Scene`: a multi-band reflectance raster on one grid, with its valid-pixel mask."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import array_bounds

from s2label._frozen import Picklable
from s2label.errors import BandError, SceneError
from s2label.io.bands import find_band, normalise_band

__all__ = ["Scene"]


@dataclass(frozen=True, eq=False)
class Scene(Picklable):
    """Reflectance of a Sentinel-2 scene on one grid.

    Parameters
    ----------
    data : ndarray, shape (C, H, W), float32
        Reflectance (0-1 for most surfaces). Pixels outside ``valid`` hold 0.
    bands : tuple of str, length C
        Canonical band names (``B02``, ``B8A``, ...), one per channel of ``data``.
    transform : affine.Affine
        Pixel (col, row) to map (x, y) transform of the grid.
    crs : rasterio.crs.CRS
        Coordinate reference system of the grid.
    valid : ndarray, shape (H, W), bool
        True where every band has data.
    source : str, optional
        Where the scene was read from (used in messages and reports).
    meta : Mapping, optional
        How it was read: product type, processing baseline, scale and offset per band, window.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> s = Scene(np.ones((3, 4, 5), np.float32), ("B02", "B03", "B04"), Affine(10, 0, 0, 0, -10, 40),
    ...           CRS.from_epsg(32633), np.ones((4, 5), bool))
    >>> s.shape, s.band("red").shape, s.resolution
    ((4, 5), (4, 5), (10.0, 10.0))
    """

    data: np.ndarray
    bands: tuple[str, ...]
    transform: Affine
    crs: CRS
    valid: np.ndarray
    source: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.ndim != 3:
            raise SceneError(f"data must be (C, H, W), got shape {data.shape}", path=self.source or None)
        if data.dtype != np.float32:
            data = data.astype(np.float32)
        valid = np.asarray(self.valid, dtype=bool)
        if valid.shape != data.shape[1:]:
            raise SceneError(f"valid mask {valid.shape} does not match data {data.shape[1:]}",
                             path=self.source or None)
        bands = tuple(normalise_band(b) for b in self.bands)
        if len(bands) != data.shape[0]:
            raise BandError(f"{len(bands)} band names for {data.shape[0]} channels")
        if self.crs is None:
            raise SceneError("scene has no CRS", path=self.source or None)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "valid", valid)
        object.__setattr__(self, "bands", bands)
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    # --- geometry -------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the grid."""
        return (int(self.data.shape[1]), int(self.data.shape[2]))

    @property
    def height(self) -> int:
        return self.shape[0]

    @property
    def width(self) -> int:
        return self.shape[1]

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size (x, y) in CRS units (positive)."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the scene CRS."""
        west, south, east, north = array_bounds(self.height, self.width, self.transform)
        return (west, south, east, north)

    # --- bands ----------------------------------------------------------------------------------
    def band_index(self, name: str) -> int:
        """Channel index of a band (any spelling :func:`~s2label.io.bands.normalise_band` accepts)."""
        canonical = normalise_band(name)
        idx = find_band(self.bands, canonical)
        if idx is None:
            raise BandError(f"band {canonical} is not in this scene (it has {', '.join(self.bands)})",
                            path=self.source or None)
        return idx

    def band(self, name: str) -> np.ndarray:
        """The (H, W) reflectance of one band."""
        return self.data[self.band_index(name)]

    def select(self, bands: Sequence[str]) -> Scene:
        """A scene with only ``bands``, in that order (shares no memory with this one)."""
        idx = [self.band_index(b) for b in bands]
        return Scene(self.data[idx].copy(), tuple(self.bands[i] for i in idx), self.transform, self.crs,
                     self.valid.copy(), self.source, dict(self.meta))

    def __repr__(self) -> str:
        return (f"Scene({self.height}x{self.width} px, bands={list(self.bands)}, crs={self.crs.to_string()}, "
                f"valid={self.valid.mean():.1%}, source={self.source!r})")
