"""Turn per-segment labels into rasters and dissolved polygons; write GeoJSON, GeoPackage and GeoTIFF.

Polygons come from :func:`rasterio.features.shapes` on the label raster (exact pixel edges, 4-connected),
one (Multi)Polygon per label. GeoJSON is written to RFC 7946: WGS84 longitude/latitude, exterior rings
counter-clockwise and holes clockwise, no ``crs`` member. The GeoPackage keeps the scene's CRS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from rasterio.crs import CRS
from rasterio.features import shapes
from rasterio.warp import transform_geom
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient

from s2label._atomic import atomic_path
from s2label._json import to_jsonable
from s2label._renamed import renamed_function
from s2label.errors import OutputError, SegmentationError
from s2label.io.styles import LabelStyle, is_hex_colour, qml_style, simplestyle, sld_style
from s2label.io.write import write_raster
from s2label.segmentation.superpixels import Segmentation

__all__ = [
    "NOISE", "NODATA", "LabelPolygons", "label_raster", "vectorise", "vectorise_raster", "to_geojson", "write_geojson",
    "write_geopackage", "write_label_raster", "pixel_area_m2",
]

#: Label of noise segments (HDBSCAN's convention).
NOISE = -1
#: Label of pixels outside every segment in label rasters.
NODATA = -2
_WGS84 = CRS.from_epsg(4326)
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True, eq=False)
class LabelPolygons:
    """One dissolved (Multi)Polygon per label value, in the scene CRS, with feature properties.

    Attributes
    ----------
    values : tuple of int
        The label value of each feature.
    geometries : tuple of shapely MultiPolygon
        In ``crs``.
    properties : tuple of dict
        At least ``cluster``, ``name``, ``n_segments``, ``area_m2``.
    crs : CRS
    """

    values: tuple[int, ...]
    geometries: tuple[MultiPolygon, ...]
    properties: tuple[dict[str, Any], ...]
    crs: CRS

    def __len__(self) -> int:
        return len(self.values)


def label_raster(segmentation: Segmentation, segment_labels: np.ndarray) -> np.ndarray:
    """Paint a label per segment onto the grid: (H, W) int32, :data:`NODATA` (-2) outside segments.

    Parameters
    ----------
    segmentation : Segmentation
    segment_labels : ndarray (N,) int
        Label of segment ``i + 1`` (``-1`` = noise).

    Returns
    -------
    ndarray (H, W) int32

    Raises
    ------
    SegmentationError
        Not one label per segment.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from rasterio.crs import CRS
    >>> seg = Segmentation(np.array([[1, 2], [0, 2]]), Affine.identity(), CRS.from_epsg(32633))
    >>> label_raster(seg, np.array([4, -1])).tolist()
    [[4, -1], [-2, -1]]
    """
    labels = np.asarray(segment_labels)
    if labels.shape != (segmentation.n_segments,):
        raise SegmentationError(f"{labels.shape[0]} labels for {segmentation.n_segments} segments")
    return segmentation.to_raster(labels.astype(np.int32), fill=NODATA)


def pixel_area_m2(transform: Any, crs: CRS) -> float | None:
    """Area of one pixel in m² (``None`` for a geographic CRS).

    Parameters
    ----------
    transform : Affine
        The grid's transform.
    crs : CRS
        The grid's CRS.

    Returns
    -------
    float or None
    """
    if crs.is_projected:
        factor = crs.linear_units_factor[1] if crs.linear_units_factor else 1.0
        return abs(transform.a * transform.e - transform.b * transform.d) * factor * factor
    return None


def vectorise(
    segmentation: Segmentation,
    segment_labels: np.ndarray,
    *,
    names: Mapping[int, str] | None = None,
    extra_properties: Mapping[int, Mapping[str, Any]] | None = None,
    include_noise: bool = True,
) -> LabelPolygons:
    """Dissolve the segments of each label into one (Multi)Polygon.

    Parameters
    ----------
    segmentation : Segmentation
    segment_labels : ndarray (N,) int
        Label of each segment; ``-1`` is noise.
    names : mapping label -> str, optional
        Feature names (default ``"cluster 3"``, and ``"noise"`` for -1).
    extra_properties : mapping label -> dict, optional
        More properties per label (e.g. provenance).
    include_noise : bool
        Whether noise segments get a feature (``cluster: -1``).

    Returns
    -------
    LabelPolygons
        Sorted by label value.
    """
    labels = np.asarray(segment_labels).astype(np.int32)
    seg_counts = {int(v): int(c) for v, c in zip(*np.unique(labels, return_counts=True), strict=True)}
    return vectorise_raster(label_raster(segmentation, labels), segmentation.transform, segmentation.crs,
                            names=names, extra_properties=extra_properties, include_noise=include_noise,
                            segment_counts=seg_counts)


def vectorise_raster(raster: np.ndarray, transform: Any, crs: CRS, *, names: Mapping[int, str] | None = None,
                     extra_properties: Mapping[int, Mapping[str, Any]] | None = None, include_noise: bool = True,
                     segment_counts: Mapping[int, int] | None = None) -> LabelPolygons:
    """Dissolve the pixels of each value of a label raster into one (Multi)Polygon.

    Parameters
    ----------
    raster : ndarray (H, W) int32
        Label per pixel; :data:`NODATA` (-2) outside, :data:`NOISE` (-1) noise/unlabelled.
    transform, crs
        The raster's grid.
    names, extra_properties, include_noise
        As :func:`vectorise`.
    segment_counts : mapping label -> int, optional
        The ``n_segments`` property (0 where missing).

    Returns
    -------
    LabelPolygons
        Sorted by label value.
    """
    raster = np.asarray(raster, np.int32)
    seg_counts = dict(segment_counts or {})
    mask = raster != NODATA
    if not include_noise:
        mask &= raster != NOISE
    parts: dict[int, list[Polygon]] = {}
    for geom, value in shapes(raster, mask=mask, connectivity=4, transform=transform):
        parts.setdefault(int(value), []).append(shape(geom))
    counts = np.bincount(raster[mask].ravel() - NODATA)  # pixel count per (value - NODATA)
    pixel_area = pixel_area_m2(transform, crs)
    values, geoms, props = [], [], []
    for value in sorted(parts):
        geom = MultiPolygon(parts[value])
        if not geom.is_valid:
            geom = _as_multipolygon(shapely.make_valid(geom))
        if pixel_area is not None:
            area = float(counts[value - NODATA]) * pixel_area
        else:
            area = abs(_GEOD.geometry_area_perimeter(_to_wgs84(geom, crs))[0])
        name = (names or {}).get(value) or ("noise" if value == NOISE else f"cluster {value}")
        prop: dict[str, Any] = {"cluster": value, "name": str(name), "n_segments": seg_counts.get(value, 0),
                                "area_m2": round(area, 2)}
        prop.update((extra_properties or {}).get(value, {}))
        values.append(value)
        geoms.append(geom)
        props.append(prop)
    return LabelPolygons(tuple(values), tuple(geoms), tuple(props), crs)


def _as_multipolygon(geom: Any) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    flat: list[Polygon] = []
    for g in polys:
        flat.extend(g.geoms if isinstance(g, MultiPolygon) else [g])
    return MultiPolygon(flat)


def _to_wgs84(geom: MultiPolygon, crs: CRS) -> MultiPolygon:
    if crs == _WGS84:
        return geom
    return shape(transform_geom(crs, _WGS84, mapping(geom)))


def _rfc7946(geom: MultiPolygon, precision: int) -> dict[str, Any]:
    oriented = [orient(p, sign=1.0) for p in geom.geoms]  # exterior CCW, holes CW
    multi = MultiPolygon(oriented)
    if not multi.is_valid:
        multi = _as_multipolygon(shapely.make_valid(multi))
        multi = MultiPolygon([orient(p, sign=1.0) for p in multi.geoms])

    def ring(coords: Any) -> list[list[float]]:
        return [[round(x, precision), round(y, precision)] for x, y in coords]

    polys = [[ring(p.exterior.coords)] + [ring(h.coords) for h in p.interiors] for p in multi.geoms]
    if len(polys) == 1:
        return {"type": "Polygon", "coordinates": polys[0]}
    return {"type": "MultiPolygon", "coordinates": polys}


def to_geojson(polygons: LabelPolygons, *, precision: int = 7) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection (WGS84 lon/lat, right-hand rule) of the polygons.

    A feature whose properties carry a ``colour`` (``"#rrggbb"``) also gets the *simplestyle* ``fill``,
    ``fill-opacity``, ``stroke`` and ``stroke-width`` (:func:`s2label.io.styles.simplestyle`), so that geojson.io
    and GitHub draw it in its label's colour.

    Parameters
    ----------
    polygons : LabelPolygons
    precision : int
        Decimal places kept in coordinates (7 = about 1 cm).

    Returns
    -------
    dict
        The FeatureCollection (each feature's ``id`` its label value).
    """
    features = []
    for value, geom, prop in zip(polygons.values, polygons.geometries, polygons.properties, strict=True):
        wgs = _to_wgs84(geom, polygons.crs)
        properties = to_jsonable(prop)
        if is_hex_colour(prop.get("colour")):
            properties = {**properties, **simplestyle(str(prop["colour"]))}
        features.append({"type": "Feature", "id": int(value), "properties": properties,
                         "geometry": _rfc7946(wgs, precision)})
    return {"type": "FeatureCollection", "features": features}


