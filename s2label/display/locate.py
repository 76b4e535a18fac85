"""From the map to the scene: the segment under a click, and the segments inside a drawn polygon.

Both work on the native segmentation (not on the coarser display rasters), from WGS84 coordinates as Leaflet
reports them. Nothing here imports ipywidgets or ipyleaflet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.features import rasterize
from shapely.geometry import MultiPolygon, Polygon, shape

from s2label.display._crs import WEB_MERCATOR, WGS84, crs_transformer
from s2label.errors import SegmentationError, SessionError
from s2label.segmentation.superpixels import Segmentation

__all__ = ["SegmentLocator", "segments_in_polygon", "polygon_to_scene_crs", "polygon_window", "pixels_in_polygon",
           "PolygonLike"]

#: What a drawn polygon may be given as (see :func:`segments_in_polygon`).
PolygonLike: TypeAlias = Sequence[Sequence[float]] | Mapping[str, Any] | shapely.Geometry


class SegmentLocator:
    """The segment under a WGS84 point, on the native segmentation grid (microseconds per call).

    Parameters
    ----------
    segmentation : Segmentation

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.array([[1, 2], [0, 2]]), Affine(10, 0, 500000, 0, -10, 4000000), CRS.from_epsg(32633))
    >>> loc = SegmentLocator(seg)
    >>> [loc.locate(*loc.latlon(r, c)) for r, c in [(0, 0), (0, 1), (1, 0), (1, 1)]]
    [1, 2, 0, 2]
    >>> loc.pixel(*loc.latlon(1, 1)), loc.pixel(0.0, 0.0)
    ((1, 1), None)
    """

    def __init__(self, segmentation: Segmentation) -> None:
        self.segmentation = segmentation
        self._labels = segmentation.ids
        self._height, self._width = segmentation.shape
        inv = ~segmentation.transform
        self._inv = (float(inv.a), float(inv.b), float(inv.c), float(inv.d), float(inv.e), float(inv.f))
        self._to_grid = crs_transformer(WGS84, segmentation.crs)
        self._to_wgs84 = crs_transformer(segmentation.crs, WGS84)

    def pixel(self, lat: float, lon: float) -> tuple[int, int] | None:
        """(row, col) of the segmentation pixel holding a point, or ``None`` outside the grid."""
        x, y = self._to_grid.transform(lon, lat)
        a, b, c, d, e, f = self._inv
        col = a * x + b * y + c
        row = d * x + e * y + f
        if not (0.0 <= row < self._height and 0.0 <= col < self._width):   # also False for NaN / inf
            return None
        return (int(row), int(col))

    def locate(self, lat: float, lon: float) -> int:
        """Segment id at a point; 0 outside the scene or where masked."""
        rc = self.pixel(lat, lon)
        return 0 if rc is None else int(self._labels[rc])

    def locate_many(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`locate`: (M,) latitudes and longitudes to (M,) int32 segment ids."""
        x, y = self._to_grid.transform(np.asarray(lons, float), np.asarray(lats, float))
        a, b, c, d, e, f = self._inv
        col = np.asarray(a * x + b * y + c, float)
        row = np.asarray(d * x + e * y + f, float)
        inside = (row >= 0) & (row < self._height) & (col >= 0) & (col < self._width)
        out = np.zeros(row.shape, np.int32)
        out[inside] = self._labels[row[inside].astype(np.intp), col[inside].astype(np.intp)]
        return out

    def latlon(self, row: float, col: float) -> tuple[float, float]:
        """(lat, lon) of the centre of pixel (row, col) of the segmentation grid."""
        x, y = self.segmentation.transform * (col + 0.5, row + 0.5)
        lon, lat = self._to_wgs84.transform(x, y)
        return (float(lat), float(lon))


# --- drawn polygons ----------------------------------------------------------------------------------

def _rings_of(polygon: Any) -> list[list[Any]]:
    """Polygons as lists of rings (exterior first) of (lon, lat) coordinates, from any accepted input."""
    if hasattr(polygon, "__geo_interface__"):
        polygon = polygon.__geo_interface__
    if isinstance(polygon, Mapping):
        kind = polygon.get("type")
        if kind == "Feature":
            return _rings_of(polygon.get("geometry"))
        if kind == "Polygon":
            return [list(polygon["coordinates"])]
        if kind == "MultiPolygon":
            return [list(p) for p in polygon["coordinates"]]
        raise ValueError(f"expected a GeoJSON Polygon, MultiPolygon or Feature, got type {kind!r}")
    if polygon is None:
        raise ValueError("no polygon given")
    return [[polygon]]


