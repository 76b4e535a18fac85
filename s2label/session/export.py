"""Labels of a :class:`~s2label.session.LabelSession` as a raster, polygons and files (GeoJSON, GeoPackage,
GeoTIFF), with each label's name, colour and provenance in the properties.

Two precisions: ``"segment"`` (each pixel takes its segment's label) and ``"pixel"`` (a pixel classifier
re-decides pixels, :func:`s2label.session.pixel_labels.refine_pixels`, trained on the segments whose label is at
least ``min_confidence`` sure: hand labels, confident predictions and cluster cores). Pixel-exact polygons
(:meth:`LabelSession.assign_pixels`) win in both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rasterio.crs import CRS
from rasterio.warp import transform_geom

from s2label.errors import SessionError
from s2label.io.styles import LabelStyle, label_codes
from s2label.io.write import write_label_codes
from s2label.segmentation.export import (
    NODATA,
    LabelPolygons,
    pixel_area_m2,
    vectorise_raster,
    write_geojson,
    write_geopackage,
)
from s2label.session.rules import UNLABELLED

if TYPE_CHECKING:
    from s2label.session.label_session import LabelSession

__all__ = ["PRECISIONS", "label_table", "label_raster", "paint_pixel_overrides", "label_polygons", "export_labels",
           "label_styles", "scene_geometry"]

#: How finely labels are drawn.
PRECISIONS = ("segment", "pixel")


def scene_geometry(polygon: Any, crs: Any, scene_crs: CRS) -> dict[str, Any]:
    """A GeoJSON ``Polygon``/``MultiPolygon`` (or ``Feature``, or ``__geo_interface__``) as a plain GeoJSON
    geometry in the scene's CRS (``crs=None``: it already is).

    Parameters
    ----------
    polygon : mapping or object with ``__geo_interface__``
    crs : CRS-like or None
        The polygon's CRS.
    scene_crs : CRS

    Returns
    -------
    dict
        ``{"type": ..., "coordinates": ...}`` in ``scene_crs``.

    Raises
    ------
    SessionError
        Not a polygon, or coordinates that cannot be transformed.
    """
    if hasattr(polygon, "__geo_interface__"):
        polygon = polygon.__geo_interface__
    if isinstance(polygon, Mapping) and polygon.get("type") == "Feature":
        polygon = polygon.get("geometry")
    if not isinstance(polygon, Mapping) or polygon.get("type") not in ("Polygon", "MultiPolygon"):
        raise SessionError("a pixel-exact polygon must be a GeoJSON Polygon or MultiPolygon (or a Feature of one)")
    geometry = {"type": polygon["type"], "coordinates": polygon.get("coordinates")}
    if crs is not None and CRS.from_user_input(crs) != scene_crs:
        try:
            geometry = dict(transform_geom(CRS.from_user_input(crs), scene_crs, geometry))
        except Exception as exc:  # noqa: BLE001 - GDAL raises several types for bad coordinates
            raise SessionError(f"cannot read the polygon ({exc})") from None
    return geometry


def label_raster(session: LabelSession, *, precision: str = "segment", **options: Any) -> np.ndarray:
    """(H, W) int32 label id of every pixel (``-1`` unlabelled, -2 outside the segments).

    Parameters
    ----------
    session : LabelSession
    precision : {"segment", "pixel"}
        ``"pixel"`` needs the session's scene.
    **options
        Of :func:`s2label.session.pixel_labels.refine_pixels` (``where``, ``min_confidence``, ``n_train``, ``seed``,
        ``progress``).

    Raises
    ------
    SessionError
        An unknown precision, or ``"pixel"`` without the scene's pixels.

    Returns
    -------
    ndarray (H, W) int32
    """
    if precision not in PRECISIONS:
        raise SessionError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "pixel":
        raster = _pixel_precise(session, options).labels.copy()
    else:
        if options:
            raise SessionError(f"{sorted(options)} apply to precision='pixel' only")
        raster = session.segmentation.to_raster(session.label_of_segment().astype(np.int32), fill=NODATA)
    return paint_pixel_overrides(raster, session.pixel_overrides())


def paint_pixel_overrides(raster: np.ndarray, overrides: Sequence[tuple[np.ndarray, int]]) -> np.ndarray:
    """Set the pixels of each pixel-exact polygon (flat indices, label id), later ones last, in place.

    Parameters
    ----------
    raster : ndarray (H, W) int32
        Changed in place.
    overrides : sequence of (ndarray of int, int)
        Each polygon's flat pixel indices and label id.

    Returns
    -------
    ndarray (H, W) int32
        ``raster``.
    """
    flat = raster.reshape(-1)
    for pixels, label in overrides:
        flat[pixels] = label
    return raster


def _pixel_precise(session: LabelSession, options: Mapping[str, Any]) -> Any:
    """The pixel classifier's map for the session's current labels (kept until the next edit)."""
    from s2label.session.pixel_labels import refine_pixels

    if session.scene is None:
        raise SessionError("pixel precision needs the scene's pixels: make the session with scene= (as "
                           "LabelSession.from_result and s2label.explore do)")
    state, key = session.state, tuple(sorted(options.items()))  # a state is never reused: a new edit is a new one
    cached = getattr(session, "_pixel_cache", None)
    if cached is not None and cached[0] is state and cached[1] == key:
        return cached[2]
    result = refine_pixels(session.scene, session.segmentation, session.label_of_segment(), session.probabilities(),
                           **options)
    session._pixel_cache = (state, key, result)
    return result


def _pixel_exact_counts(session: LabelSession) -> dict[int, int]:
    """Pixels each label holds through pixel-exact polygons (a pixel in several: the last one's)."""
    overrides = session.pixel_overrides()
    if not overrides:
        return {}
    pixels = np.concatenate([px for px, _ in overrides])
    labels = np.concatenate([np.full(px.size, lid) for px, lid in overrides])
    _, last = np.unique(pixels[::-1], return_index=True)
    values, counts = np.unique(labels[::-1][last], return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def label_table(session: LabelSession) -> list[dict[str, Any]]:
    """One row per label of a session, in panel order: id, name, colour, hidden, counts (segments, by hand,
    predicted), mean probability, area, source, provenance (``automatic``/``predicted``/``manual`` parts),
    clusters and hierarchy nodes (for the panel and the exports' properties).

    Parameters
    ----------
    session : LabelSession

    Returns
    -------
    list of dict
    """
    segment_labels = session.label_of_segment()
    top = max([lab.id for lab in session.labels], default=-1) + 2
    node_cluster = {node: k for k, node in enumerate(session.hierarchy.selected)}
    counts, areas = session.counts(), session.areas_px()
    manual_counts = np.bincount(segment_labels[session.manual_rows()] + 1, minlength=top)
    source = session.provenance()
    predicted_counts = np.bincount(segment_labels[source == "predicted"] + 1, minlength=top)
    exact = _pixel_exact_counts(session)
    annotators = session.label_annotators()
    confidence = session.probabilities()
    pixel_m2 = pixel_area_m2(session.segmentation.transform, session.segmentation.crs)
    rows = []
    for lab in session.labels:
        n_manual, n_predicted = int(manual_counts[lab.id + 1]), int(predicted_counts[lab.id + 1])
        clusters = [node_cluster[n] for n in lab.nodes if n in node_cluster]
        other = [n for n in lab.nodes if n not in node_cluster]
        parts = [name for name, count in (("automatic", counts[lab.id] - n_manual - n_predicted),
                                          ("predicted", n_predicted), ("manual", n_manual)) if count > 0]
        provenance = "+".join(parts) or "automatic" if lab.source == "cluster" or n_predicted else lab.source
        mine = segment_labels == lab.id
        rows.append({"label": lab.id, "name": lab.name, "colour": lab.colour, "hidden": lab.hidden,
                     "n_segments": counts[lab.id], "n_manual": n_manual, "n_predicted": n_predicted,
                     "n_pixels_exact": exact.get(lab.id, 0), "annotators": annotators.get(lab.id, []),
                     "probability": round(float(confidence[mine].mean()), 4) if mine.any() else None,
                     "area_px": areas[lab.id],
                     "area_m2": None if pixel_m2 is None else round(areas[lab.id] * pixel_m2, 2),
                     "source": lab.source, "provenance": provenance, "clusters": clusters,
                     "hierarchy_nodes": other, "details": dict(lab.details)})
    return rows


def label_polygons(session: LabelSession, *, include_hidden: bool = True, include_unlabelled: bool = False,
                   precision: str = "segment", **options: Any) -> LabelPolygons:
    """The labels dissolved into (Multi)Polygons with names and provenance properties (``n_segments``: the
    segments mostly in the label).

    Parameters
    ----------
    session : LabelSession
    include_hidden : bool
        Whether hidden labels get a feature.
    include_unlabelled : bool
        Whether the unlabelled pixels get one.
    precision : {"segment", "pixel"}
        As :func:`label_raster`.
    **options
        Of :func:`label_raster` with ``precision="pixel"``.

    Returns
    -------
    LabelPolygons
    """
    table = {row["label"]: row for row in label_table(session)}
    raster = label_raster(session, precision=precision, **options)
    if not include_hidden:
        raster[np.isin(raster, [lab.id for lab in session.labels if lab.hidden])] = UNLABELLED
    names = {lid: row["name"] for lid, row in table.items()}
    extra = {lid: {"label": lid, "colour": row["colour"], "hidden": row["hidden"],
                   "provenance": row["provenance"], "source": row["source"],
                   "clusters": ",".join(str(c) for c in row["clusters"]), "n_manual": row["n_manual"],
                   "n_predicted": row["n_predicted"], "n_pixels_exact": row["n_pixels_exact"],
                   "annotators": ",".join(row["annotators"]),
                   "probability": row["probability"]}
             for lid, row in table.items()}
    extra[UNLABELLED] = {"label": UNLABELLED, "provenance": "unlabelled"}
    segment_counts = dict(zip(*np.unique(session.label_of_segment(), return_counts=True), strict=True))
    return vectorise_raster(raster, session.segmentation.transform, session.segmentation.crs,
                            names={**names, UNLABELLED: "unlabelled"}, extra_properties=extra,
                            include_noise=include_unlabelled, segment_counts=segment_counts)




def export_labels(session: LabelSession, path: str | os.PathLike[str], *, include_hidden: bool = True,
                  include_unlabelled: bool = False, precision: str = "segment", **options: Any) -> Path:
    """Write the labels as a file that opens with each label's name and colour in GIS software.

    ``.geojson``/``.json``: RFC 7946 (WGS84), each feature with its label's properties and *simplestyle*
    ``fill``/``stroke`` colours. ``.gpkg``: the scene's CRS, with a QGIS ``layer_styles`` table (the labels
    categorised by colour and named). ``.tif``: the label raster on the scene's grid as palette codes (uint8, or
    uint16 past 254 labels): ``0`` no label (unlabelled or outside the segments, the no-data value), a label's
    ``id + 1`` otherwise; the band's colour table holds the labels' colours and ``PATH.aux.xml`` their names
    (GDAL category names and a raster attribute table); the tags ``S2LABEL_NAMES`` (id -> name),
    ``S2LABEL_CODES`` and ``S2LABEL_PRECISION`` say the same for a script.

    Parameters
    ----------
    session : LabelSession
    path : path-like
        The file; its extension chooses the format.
    include_hidden : bool
        Whether hidden labels are written (polygon formats).
    include_unlabelled : bool
        Whether the unlabelled pixels get a feature (polygon formats).
    precision : {"segment", "pixel"}
        As :func:`label_raster`.
    **options
        Of :func:`label_raster` with ``precision="pixel"``.

    Returns
    -------
    Path
        The file written (atomically).

    Raises
    ------
    SessionError
        An unknown file extension.
    OutputError
        The file cannot be written.

    Examples
    --------
    >>> session.export("labels.tif")  # doctest: +SKIP
    PosixPath('labels.tif')
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".tif", ".tiff"):
        styles = label_styles(session)
        codes = label_codes(label_raster(session, precision=precision, **options))
        tags = {"S2LABEL_NAMES": json.dumps({str(s.value): s.name for s in styles}),
                "S2LABEL_CODES": "label id + 1; 0 = no label (unlabelled or outside the segments)",
                "S2LABEL_PRECISION": precision}
        return write_label_codes(target, codes, styles, transform=session.segmentation.transform,
                                 crs=session.segmentation.crs, tags=tags)
    polygons = label_polygons(session, include_hidden=include_hidden, include_unlabelled=include_unlabelled,
                              precision=precision, **options)
    if suffix in (".geojson", ".json"):
        return write_geojson(target, polygons)
    if suffix == ".gpkg":
        return write_geopackage(target, polygons)
    raise SessionError(f"cannot export to {suffix or 'a file without extension'!r}: use .geojson, .gpkg or "
                       ".tif", path=target)


def label_styles(session: LabelSession) -> tuple[LabelStyle, ...]:
    """Each label's id, name and colour, in panel order, for the styles of the exported files.

    Parameters
    ----------
    session : LabelSession

    Returns
    -------
    tuple of LabelStyle
    """
    return tuple(LabelStyle(lab.id, lab.name, lab.colour) for lab in session.labels)