def write_geojson(path: str | os.PathLike[str], polygons: LabelPolygons, *, precision: int = 7) -> Path:
    """Write the polygons as an RFC 7946 GeoJSON file, atomically (:func:`to_geojson`).

    Parameters
    ----------
    path : path-like
    polygons : LabelPolygons
    precision : int
        Decimal places kept in coordinates.

    Returns
    -------
    Path
    """
    target = Path(path)
    text = json.dumps(to_geojson(polygons, precision=precision), separators=(",", ":"))
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def write_geopackage(path: str | os.PathLike[str], polygons: LabelPolygons, *, layer: str = "labels") -> Path:
    """Write the polygons to a GeoPackage layer in the scene's CRS, atomically (replaces the file).

    When every feature carries a ``colour``, the file also holds a ``layer_styles`` table as QGIS writes it: the
    layer's default style, categorised on ``label`` (or ``cluster``) with each label's colour and name
    (:func:`s2label.io.styles.qml_style`, and the same as SLD), so that QGIS opens it styled.

    Parameters
    ----------
    path : path-like
    polygons : LabelPolygons
    layer : str
        The layer's name.

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        GDAL cannot write the file.
    """
    import pyogrio.raw

    target = Path(path)
    keys: list[str] = []
    for prop in polygons.properties:
        keys.extend(k for k in prop if k not in keys)
    field_data = []
    for key in keys:
        column = [prop.get(key) for prop in polygons.properties]
        if all(isinstance(v, (bool, np.bool_)) for v in column):
            field_data.append(np.asarray(column, dtype=bool))
        elif all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in column):
            field_data.append(np.asarray(column, dtype=np.int64))
        elif all(isinstance(v, (int, float, np.number)) for v in column):
            field_data.append(np.asarray(column, dtype=np.float64))
        else:
            field_data.append(np.asarray(["" if v is None else (json.dumps(v) if isinstance(v, (list, dict))
                                                                 else str(v)) for v in column], dtype=object))
    wkb = np.array([shapely.to_wkb(g) for g in polygons.geometries], dtype=object)
    with atomic_path(target) as tmp:
        try:
            pyogrio.raw.write(str(tmp), wkb, field_data, keys, layer=layer, driver="GPKG",
                              geometry_type="MultiPolygon", crs=polygons.crs.to_wkt())
            styles = _layer_styles(polygons)
            if styles:
                _write_layer_style(tmp, layer, *styles)
        except Exception as exc:  # pyogrio raises several GDAL-derived types
            raise OutputError(f"cannot write GeoPackage ({exc})", path=target) from exc
    return target


