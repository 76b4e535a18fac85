"""Known segmentations and independent answers (pyproj) shared by the display tests."""

from __future__ import annotations

import base64
import io

import numpy as np
from affine import Affine
from PIL import Image
from pyproj import Transformer
from rasterio.crs import CRS

from s2label.display.colours import palette
from s2label.display.mercator import DisplayGrid
from s2label.display.overlays import segment_lut
from s2label.segmentation.superpixels import Segmentation

#: UTM 33N, 2.5 degrees west of the zone's central meridian: the UTM grid is rotated ~1.5 degrees
#: against Web Mercator, so the display grid has empty corners and bounds differ from the lat/lon extent.
UTM = CRS.from_epsg(32633)


ORIGIN = Affine(10, 0, 300000, 0, -10, 4000000)


TRUE_COLOUR = ("B04", "B03", "B02")


QUADRANT_LUT = np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255],
                         [255, 255, 0, 128]], np.uint8)


def quadrant_labels(size: int = 60) -> np.ndarray:
    """Top-left 1, top-right 2, bottom-left 3, bottom-right 4."""
    half = size // 2
    return np.repeat(np.repeat(np.array([[1, 2], [3, 4]], np.int32), half, axis=0), half, axis=1)


def pixel_lonlat(seg: Segmentation, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of pixel centres, through pyproj directly (independent of the module under test)."""
    x, y = seg.transform * (np.asarray(cols, float) + 0.5, np.asarray(rows, float) + 0.5)
    lon, lat = Transformer.from_crs(seg.crs, "EPSG:4326", always_xy=True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def display_pixel_of(grid: DisplayGrid, seg: Segmentation, row: float, col: float) -> tuple[int, int]:
    """The display pixel holding the centre of a segmentation pixel."""
    x, y = seg.transform * (col + 0.5, row + 0.5)
    mx, my = Transformer.from_crs(seg.crs, "EPSG:3857", always_xy=True).transform(x, y)
    c, r = ~grid.transform * (mx, my)
    return int(r), int(c)


def cluster_colours(cluster_of_segment: np.ndarray, *, alpha: int = 255) -> np.ndarray:
    """A lookup table colouring each segment by its cluster (palette order; noise transparent)."""
    colours = np.vstack([palette(int(cluster_of_segment.max()) + 1), [[0, 0, 0]]]).astype(np.uint8)
    lut = segment_lut(colours[cluster_of_segment], alpha=alpha)
    lut[1:][cluster_of_segment < 0] = 0
    return lut


def leaflet_pixel_lonlat(grid: DisplayGrid) -> tuple[np.ndarray, np.ndarray]:
    """Where Leaflet puts each display pixel's centre: a linear stretch in Web Mercator between the bounds."""
    (south, west), (north, east) = grid.bounds
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (x0, x1), (y0, y1) = to_merc.transform([west, east], [north, south])
    h, w = grid.shape
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    mx, my = x0 + cols * (x1 - x0) / w, y0 + rows * (y1 - y0) / h
    lon, lat = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True).transform(mx, my)
    return np.asarray(lon), np.asarray(lat)


def decode_data_url(url: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url[len(prefix):]))))
