"""Write arrays as GeoTIFFs on a scene's grid, atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.crs import CRS

from s2label._atomic import atomic_path, ensure_writable_dir

__all__ = ["write_raster"]


def write_raster(path: str | os.PathLike[str], array: np.ndarray, *, transform: Any, crs: CRS,
                 nodata: float | None = None, band_names: tuple[str, ...] | None = None,
                 tags: dict[str, Any] | None = None) -> Path:
    """Write a (H, W) or (C, H, W) array as a tiled, DEFLATE-compressed GeoTIFF.

    Parameters
    ----------
    path : path-like
        Target file; written to a temporary file beside it, then moved into place. Missing parent
        folders are created.
    array : ndarray, shape (H, W) or (C, H, W)
    transform, crs
        The grid (e.g. ``scene.transform``, ``scene.crs``).
    nodata : float, optional
        Value recorded as the no-data value.
    band_names : tuple of str, optional
        Stored as band descriptions.
    tags : dict, optional
        Dataset-level metadata tags.

    Returns
    -------
    Path
    """
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[None]
    count, height, width = arr.shape
    profile = {
        "driver": "GTiff", "height": height, "width": width, "count": count, "dtype": arr.dtype.name,
        "crs": crs, "transform": transform, "nodata": nodata, "compress": "deflate",
        "tiled": height >= 256 and width >= 256, "blockxsize": 256, "blockysize": 256,
    }
    if not profile["tiled"]:
        del profile["blockxsize"], profile["blockysize"]
    target = ensure_writable_dir(Path(path).parent) / Path(path).name
    with atomic_path(target) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
            if band_names:
                for i, name in enumerate(band_names, start=1):
                    dst.set_band_description(i, name)
            if tags:
                dst.update_tags(**{k: str(v) for k, v in tags.items()})
    return target
