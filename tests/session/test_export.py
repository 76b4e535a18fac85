"""A session's labels as a raster and files: pixel-exact polygons and pixel precision, on the real crop
(s2label/session_export.py)."""

import json

import numpy as np
import pytest
import rasterio
from rasterio.features import rasterize
from rasterio.warp import transform_geom
from shapely.geometry import Polygon, mapping, shape

from s2label.display.colours import to_hex
from s2label.errors import SessionError
from s2label.io.styles import label_codes
from s2label.segmentation.export import NODATA
from s2label.session.label_session import UNLABELLED, LabelSession


@pytest.fixture
def crop_session(crop_result, tmp_path):
    return LabelSession.from_result(crop_result, autosave=tmp_path / "session.sqlite")


def _polygon(scene, fractions):
    """A polygon in the scene CRS through points given as (row, col) fractions of the scene."""
    h, w = scene.shape
    return mapping(Polygon([scene.transform * (c * w, r * h) for r, c in fractions]))


def _expected_inside(scene, segmentation, geometry):
    inside = rasterize([(geometry, 1)], out_shape=scene.shape, transform=scene.transform, fill=0).astype(bool)
    return inside & scene.valid & (segmentation.ids > 0)


def test_pixel_exact_polygon_sets_exactly_the_pixels_inside(crop_session, crop_result, tmp_path):
    session, scene = crop_session, crop_result.scene
    segment_raster = session.label_raster()
    geometry = _polygon(scene, [(0.21, 0.13), (0.37, 0.71), (0.66, 0.52), (0.48, 0.18)])
    inside = _expected_inside(scene, crop_result.segmentation, geometry)
    target = session.labels[1].id
    session.assign_pixels(geometry, target)
    raster = session.label_raster()
    assert (raster[inside] == target).all()
    np.testing.assert_array_equal(raster[~inside], segment_raster[~inside])
    assert int((segment_raster[inside] != target).sum()) > 100  # pixels of other labels' segments, now exact
    np.testing.assert_array_equal(session.label_of_segment(), LabelSession.from_result(crop_result).label_of_segment())
    assert session.edits[-1]["op"] == "assign_pixels" and session.label(target).edited
    assert session.describe(0).startswith("pixel-exact polygon")

    resumed = LabelSession.load(tmp_path / "session.json", crop_result.segmentation, crop_result.embeddings,
                                crop_result.clustering, scene=scene)
    np.testing.assert_array_equal(resumed.label_raster(), raster)  # replayed from the geometry in the log
    out = session.export(tmp_path / "labels.tif")
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), label_codes(raster))
        assert src.tags()["S2LABEL_PRECISION"] == "segment"
    polygons = session.polygons()
    feature = polygons.geometries[polygons.values.index(target)]
    assert feature.buffer(1e-6).contains(shape(geometry).intersection(feature).buffer(-15))
    session.undo()
    np.testing.assert_array_equal(session.label_raster(), segment_raster)
    session.redo()
    np.testing.assert_array_equal(session.label_raster(), raster)


def test_pixel_exact_polygon_wins_over_later_edits_and_follows_merge_and_delete(crop_session, crop_result):
    session, scene = crop_session, crop_result.scene
    geometry = _polygon(scene, [(0.1, 0.1), (0.1, 0.4), (0.4, 0.4), (0.4, 0.1)])
    inside = _expected_inside(scene, crop_result.segmentation, geometry)
    a, b, c = (lab.id for lab in session.labels[:3])
    session.assign_pixels(geometry, a)
    session.rename(a, "water")
    session.rename(b, "field")
    session.assign(np.unique(crop_result.segmentation.ids[inside]).tolist(), b)  # segments: pixels stay
    session.propagate()
    assert (session.label_raster()[inside] == a).all()
    session.merge([c, a])  # the pixels go where their label goes
    assert (session.label_raster()[inside] == c).all()
    session.delete(c)
    assert (session.label_raster()[inside] == UNLABELLED).all()