def _clean_ring(coords: Any) -> np.ndarray:
    try:
        ring = np.asarray(coords, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"polygon coordinates must be (lon, lat) pairs: {err}") from None
    if ring.ndim != 2 or ring.shape[1] < 2:
        raise ValueError(f"polygon coordinates must be a list of (lon, lat) pairs, got shape {ring.shape}")
    ring = ring[:, :2]
    if not np.isfinite(ring).all():
        raise ValueError("polygon coordinates contain NaN or infinity")
    if np.abs(ring[:, 1]).max() > 90:
        raise ValueError("polygon latitudes must lie within -90..90 degrees (coordinates are (lon, lat))")
    if len(ring) > 1 and np.array_equal(ring[0], ring[-1]):
        ring = ring[:-1]
    if len(np.unique(ring, axis=0)) < 3:
        raise ValueError(f"a polygon needs at least 3 distinct points, got {len(np.unique(ring, axis=0))}")
    return ring


def _to_scene_crs(polygons: list[list[Any]], crs: CRS) -> MultiPolygon:
    """(lon, lat) rings -> scene CRS, with edges densified in Web Mercator (Leaflet draws them straight there)."""
    to_merc = crs_transformer(WGS84, WEB_MERCATOR)
    to_scene = crs_transformer(WEB_MERCATOR, crs)
    parts = []
    for rings in polygons:
        if not rings:
            raise ValueError("a polygon needs an exterior ring")
        merc = []
        for coords in rings:
            ring = _clean_ring(coords)
            x, y = to_merc.transform(ring[:, 0], ring[:, 1])
            merc.append(np.column_stack([x, y]))
        poly = Polygon(merc[0], merc[1:])
        step = max(poly.exterior.length / 256, 1e-3)
        coords_out = []
        for ring in [poly.exterior, *poly.interiors]:
            dense = np.asarray(shapely.segmentize(ring, step).coords)
            sx, sy = to_scene.transform(dense[:, 0], dense[:, 1])
            pts = np.column_stack([sx, sy])
            if not np.isfinite(pts).all():
                raise ValueError(f"the polygon cannot be projected to the scene CRS {crs.to_string()}")
            coords_out.append(pts)
        parts.append(Polygon(coords_out[0], coords_out[1:]))
    return MultiPolygon(parts)


def polygon_to_scene_crs(polygon_lonlat: PolygonLike, crs: CRS) -> MultiPolygon:
    """A polygon drawn on the map (lon/lat, any form :func:`segments_in_polygon` takes) in the scene CRS, its
    edges densified in Web Mercator, where Leaflet draws them straight.

    Parameters
    ----------
    polygon_lonlat : list of (lon, lat), or GeoJSON dict
        A ring of (lon, lat) points, a GeoJSON ``Polygon``/``MultiPolygon`` geometry or ``Feature``, or any
        object with ``__geo_interface__``.
    crs : rasterio.crs.CRS
        The scene's CRS.

    Returns
    -------
    shapely.MultiPolygon
        The polygon in ``crs``.

    Raises
    ------
    ValueError
        Fewer than 3 distinct points, non-finite or out-of-range coordinates.
    """
    return _to_scene_crs(_rings_of(polygon_lonlat), crs)


def segments_in_polygon(segmentation: Segmentation, polygon_lonlat: PolygonLike, *, min_fraction: float = 0.5,
                        areas: np.ndarray | None = None) -> np.ndarray:
    """Segments that lie mostly inside a polygon drawn on the map.

    The polygon is projected to the scene CRS and rasterised (pixel centres inside) onto the segmentation
    grid, within the polygon's bounding window only.

    Parameters
    ----------
    segmentation : Segmentation
    polygon_lonlat : list of (lon, lat), or GeoJSON dict
        A ring of (lon, lat) points, or a GeoJSON ``Polygon``/``MultiPolygon`` geometry or ``Feature`` (as
        ipyleaflet's ``DrawControl`` reports it), or any object with ``__geo_interface__``.
    min_fraction : float
        Share (0-1) of a segment's pixels that must be inside.
    areas : ndarray (N,), optional
        ``segmentation.areas()``, if the caller keeps it (saves a pass over the whole raster per call).

    Returns
    -------
    ndarray (K,) int32
        Segment ids, ascending; empty if the polygon misses the scene.

    Raises
    ------
    ValueError
        If the polygon has fewer than 3 distinct points, non-finite or out-of-range coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.array([[1, 2], [3, 4]]).repeat(30, 0).repeat(30, 1),
    ...                    Affine(10, 0, 500000, 0, -10, 4000000), CRS.from_epsg(32633))
    >>> loc = SegmentLocator(seg)
    >>> ring = [loc.latlon(r, c)[::-1] for r, c in [(2, 2), (2, 27), (27, 27), (27, 2)]]   # (lon, lat)
    >>> segments_in_polygon(seg, ring).tolist(), segments_in_polygon(seg, ring, min_fraction=0.9).tolist()
    ([1], [])
    """
    if not 0 <= min_fraction <= 1:
        raise ValueError(f"min_fraction must be within 0..1, got {min_fraction}")
    window = polygon_window(segmentation, polygon_to_scene_crs(polygon_lonlat, segmentation.crs))
    if window is None:
        return np.zeros(0, np.int32)
    (r0, r1, c0, c1), inside = window
    n = segmentation.n_segments
    counts = np.bincount(segmentation.ids[r0:r1, c0:c1][inside], minlength=n + 1)[1:]
    candidates = np.flatnonzero(counts)
    if candidates.size == 0:
        return np.zeros(0, np.int32)
    totals = segmentation.areas() if areas is None else np.asarray(areas)
    if totals.shape != (n,):
        raise SegmentationError(f"areas has shape {totals.shape}; the segmentation has {n} segments")
    keep = counts[candidates] >= min_fraction * totals[candidates]
    return (candidates[keep] + 1).astype(np.int32)


