"""Cloud-native input: ``read_scene`` on a STAC item whose assets are Cloud-Optimised GeoTIFFs.

The COGs are the real default scene's bands (B02, B03, B04, B08 at 10 m, B11 at 20 m), served over HTTP from
127.0.0.1 by a server that answers Range requests (fixtures in ``tests/io/conftest.py``). Nothing leaves the
machine.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import warnings

import numpy as np
import pytest
from rasterio.warp import transform_bounds

from s2label.errors import BandError, S2LabelWarning, SceneError
from s2label.io import band_files, read_scene
from s2label.io.stac import StacBand, stac_bands

pystac = pytest.importorskip("pystac")

BANDS = ("B02", "B03", "B04", "B08", "B11")
#: 256 x 256 px of fields, forest and a river (the crop the other tests use).
CROP = ((600, 856), (600, 856))
#: 128 x 128 px inside one 256 px COG tile of the 10 m bands (and one of the 20 m band).
SMALL = ((520, 648), (520, 648))
COG = "image/tiff; application=geotiff; profile=cloud-optimized"


def _item(**assets: dict) -> pystac.Item:
    item = pystac.Item("t", None, None, dt.datetime(2020, 1, 1), {})
    for key, spec in assets.items():
        spec = dict(spec)
        href = spec.pop("href", f"https://example.com/{key}.tif")
        media = spec.pop("type", COG)
        roles = spec.pop("roles", ["data"])
        item.add_asset(key, pystac.Asset(href, media_type=media, roles=roles, extra_fields=spec))
    return item


def _remote_item(server, catalogue) -> pystac.Item:
    return pystac.Item.from_file(f"{server.url}/{catalogue.item_rel}")


# --- which asset is which band (no I/O) ------------------------------------------------------------------

def test_earth_search_keys_and_eo_bands_map_to_canonical_bands():
    item = _item(
        coastal={"eo:bands": [{"name": "B01", "common_name": "coastal"}]},
        red={"eo:bands": [{"name": "B04", "common_name": "red"}],
             "raster:bands": [{"scale": 0.0001, "offset": -0.1, "nodata": 0}]},
        **{"red-jp2": {"href": "https://example.com/B04.jp2", "type": "image/jp2",
                       "eo:bands": [{"name": "B04", "common_name": "red"}]}},
        nir={}, nir08={}, rededge1={}, swir16={},
        visual={"eo:bands": [{"name": "B04"}, {"name": "B03"}, {"name": "B02"}], "roles": ["visual"]},
        scl={}, aot={},
        thumbnail={"href": "https://example.com/thumb.jpg", "type": "image/jpeg", "roles": ["thumbnail"]},
        granule_metadata={"href": "https://example.com/metadata.xml", "type": "application/xml"},
    )
    found = stac_bands(item)
    assert [(b.band, b.key) for b in found] == [
        ("B01", "coastal"), ("B04", "red"), ("B05", "rededge1"), ("B08", "nir"), ("B8A", "nir08"),
        ("B11", "swir16")]
    red = found[1]
    # raster:bands says reflectance = DN * 1e-4 - 0.1, i.e. (DN - 1000) * 1e-4
    assert red == StacBand("B04", "red", "https://example.com/red.tif", COG, 0.0001, -1000.0)
    assert found[0].scale is None and found[0].offset is None


def test_planetary_computer_keys_and_stac_1_1_bands():
    item = _item(B04={"eo:bands": [{"name": "B04", "common_name": "red"}]},
                 B8A={"bands": [{"name": "B8A", "eo:common_name": "rededge", "raster:scale": 0.0001}]},
                 b11={"href": "https://example.com/b11", "type": None},  # no type, no suffix: not an image
                 SCL={}, visual={"eo:bands": [{"name": "B04"}, {"name": "B03"}, {"name": "B02"}]})
    assert [(b.band, b.key, b.scale, b.offset) for b in stac_bands(item)] == [
        ("B04", "B04", None, None), ("B8A", "B8A", 0.0001, 0.0)]


def test_an_item_of_another_platform_warns():
    item = _item(red={}, green={}, blue={})
    item.properties["platform"] = "landsat-8"
    with pytest.warns(S2LabelWarning, match="'landsat-8' is not Sentinel-2"):
        assert [b.band for b in stac_bands(item)] == ["B02", "B03", "B04"]
    item.properties["platform"] = "Sentinel-2B"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stac_bands(item)


def test_same_band_twice_in_the_same_format_is_refused():
    item = _item(red={}, B04={"eo:bands": [{"name": "B4"}]})
    with pytest.raises(BandError, match=r"band B04 is held by two assets \(red and B04\) of the same format"):
        stac_bands(item)


def test_item_without_image_assets():
    item = _item(thumbnail={"href": "https://example.com/t.jpg", "type": "image/jpeg", "roles": ["thumbnail"]},
                 metadata={"href": "https://example.com/m.xml", "type": "application/xml"})
    with pytest.raises(SceneError, match=r"no image assets .*thumbnail \(image/jpeg\), metadata") as info:
        read_scene(item)
    assert "STAC item 't'" in str(info.value)
    with pytest.raises(BandError, match=r"none of the item's image assets \(scl, visual\)"):
        stac_bands(_item(scl={}, visual={"eo:bands": [{"name": "B04"}, {"name": "B03"}]}))


# --- reading over HTTP ---------------------------------------------------------------------------------------

def test_item_over_http_equals_the_local_files_and_the_original_scene(stac_server, stac_catalogue, real_crop):
    item = _remote_item(stac_server, stac_catalogue)
    remote = read_scene(item, window=CROP)
    local = read_scene(stac_catalogue.item_path.parent, window=CROP)  # the same COGs, as a folder
    assert remote.bands == local.bands == BANDS
    assert remote.transform == local.transform == real_crop.transform
    assert remote.crs == local.crs == real_crop.crs
    np.testing.assert_array_equal(remote.valid, local.valid)
    np.testing.assert_array_equal(remote.data, local.data)
    # and the COGs hold the real bands losslessly: the same reflectance as the bundled JP2 files
    idx = [real_crop.bands.index(b) for b in BANDS]
    np.testing.assert_allclose(remote.data, real_crop.data[idx], atol=1e-6)
    assert remote.meta["format"] == "stac" and remote.meta["assets"]["B11"] == "swir16"
    assert remote.meta["files"]["B04"] == f"{stac_server.url}/{stac_catalogue.item_path.parent.name}/B04.tif"
    assert remote.source == f"{stac_server.url}/{stac_catalogue.item_rel}"


def test_bbox_in_lonlat_over_http(stac_server, stac_catalogue):
    item = _remote_item(stac_server, stac_catalogue)
    ref = read_scene(stac_catalogue.item_path.parent, window=CROP)
    west, south, east, north = ref.bounds
    lonlat = transform_bounds(ref.crs, "EPSG:4326", west + 500, south + 500, east - 500, north - 500)
    remote = read_scene(item, bands=["red", "nir", "swir16"], bbox=lonlat, bbox_crs="EPSG:4326")
    local = read_scene(stac_catalogue.item_path.parent, bands=["B04", "B08", "B11"], bbox=lonlat,
                       bbox_crs="EPSG:4326")
    assert remote.bands == ("B04", "B08", "B11") and remote.shape == local.shape
    assert 150 <= remote.shape[0] <= 170 and 150 <= remote.shape[1] <= 170
    assert remote.transform == local.transform
    np.testing.assert_array_equal(remote.data, local.data)


def test_a_small_window_transfers_a_small_part_of_the_files(fresh_stac_server, stac_catalogue):
    item = _remote_item(fresh_stac_server, stac_catalogue)
    fresh_stac_server.reset()  # count the rasters only, not the item JSON
    scene = read_scene(item, window=SMALL)
    assert scene.shape == (128, 128) and scene.valid.all()
    # rasters only: the server thread may count the item JSON's response after the reset above
    served = {name: n for name, n in fresh_stac_server.bytes_by_file.items() if name.endswith(".tif")}
    sizes = {p.name: p.stat().st_size for p in stac_catalogue.cogs.values()}
    assert set(served) == set(sizes)  # every band was read over HTTP ...
    assert sum(served.values()) < 0.05 * sum(sizes.values())  # ... but well under 5 % of the 28 MB
    # the 20 m band is resampled from a window of its own grid, not read whole
    assert served["B11.tif"] < 0.15 * sizes["B11.tif"]


def test_item_json_by_path_and_by_url(stac_server, stac_catalogue):
    from_path = read_scene(str(stac_catalogue.item_path), bands=["B04", "B08", "B11"], window=SMALL)
    from_url = read_scene(f"{stac_server.url}/{stac_catalogue.item_rel}", bands=["B04", "B08", "B11"],
                          window=SMALL)
    assert from_path.meta["files"]["B04"] == str(stac_catalogue.cogs["B04"])  # relative hrefs resolved locally
    assert from_url.meta["files"]["B04"].startswith("http://127.0.0.1:")
    np.testing.assert_array_equal(from_path.data, from_url.data)


def test_raster_bands_scale_and_offset_are_honoured(stac_catalogue):
    item = pystac.Item.from_file(str(stac_catalogue.item_path))
    plain = read_scene(item, window=SMALL)
    for asset in item.assets.values():
        if "raster:bands" in asset.extra_fields:
            asset.extra_fields["raster:bands"] = [{"scale": 0.0001, "offset": -0.1}]  # L2A baseline >= 04.00
    shifted = read_scene(item, window=SMALL)
    assert shifted.meta["offset"] == {b: pytest.approx(-1000.0) for b in BANDS}
    np.testing.assert_allclose(shifted.data, plain.data - 0.1, atol=1e-6)
    for asset in item.assets.values():
        asset.extra_fields.pop("raster:bands", None)
    unstated = read_scene(item, window=SMALL)  # no raster:bands, no scaling tags in the COGs: DN / 10000
    assert unstated.meta["scale"] == {b: 1e-4 for b in BANDS}
    np.testing.assert_array_equal(unstated.data, plain.data)


# --- bad input: one clear error ----------------------------------------------------------------------------

def test_missing_band_lists_what_the_item_has(stac_server, stac_catalogue):
    item = _remote_item(stac_server, stac_catalogue)
    with pytest.raises(BandError, match=r"B8A, B12 not found \(available: B02, B03, B04, B08, B11\)") as info:
        read_scene(item, bands=["B04", "B8A", "B12"])
    assert f"{stac_server.url}/{stac_catalogue.item_rel}" in str(info.value)


def test_asset_missing_on_the_server(stac_server, stac_catalogue):
    item = _remote_item(stac_server, stac_catalogue)
    href = f"{stac_server.url}/gone/B04.tif"
    item.assets["red"].href = href
    start = time.monotonic()
    with pytest.raises(SceneError, match="asset 'red' cannot be read .*404") as info:
        read_scene(item, window=SMALL)
    assert time.monotonic() - start < 3
    assert str(info.value).startswith(f"{href}: ")


def test_refused_connection_is_retried_then_named(stac_catalogue, free_port):
    item = pystac.Item.from_file(str(stac_catalogue.item_path))
    href = f"http://127.0.0.1:{free_port}/B08.tif"
    item.assets["nir"].href = href
    start = time.monotonic()
    with pytest.raises(SceneError, match=r"asset 'nir' cannot be read \(.*connect.*gave up after 3 attempts\)") \
            as info:
        read_scene(item, window=SMALL)
    elapsed = time.monotonic() - start
    assert str(info.value).startswith(f"{href}: ")
    # two pauses between three attempts, and no more
    assert 2 * band_files._HTTP_RETRY_DELAY <= elapsed < 5


def test_server_that_comes_up_during_the_retry(stac_catalogue, free_port, start_server):
    item = pystac.Item.from_file(str(stac_catalogue.item_path))
    for key, asset in item.assets.items():
        if key in ("blue", "green", "red", "nir", "swir16"):
            asset.href = f"http://127.0.0.1:{free_port}/{stac_catalogue.item_path.parent.name}/{asset.href[2:]}"
    # the server comes up while the reader waits before its second attempt
    timer = threading.Timer(0.2, start_server, args=(stac_catalogue.root, free_port))
    timer.start()
    try:
        scene = read_scene(item, window=SMALL)
    finally:
        timer.join()
    assert scene.bands == BANDS and scene.valid.all()


def test_local_asset_file_missing_names_the_asset(stac_catalogue, tmp_path):
    item = pystac.Item.from_file(str(stac_catalogue.item_path))
    item.assets["swir16"].href = str(tmp_path / "B11.tif")
    with pytest.raises(SceneError, match=r"no such file or folder \(asset 'swir16'\)") as info:
        read_scene(item)
    assert str(tmp_path / "B11.tif") in str(info.value)


def test_json_that_is_not_an_item_or_not_there(stac_catalogue, stac_server, tmp_path):
    with pytest.raises(SceneError, match="not a STAC item"):
        read_scene(stac_catalogue.root / "catalog.json")
    with pytest.raises(SceneError, match="no such file") as info:
        read_scene(tmp_path / "item.json")
    assert "item.json" in str(info.value)
    with pytest.raises(SceneError, match=r"cannot read the STAC item \(HTTP Error 404") as info:
        read_scene(f"{stac_server.url}/nope/item.json")
    assert str(info.value).startswith(f"{stac_server.url}/nope/item.json: ")


def test_the_command_line_runs_a_stac_item_by_its_url(run_cli, stac_server, stac_catalogue, tmp_path):
    url = f"{stac_server.url}/{stac_catalogue.item_rel}"
    done = run_cli("run", url, "--bands", "B02,B03,B04,B08", "--window", "520,520,128,128", "--encoder", "spectral",
                   "--reduce", "pca", "--segment-size", "64", "--out", tmp_path / "out", "--quiet")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["scene"]["source"] == url and report["scene"]["shape"] == [128, 128]
    # by windows too: the window tasks read their windows over HTTP
    done = run_cli("run", url, "--bands", "B02,B03,B04,B08", "--window", "520,520,256,256", "--tile-size", "128",
                   "--encoder", "spectral", "--reduce", "pca", "--segment-size", "64", "--out", tmp_path / "win",
                   "--quiet")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "win" / "report.json").read_text())
    assert report["params"]["tiles"]["count"] == 4 and report["scene"]["shape"] == [256, 256]