def test_pixel_exact_polygon_in_lon_lat(crop_session, crop_result):
    scene = crop_result.scene
    geometry = _polygon(scene, [(0.2, 0.2), (0.2, 0.6), (0.7, 0.5)])
    lonlat = transform_geom(scene.crs, "EPSG:4326", geometry)
    crop_session.assign_pixels({"type": "Feature", "geometry": lonlat, "properties": {}}, 0, crs="EPSG:4326")
    inside = _expected_inside(scene, crop_result.segmentation, geometry)
    got = crop_session.label_raster() == 0
    assert (got[inside]).all()


@pytest.mark.parametrize("fractions, message", [
    ([(2.0, 2.0), (2.0, 3.0), (3.0, 3.0)], "outside the scene"),
    ([(0.1, 0.1), (0.5, 0.5), (0.1, 0.5), (0.5, 0.1)], "not valid"),  # a bow tie
    ([(0.5, 0.5), (0.5, 0.5001), (0.5001, 0.5001)], "covers no pixel"),
])
def test_bad_pixel_exact_polygons_are_refused(crop_session, crop_result, fractions, message):
    before = crop_session.edits
    with pytest.raises(SessionError, match=message):
        crop_session.assign_pixels(_polygon(crop_result.scene, fractions), 0)
    assert crop_session.edits == before
    with pytest.raises(SessionError, match="Polygon or MultiPolygon"):
        crop_session.assign_pixels({"type": "LineString", "coordinates": [(0, 0), (1, 1)]}, 0)


def test_pixel_precision_redraws_borders_and_keeps_pixel_exact_polygons(crop_session, crop_result, tmp_path):
    session, scene = crop_session, crop_result.scene
    geometry = _polygon(scene, [(0.6, 0.6), (0.6, 0.9), (0.9, 0.9), (0.9, 0.6)])
    inside = _expected_inside(scene, crop_result.segmentation, geometry)
    session.assign_pixels(geometry, session.labels[0].id)
    by_segment = session.label_raster()
    by_pixel = session.label_raster(precision="pixel", progress=False)
    labelled = by_segment >= 0
    changed = by_pixel != by_segment
    assert 0.005 < changed[labelled].mean() < 0.5  # borders re-drawn, not a new map
    assert not changed[~labelled].any()  # unlabelled and outside stay so
    assert set(np.unique(by_pixel[labelled])) <= {lab.id for lab in session.labels}
    assert (by_pixel[inside] == session.labels[0].id).all()
    out = session.export(tmp_path / "pixel.tif", precision="pixel", progress=False)
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), label_codes(by_pixel))
        assert src.tags()["S2LABEL_PRECISION"] == "pixel"
        assert json.loads(src.tags()["S2LABEL_NAMES"])[str(session.labels[0].id)] == session.labels[0].name
    doc = json.loads(session.export(tmp_path / "pixel.geojson", precision="pixel", progress=False).read_text())
    assert {f["properties"]["label"] for f in doc["features"]} == set(np.unique(by_pixel[labelled]).tolist())


def test_pixel_precision_refuses_what_it_cannot_do(crop_result, crop_session):
    bare = LabelSession(crop_result.segmentation, crop_result.embeddings, crop_result.clustering)
    with pytest.raises(SessionError, match="needs the scene's pixels"):
        bare.label_raster(precision="pixel")
    with pytest.raises(SessionError, match="precision must be one of"):
        crop_session.export("x.tif", precision="subpixel")
    with pytest.raises(SessionError, match="apply to precision='pixel' only"):
        crop_session.label_raster(where="boundary")
    np.testing.assert_array_equal(bare.label_raster(), crop_result.segmentation.to_raster(
        bare.label_of_segment().astype(np.int32), fill=NODATA))


