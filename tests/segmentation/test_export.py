import json

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.warp import transform_bounds, transform_geom
from shapely.geometry import shape

from s2label.segmentation.export import (
    NODATA,
    NOISE,
    label_raster,
    to_geojson,
    vectorise,
    write_geojson,
    write_geopackage,
    write_label_raster,
)
from s2label.segmentation.superpixels import Segmentation


def _rings(geom):
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    for poly in polys:
        yield poly[0], True
        for hole in poly[1:]:
            yield hole, False


def test_geojson_is_rfc7946_and_inside_the_scene(crop_result):
    seg, labels = crop_result.segmentation, crop_result.cluster_of_segment(assign_noise=True)
    polys = vectorise(seg, labels, names={0: "water"})
    gj = to_geojson(polys)
    assert gj["type"] == "FeatureCollection" and "crs" not in gj
    assert [f["properties"]["cluster"] for f in gj["features"]] == sorted(set(labels.tolist()))
    west, south, east, north = transform_bounds(seg.crs, "EPSG:4326", *crop_result.scene.bounds)
    eps = 1e-6
    for feature in gj["features"]:
        props = feature["properties"]
        assert {"cluster", "name", "n_segments", "area_m2"} <= set(props)
        assert props["n_segments"] == int((labels == props["cluster"]).sum())
        geom = shape(feature["geometry"])
        assert geom.is_valid and not geom.is_empty
        for ring, exterior in _rings(feature["geometry"]):
            assert ring[0] == ring[-1]
            assert shapely.is_ccw(shapely.LinearRing(ring)) == exterior  # right-hand rule
            xs, ys = np.array(ring).T
            assert (xs >= west - eps).all() and (xs <= east + eps).all()
            assert (ys >= south - eps).all() and (ys <= north + eps).all()
    assert gj["features"][0]["properties"]["name"] == "water"
    assert gj["features"][1]["properties"]["name"] == "cluster 1"


def test_polygons_rasterize_back_to_the_label_raster(crop_result):
    seg, labels = crop_result.segmentation, crop_result.clustering.cluster
    raster = label_raster(seg, labels)
    polys = vectorise(seg, labels)
    back = rasterize(zip(polys.geometries, polys.values, strict=True), out_shape=seg.shape, transform=seg.transform,
                     fill=NODATA, dtype="int32")
    np.testing.assert_array_equal(back, raster)
    # and through WGS84 GeoJSON and back: only pixels touched by coordinate rounding may differ
    gj = to_geojson(polys)
    shapes_back = [(transform_geom("EPSG:4326", seg.crs, f["geometry"]), f["properties"]["cluster"])
                   for f in gj["features"]]
    back2 = rasterize(shapes_back, out_shape=seg.shape, transform=seg.transform, fill=NODATA, dtype="int32")
    assert np.mean(back2 == raster) > 0.999


def test_areas_add_up_to_the_valid_area(crop_result):
    seg = crop_result.segmentation
    polys = vectorise(seg, crop_result.clustering.cluster)
    total = sum(p["area_m2"] for p in polys.properties)
    assert total == pytest.approx(float((seg.ids > 0).sum()) * 100.0)
    assert NOISE in polys.values or crop_result.clustering.noise_fraction == 0
    no_noise = vectorise(seg, crop_result.clustering.cluster, include_noise=False)
    assert NOISE not in no_noise.values


def test_geographic_grid_area_is_geodesic():
    # 0.0001 degree pixels at the equator: 11.132 m x 11.057 m on the WGS84 ellipsoid
    labels = np.ones((20, 30), np.int32)
    labels[:, 15:] = 2
    seg = Segmentation(labels, Affine(0.0001, 0, 10.0, 0, -0.0001, 0.001), CRS.from_epsg(4326))
    polys = vectorise(seg, np.array([0, 1]))
    assert polys.properties[0]["area_m2"] == pytest.approx(300 * 11.132 * 11.057, rel=0.01)


def test_write_geojson_file(tmp_path, crop_result):
    path = write_geojson(tmp_path / "c.geojson", vectorise(crop_result.segmentation, crop_result.clustering.cluster))
    data = json.loads(path.read_text())
    assert data["type"] == "FeatureCollection" and len(data["features"]) >= 2
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


def test_write_geopackage_in_scene_crs(tmp_path, crop_result):
    import pyogrio

    polys = vectorise(crop_result.segmentation, crop_result.clustering.cluster,
                      extra_properties={0: {"source": "automatic"}})
    path = write_geopackage(tmp_path / "c.gpkg", polys, layer="clusters")
    info = pyogrio.read_info(path, layer="clusters")
    assert info["features"] == len(polys) and CRS.from_user_input(info["crs"]) == crop_result.scene.crs
    assert {"cluster", "name", "n_segments", "area_m2", "source"} <= set(info["fields"])
    meta, _, geoms, fields = pyogrio.raw.read(path, layer="clusters")
    clusters = fields[list(meta["fields"]).index("cluster")]
    assert sorted(clusters.tolist()) == list(polys.values)


def test_write_label_raster_on_the_scene_grid(tmp_path, crop_result):
    seg = crop_result.segmentation
    path = write_label_raster(tmp_path / "clusters.tif", seg, crop_result.clustering.cluster, names={0: "water"})
    with rasterio.open(path) as ds:
        assert ds.crs == seg.crs and ds.transform == seg.transform and ds.nodata == NODATA
        assert ds.dtypes[0] == "int32"
        np.testing.assert_array_equal(ds.read(1), label_raster(seg, crop_result.clustering.cluster))
        assert json.loads(ds.tags()["S2LABEL_NAMES"]) == {"0": "water"}


def test_label_count_mismatch_is_refused(crop_result):
    from s2label.errors import SegmentationError

    with pytest.raises(SegmentationError, match="labels for"):
        label_raster(crop_result.segmentation, np.zeros(3, int))
