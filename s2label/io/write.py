"""Write arrays as GeoTIFFs on a scene's grid, atomically."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.crs import CRS

from s2label._atomic import atomic_path, ensure_writable_dir
from s2label.io.styles import NO_LABEL_CODE, LabelStyle, colour_table, pam_xml

__all__ = ["write_raster", "write_label_codes"]


def write_raster(path: str | os.PathLike[str], array: np.ndarray, *, transform: Any, crs: CRS,
                 nodata: float | None = None, band_names: tuple[str, ...] | None = None,
                 tags: dict[str, Any] | None = None,
                 colormap: Mapping[int, tuple[int, int, int, int]] | None = None,
                 aux_xml: str | None = None) -> Path:
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
    colormap : mapping of int to (r, g, b, alpha), optional
        The first band's colour table (a palette: uint8 or uint16 pixels only; see
        :func:`s2label.io.styles.colour_table`).
    aux_xml : str, optional
        GDAL's auxiliary metadata (``PATH.aux.xml``: category names, an attribute table; see
        :func:`s2label.io.styles.pam_xml`), written beside the file. Without it, a ``.aux.xml`` left there by an
        earlier file is removed, so that it does not describe this one.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        A colour table on pixels other than uint8 or uint16.
    """
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[None]
    count, height, width = arr.shape
    if colormap is not None and arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"a colour table needs uint8 or uint16 pixels, got {arr.dtype.name}")
    profile = {
        "driver": "GTiff", "height": height, "width": width, "count": count, "dtype": arr.dtype.name,
        "crs": crs, "transform": transform, "nodata": nodata, "compress": "deflate",
        "tiled": height >= 256 and width >= 256, "blockxsize": 256, "blockysize": 256,
    }
    if not profile["tiled"]:
        del profile["blockxsize"], profile["blockysize"]
    target = ensure_writable_dir(Path(path).parent) / Path(path).name
    aux = target.with_name(target.name + ".aux.xml")
    with atomic_path(target) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr)
            if band_names:
                for i, name in enumerate(band_names, start=1):
                    dst.set_band_description(i, name)
            if tags:
                dst.update_tags(**{k: str(v) for k, v in tags.items()})
            if colormap is not None:
                dst.write_colormap(1, dict(colormap))
    if aux_xml is not None:
        with atomic_path(aux) as tmp:
            tmp.write_text(aux_xml, encoding="utf-8")
    else:
        with contextlib.suppress(FileNotFoundError):
            aux.unlink()
    return target


def write_label_codes(path: str | os.PathLike[str], codes: np.ndarray, styles: Sequence[LabelStyle], *,
                      transform: Any, crs: CRS, tags: dict[str, Any] | None = None) -> Path:
    """Write a coded label raster that opens styled: the labels' colours as its colour table, their names and
    pixel counts in ``PATH.aux.xml`` (:func:`s2label.io.styles.pam_xml`), 0 (no label) the no-data value.

    Parameters
    ----------
    path : path-like
    codes : ndarray (H, W) uint8 or uint16
        Palette codes (:func:`s2label.io.styles.label_codes`).
    styles : sequence of LabelStyle
        Each label's value, name and colour.
    transform, crs
        The grid.
    tags : dict, optional
        Dataset-level metadata tags.

    Returns
    -------
    Path
    """
    counts = np.bincount(np.asarray(codes).ravel(), minlength=max((s.value for s in styles), default=-1) + 2)
    return write_raster(path, codes, transform=transform, crs=crs, nodata=NO_LABEL_CODE, tags=tags,
                        colormap=colour_table(styles), aux_xml=pam_xml(styles, counts.tolist()))