def test_a_session_file_written_before_pixel_labels_still_loads(crop_result, old_session_file, tmp_path):
    """``tests/session/data/session-before-pixel-labels.json``: written by s2label 59d8fa6 (before this change) on
    the same
    crop: rename, rename, merge, assign, propagate, rename, undo."""
    path = old_session_file(tmp_path / "old.json")
    session = LabelSession.load(path, crop_result.segmentation, crop_result.embeddings, crop_result.clustering,
                                scene=crop_result.scene)
    assert [e["op"] for e in session.edits] == ["rename", "rename", "merge", "assign", "propagate"]
    assert session.can_redo and {"water", "field"} <= {lab.name for lab in session.labels}
    assert (session.provenance() == "predicted").any() and session.pixel_overrides() == []
    water = session.label_by_name("water").id
    session.assign_pixels(_polygon(crop_result.scene, [(0.1, 0.1), (0.1, 0.3), (0.3, 0.3)]), water)
    again = LabelSession.load(path, crop_result.segmentation, crop_result.embeddings, crop_result.clustering,
                              scene=crop_result.scene)
    np.testing.assert_array_equal(again.label_raster(), session.label_raster())
    assert [e["op"] for e in again.edits][-1] == "assign_pixels"


def test_the_pixel_precise_map_is_recomputed_after_undo_and_another_edit(crop_session):
    session = crop_session
    a, b = session.labels[0].id, session.labels[1].id
    session.rename(a, "water")
    first = session.label_raster(precision="pixel", progress=False)
    assert (first == b).any()
    session.undo()
    session.delete(b)  # another edit at the same position of the log
    again = session.label_raster(precision="pixel", progress=False)
    assert not (again == b).any()  # not the map of the undone state


def test_exported_files_open_with_each_labels_name_and_colour(crop_session, tmp_path):
    # on the real crop of the default scene: what QGIS, gdalinfo, geojson.io read of the names and colours
    import sqlite3
    import xml.etree.ElementTree as ET

    import pyogrio
    import pyogrio.raw

    from tests._gdal import attribute_table, category_names, gdal_library

    session = crop_session
    first, second = session.labels[0].id, session.labels[1].id
    session.rename(first, "water")
    session.set_colour(second, "#08519c")
    expected = {lab.id: (lab.name, lab.colour) for lab in session.labels}
    assert expected[first][0] == "water" and expected[second][1] == "#08519c"
    raster = session.label_raster()

    tif = session.export(tmp_path / "labels.tif")
    with rasterio.open(tif) as src:
        codes = src.read(1)
        assert src.dtypes == ("uint8",) and src.nodata == 0 and src.colorinterp[0].name == "palette"
        colormap = src.colormap(1)
    np.testing.assert_array_equal(codes, np.where(raster >= 0, raster + 1, 0))
    for lid, (_, colour) in expected.items():
        assert to_hex(colormap[lid + 1][:3]) == colour
    lib = gdal_library()
    if lib is not None:  # as gdalinfo lists them
        names = category_names(lib, tif)
        assert names[0] == "unlabelled" and all(names[lid + 1] == name for lid, (name, _) in expected.items())
        rows = {int(r["Value"]): r for r in attribute_table(lib, tif)}
        assert all(int(rows[lid + 1]["Count"]) == int((raster == lid).sum()) for lid in expected)

    gpkg = session.export(tmp_path / "labels.gpkg")
    assert [name for name, _ in pyogrio.list_layers(gpkg)] == ["labels", "layer_styles"]
    with sqlite3.connect(gpkg) as db:
        (layer, column, qml, sld, default), = db.execute(
            "SELECT f_table_name, f_geometry_column, styleQML, styleSLD, useAsDefault FROM layer_styles").fetchall()
        contents = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
    assert layer == "labels" and default == 1 and contents == {"labels": "features", "layer_styles": "attributes"}
    assert column == pyogrio.read_info(gpkg, layer="labels")["geometry_name"]
    renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert renderer.get("attr") == "label"
    meta, _, _, fields = pyogrio.raw.read(gpkg, layer="labels", read_geometry=False, columns=["label", "name"])
    shown = {int(c.get("value")): c.get("label") for c in renderer.iter("category")}
    column = dict(zip(meta["fields"], fields, strict=True))
    assert shown == {int(lid): name for lid, name in zip(column["label"], column["name"], strict=True)}
    assert "#08519c" in sld and "water" in shown.values()

    doc = json.loads(session.export(tmp_path / "labels.geojson").read_text())
    for feature in doc["features"]:
        props = feature["properties"]
        assert props["fill"] == props["stroke"] == expected[props["label"]][1] and props["fill-opacity"] == 0.6