def _layer_styles(polygons: LabelPolygons) -> tuple[tuple[LabelStyle, ...], str] | None:
    """The label styles of polygons whose every feature has a colour, and the attribute they are keyed on."""
    props = polygons.properties
    if not props or not all(is_hex_colour(p.get("colour")) for p in props):
        return None
    key = "label" if all(isinstance(p.get("label"), (int, np.integer)) for p in props) else "cluster"
    if not all(isinstance(p.get(key), (int, np.integer)) and p[key] >= 0 for p in props):
        return None
    return tuple(LabelStyle(int(p[key]), str(p.get("name", p[key])), str(p["colour"])) for p in props), key


def _write_layer_style(path: Path, layer: str, styles: tuple[LabelStyle, ...], attribute: str) -> None:
    """Add QGIS's ``layer_styles`` table to a GeoPackage, with ``layer``'s default style (through GDAL)."""
    import datetime

    import pyogrio
    import pyogrio.raw

    geometry_column = pyogrio.read_info(str(path), layer=layer).get("geometry_name") or "geom"
    row = {"f_table_catalog": "", "f_table_schema": "", "f_table_name": layer, "f_geometry_column": geometry_column,
           "styleName": layer, "styleQML": qml_style(styles, attribute),
           "styleSLD": sld_style(styles, attribute, layer),
           "useAsDefault": True, "description": "s2label: each label in its colour",
           "owner": "", "ui": "", "update_time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    fields = [np.asarray([value], dtype=bool if isinstance(value, bool) else object) for value in row.values()]
    pyogrio.raw.write(str(path), None, fields, list(row), layer="layer_styles", driver="GPKG", geometry_type=None)


def write_label_raster(path: str | os.PathLike[str], segmentation: Segmentation, segment_labels: np.ndarray,
                       *, names: Mapping[int, str] | None = None) -> Path:
    """Write the per-pixel labels as an int32 GeoTIFF on the scene's grid (-2 = no data, -1 = noise).

    Parameters
    ----------
    path : path-like
    segmentation : Segmentation
    segment_labels : ndarray (N,) int
        Label of segment ``i + 1``.
    names : mapping of int to str, optional
        Stored as JSON in the ``S2LABEL_NAMES`` tag.

    Returns
    -------
    Path
    """
    raster = label_raster(segmentation, np.asarray(segment_labels))
    tags: dict[str, Any] = {"S2LABEL_NOISE": NOISE, "S2LABEL_NODATA": NODATA}
    if names:
        tags["S2LABEL_NAMES"] = json.dumps({str(k): v for k, v in names.items()})
    return write_raster(path, raster, transform=segmentation.transform, crs=segmentation.crs, nodata=NODATA,
                        tags=tags)


vectorize = renamed_function(vectorise, "s2label.segmentation.export.vectorize")


vectorize_raster = renamed_function(vectorise_raster, "s2label.segmentation.export.vectorize_raster")
