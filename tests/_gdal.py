"""What ``gdalinfo`` reads of a raster's categories, through the GDAL library rasterio itself loads (ctypes).

rasterio has no call for a band's category names or raster attribute table; GDAL's C API has. The tests read
them with it, as QGIS and ``gdalinfo`` do, rather than by parsing the ``.aux.xml`` they come from.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from pathlib import Path

__all__ = ["gdal_library", "category_names", "attribute_table"]


def gdal_library() -> ctypes.CDLL | None:
    """The GDAL library rasterio uses (its wheel's copy, else the system's); ``None`` when none is found."""
    import rasterio

    site = Path(rasterio.__file__).resolve().parent.parent
    found = sorted(glob.glob(str(site / "rasterio.libs" / "libgdal*.so*"))) or [ctypes.util.find_library("gdal")]
    if not found or found[0] is None:
        return None
    lib = ctypes.CDLL(found[0])  # the copy rasterio has loaded already (the same path)
    for name, res, args in [
        ("GDALAllRegister", None, []), ("GDALOpen", ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]),
        ("GDALClose", None, [ctypes.c_void_p]), ("GDALGetRasterBand", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_int]),
        ("GDALGetRasterCategoryNames", ctypes.POINTER(ctypes.c_char_p), [ctypes.c_void_p]),
        ("GDALGetDefaultRAT", ctypes.c_void_p, [ctypes.c_void_p]),
        ("GDALGetMetadata", ctypes.POINTER(ctypes.c_char_p), [ctypes.c_void_p, ctypes.c_char_p]),
        ("GDALRATGetRowCount", ctypes.c_int, [ctypes.c_void_p]),
        ("GDALRATGetColumnCount", ctypes.c_int, [ctypes.c_void_p]),
        ("GDALRATGetNameOfCol", ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_int]),
        ("GDALRATGetValueAsString", ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    lib.GDALAllRegister()
    return lib


def _band(lib: ctypes.CDLL, path: str | os.PathLike[str]) -> tuple[int, int]:
    dataset = lib.GDALOpen(os.fsencode(path), 0)
    if not dataset:
        raise OSError(f"GDAL cannot open {path}")
    lib.GDALGetMetadata(dataset, None)  # as gdalinfo does first; it reads the .aux.xml, which GTiff loads lazily
    return dataset, lib.GDALGetRasterBand(dataset, 1)


def category_names(lib: ctypes.CDLL, path: str | os.PathLike[str]) -> list[str]:
    """The first band's category names (``gdalinfo``'s *Categories*), ``[]`` when it has none."""
    dataset, band = _band(lib, path)
    try:
        names, out = lib.GDALGetRasterCategoryNames(band), []
        i = 0
        while names and names[i] is not None:
            out.append(names[i].decode())
            i += 1
        return out
    finally:
        lib.GDALClose(dataset)


def attribute_table(lib: ctypes.CDLL, path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The first band's default raster attribute table, one dict (column name -> text) per row."""
    dataset, band = _band(lib, path)
    try:
        rat = lib.GDALGetDefaultRAT(band)
        if not rat:
            return []
        columns = [lib.GDALRATGetNameOfCol(rat, c).decode() for c in range(lib.GDALRATGetColumnCount(rat))]
        return [{name: lib.GDALRATGetValueAsString(rat, r, c).decode() for c, name in enumerate(columns)}
                for r in range(lib.GDALRATGetRowCount(rat))]
    finally:
        lib.GDALClose(dataset)
