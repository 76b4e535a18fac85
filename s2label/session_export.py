"""Labels of a :class:`~s2label.session.LabelSession` as polygons and files (GeoJSON, GeoPackage, GeoTIFF),
with each label's name, colour and provenance in the properties."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import SessionError
from .export import NOISE, LabelPolygons, vectorize, write_geojson, write_geopackage, write_label_raster

if TYPE_CHECKING:
    from .session import LabelSession

__all__ = ["label_polygons", "export_labels"]

#: Segments in no label (the session's ``UNLABELLED``; noise in the exported files).
UNLABELLED = NOISE


def label_polygons(session: LabelSession, *, include_hidden: bool = True,
                   include_unlabelled: bool = False) -> LabelPolygons:
    """The labels dissolved into (Multi)Polygons with names and provenance properties."""
    table = {row["label"]: row for row in session.label_table()}
    labels = session.segment_labels().copy()
    if not include_hidden:
        labels[np.isin(labels, [lab.id for lab in session.labels if lab.hidden])] = UNLABELLED
    names = {lid: row["name"] for lid, row in table.items()}
    extra = {lid: {"label": lid, "colour": row["colour"], "hidden": row["hidden"],
                   "provenance": row["provenance"], "source": row["source"],
                   "clusters": ",".join(str(c) for c in row["clusters"]), "n_manual": row["n_manual"],
                   "n_predicted": row["n_predicted"], "probability": row["probability"]}
             for lid, row in table.items()}
    extra[UNLABELLED] = {"label": UNLABELLED, "provenance": "unlabelled"}
    return vectorize(session.segmentation, labels, names={**names, UNLABELLED: "unlabelled"},
                     extra_properties=extra, include_noise=include_unlabelled)




def export_labels(session: LabelSession, path: str | os.PathLike[str], *, include_hidden: bool = True,
                  include_unlabelled: bool = False) -> Path:
    """Write the labels: ``.geojson``/``.json`` (WGS84), ``.gpkg`` (scene CRS) or ``.tif`` (label raster).

    Raises
    ------
    SessionError
        An unknown file extension.
    OutputError
        The file cannot be written.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".tif", ".tiff"):
        names = {lab.id: lab.name for lab in session.labels}
        return write_label_raster(target, session.segmentation, session.segment_labels(), names=names)
    polygons = label_polygons(session, include_hidden=include_hidden, include_unlabelled=include_unlabelled)
    if suffix in (".geojson", ".json"):
        return write_geojson(target, polygons)
    if suffix == ".gpkg":
        return write_geopackage(target, polygons)
    raise SessionError(f"cannot export to {suffix or 'a file without extension'!r}: use .geojson, .gpkg or "
                       ".tif", path=target)