def polygon_window(segmentation: Segmentation, geom: Any) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The window of the grid around a polygon (scene CRS) and which of its pixel centres lie inside.

    Parameters
    ----------
    segmentation : Segmentation
        Gives the grid (its ``shape`` and ``transform``).
    geom : shapely geometry
        The polygon in the scene CRS (:func:`polygon_to_scene_crs`).

    Returns
    -------
    ((r0, r1, c0, c1), inside) or None
        Rows ``r0:r1`` and columns ``c0:c1`` of the grid, ``inside`` (r1 - r0, c1 - c0) bool
        (``rasterio.features.rasterize``); ``None`` when the polygon misses the grid.
    """
    height, width = segmentation.shape
    inv = ~segmentation.transform
    minx, miny, maxx, maxy = geom.bounds
    cols, rows = zip(*(inv * (x, y) for x in (minx, maxx) for y in (miny, maxy)), strict=True)
    c0, c1 = max(math.floor(min(cols)), 0), min(math.ceil(max(cols)), width)
    r0, r1 = max(math.floor(min(rows)), 0), min(math.ceil(max(rows)), height)
    if c1 <= c0 or r1 <= r0:
        return None
    inside = rasterize([(geom, 1)], out_shape=(r1 - r0, c1 - c0), transform=segmentation.transform *
                       Affine.translation(c0, r0), fill=0, dtype="uint8").astype(bool)
    return (r0, r1, c0, c1), inside


def pixels_in_polygon(segmentation: Segmentation, valid: np.ndarray | None, geometry: Mapping[str, Any]) -> np.ndarray:
    """The pixels of the segments whose centres lie inside a polygon (``rasterio.features.rasterize``).

    Parameters
    ----------
    segmentation : Segmentation
    valid : ndarray (H, W) bool, optional
        Pixels with data (no-data pixels are never inside).
    geometry : mapping
        GeoJSON ``Polygon`` or ``MultiPolygon`` in the segmentation's CRS.

    Returns
    -------
    ndarray (K,) int64
        Flat indices into the (H, W) grid, ascending.

    Raises
    ------
    SessionError
        Not a polygon, non-finite coordinates, a self-intersecting polygon, one outside the scene or one that
        covers no pixel centre of a segment.

    Examples
    --------
    >>> import numpy as np
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.ones((4, 4), np.int32), Affine(10, 0, 0, 0, -10, 40), CRS.from_epsg(32633))
    >>> square = {"type": "Polygon", "coordinates": [[(0, 40), (20, 40), (20, 20), (0, 20), (0, 40)]]}
    >>> pixels_in_polygon(seg, None, square).tolist()
    [0, 1, 4, 5]
    """
    if not isinstance(geometry, Mapping) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, Mapping) else type(geometry).__name__
        raise SessionError(f"a pixel-exact polygon must be a GeoJSON Polygon or MultiPolygon, got {kind!r:.40}")
    try:
        geom = shape(geometry)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for malformed coordinates
        raise SessionError(f"cannot read the polygon ({exc})") from None
    coords = shapely.get_coordinates(geom)
    if coords.size == 0 or not np.isfinite(coords).all():
        raise SessionError("the polygon has no coordinates or non-finite ones")
    if not geom.is_valid:
        raise SessionError(f"the polygon is not valid ({shapely.is_valid_reason(geom)}): draw it "
                           "again without crossing its own edges")
    window = polygon_window(segmentation, geom)
    if window is None:
        raise SessionError("the polygon lies outside the scene")
    (r0, r1, c0, c1), inside = window
    width = segmentation.shape[1]
    inside &= segmentation.ids[r0:r1, c0:c1] > 0
    if valid is not None:
        inside &= np.asarray(valid)[r0:r1, c0:c1]
    rr, cc = np.nonzero(inside)
    if rr.size == 0:
        raise SessionError("the polygon covers no pixel of the scene (no pixel centre with data inside it)")
    return np.sort((rr + r0).astype(np.int64) * width + (cc + c0))
