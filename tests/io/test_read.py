import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import transform_bounds

from s2label.errors import BandError, S2LabelWarning, SceneError
from s2label.io import read_scene
from s2label.io.bands import CANONICAL_BANDS
from s2label.io.datasets import SAMPLE_SHAPE

UTM = CRS.from_epsg(32633)


# --- the real default scene: a folder of single-band JP2s at 10, 20 and 60 m ----------------------------

def test_folder_of_real_jp2_bands(sample_full):
    scene = sample_full
    assert scene.bands == CANONICAL_BANDS
    assert scene.shape == SAMPLE_SHAPE and scene.data.dtype == np.float32
    assert scene.crs.to_epsg() == 32618 and scene.resolution == (10.0, 10.0)
    assert scene.meta["format"] == "folder" and scene.meta["ignored"] == ["preview.jp2"]
    # the 60 m grid stops short of the 10 m grid in the east and south: those pixels are not valid
    assert 0.99 < scene.valid.mean() < 1.0
    assert not scene.valid[-1].any() and scene.valid[0, :100].all()
    # top-of-atmosphere reflectance of a coastal scene: fields and forest in the west, sea in the east
    v = scene.valid
    nir, red, green = scene.band("B08")[v], scene.band("B04")[v], scene.band("B03")[v]
    assert 0.05 < float(np.median(scene.band("B02")[v])) < 0.2
    assert 0.25 < np.mean((nir - red) / (nir + red) > 0.4) < 0.6  # vegetation
    assert 0.3 < np.mean(nir < green) < 0.7  # water
    assert (scene.data[:, ~scene.valid] == 0).all()


def test_window_equals_slice_of_full_read(sample_full, sample_dir):
    part = read_scene(sample_dir, window=((700, 800), (300, 450)))
    assert part.shape == (100, 150)
    np.testing.assert_allclose(part.data, sample_full.data[:, 700:800, 300:450], atol=1e-6)
    assert part.transform == sample_full.transform @ Affine.translation(300, 700)
    assert part.meta["window"] == {"row_off": 700, "col_off": 300, "height": 100, "width": 150}


def test_bbox_in_lonlat_reads_the_overlapping_part(sample_full, sample_dir):
    west, south, east, north = sample_full.bounds
    # a 2 km x 1 km box in the scene CRS, given to the reader in lon/lat
    box = (west + 3000, north - 4000, west + 5000, north - 3000)
    lonlat = transform_bounds(sample_full.crs, "EPSG:4326", *box)
    part = read_scene(sample_dir, bands=["B02", "B03", "B04"], bbox=lonlat, bbox_crs="EPSG:4326")
    # the lon/lat box encloses the UTM box, so the read covers it (plus a sliver)
    assert 100 <= part.shape[0] <= 110 and 200 <= part.shape[1] <= 215
    assert part.bounds[0] <= box[0] and part.bounds[2] >= box[2]
    same_crs = read_scene(sample_dir, bands=["B02", "B03", "B04"], bbox=box)
    assert same_crs.shape == (100, 200)


def test_band_subset_in_requested_order(sample_dir):
    scene = read_scene(sample_dir, bands=["b8a", "B4", "rededge1"],
                       window=((0, 20), (0, 20)))
    assert scene.bands == ("B8A", "B04", "B05")


def test_list_of_files(sample_dir):
    files = [sample_dir / f"s2_{b}.jp2" for b in ("B04", "B03", "B02")]
    scene = read_scene(files, window=((0, 30), (0, 40)))
    assert scene.bands == ("B04", "B03", "B02") and scene.shape == (30, 40)


# --- resampling alignment ---------------------------------------------------------------------------------

def _grid_files(tmp_path, tif_writer, *, bright=(5, 7)):
    """Three 10 m bands (40 x 40) and a 20 m band whose grid starts 10 m west of the 10 m grid (as in real
    Sentinel-2 tiles) with one bright 20 m pixel."""
    x0, y0 = 500000.0, 4000000.0
    t10 = Affine(10, 0, x0, 0, -10, y0)
    t20 = Affine(20, 0, x0 - 10, 0, -20, y0)
    for band in ("B02", "B03", "B04"):
        tif_writer(tmp_path / f"{band}.tif", np.full((40, 40), 1000, np.uint16), transform=t10, crs=UTM)
    b11 = np.full((21, 21), 1000, np.uint16)
    b11[bright] = 5000
    tif_writer(tmp_path / "B11.tif", b11, transform=t20, crs=UTM)
    return tmp_path


def test_20m_feature_lands_on_the_right_10m_pixels(tmp_path, tif_writer):
    scene = read_scene(_grid_files(tmp_path, tif_writer), resampling="nearest")
    b11 = scene.band("B11")
    # 20 m pixel (row 5, col 7) spans x in [x0 - 10 + 140, x0 - 10 + 160): 10 m columns 13 and 14, rows 10, 11
    expected = np.zeros_like(b11, bool)
    expected[10:12, 13:15] = True
    np.testing.assert_array_equal(b11 > 0.2, expected)
    assert scene.valid.all()


def test_bilinear_resampling_is_centred_on_the_feature(tmp_path, tif_writer):
    scene = read_scene(_grid_files(tmp_path, tif_writer))
    excess = np.clip(scene.band("B11") - 0.1, 0, None)
    rows, cols = np.indices(excess.shape)
    centre = (float((rows * excess).sum() / excess.sum()), float((cols * excess).sum() / excess.sum()))
    assert centre == pytest.approx((10.5, 13.5), abs=0.05)


def test_real_20m_band_aligns_with_10m_band(sample_full):
    """B8A (20 m grid, 10 m west of the 10 m grid) must line up with B08 (10 m): along both axes the
    correlation of their gradients peaks at zero shift and falls off symmetrically. (Naive 2x upsampling
    from the array origin peaks at a one-pixel shift in columns: 0.52 at -1 against 0.39 at 0.)"""
    b08 = sample_full.band("B08")[200:1200, 200:1200]
    b8a = sample_full.band("B8A")[200:1200, 200:1200]

    def corr(g_ref, g_test, shift, axis):
        a = g_ref[5:-5, 5:-5]
        b = np.roll(g_test, shift, axis=axis)[5:-5, 5:-5]
        return np.corrcoef(a.ravel(), b.ravel())[0, 1]

    for axis in (0, 1):
        g08, g8a = np.diff(b08, axis=axis), np.diff(b8a, axis=axis)
        scores = {s: corr(g08, g8a, s, axis) for s in (-2, -1, 0, 1, 2)}
        assert max(scores, key=scores.get) == 0
        assert scores[0] > 0.6
        assert abs(scores[-1] - scores[1]) < 0.05


# --- multi-band stacks --------------------------------------------------------------------------------------

def test_stack_with_band_descriptions(tmp_path, tif_writer, real_crop):
    dn = (real_crop.data[[1, 2, 3, 7]] * 10000).astype(np.uint16)
    path = tif_writer(tmp_path / "stack.tif", dn, transform=real_crop.transform, crs=real_crop.crs,
                      descriptions=["B2", "B3", "B4", "B8"])
    scene = read_scene(path)
    assert scene.bands == ("B02", "B03", "B04", "B08") and scene.meta["format"] == "raster"
    np.testing.assert_allclose(scene.data, dn.astype(np.float32) / 10000, atol=1e-7)


def test_stack_without_descriptions_needs_band_names(tmp_path, tif_writer, real_crop):
    dn = (real_crop.data[:4] * 10000).astype(np.uint16)
    path = tif_writer(tmp_path / "stack.tif", dn, transform=real_crop.transform, crs=real_crop.crs)
    with pytest.raises(BandError, match="band_names"):
        read_scene(path)
    scene = read_scene(path, band_names=["B01", "B02", "B03", "B04"])
    assert scene.bands == ("B01", "B02", "B03", "B04")
    with pytest.raises(BandError, match="3 names for 4 bands"):
        read_scene(path, band_names=["B01", "B02", "B03"])


def test_thirteen_unnamed_bands_assume_esa_order_with_a_warning(tmp_path, tif_writer, real_crop):
    dn = (real_crop.data * 10000).astype(np.uint16)
    path = tif_writer(tmp_path / "eurosat_like.tif", dn, transform=real_crop.transform, crs=real_crop.crs)
    with pytest.warns(S2LabelWarning, match="ESA order"):
        scene = read_scene(path)
    assert scene.bands == CANONICAL_BANDS


def test_real_eurosat_patch(patches_dir):
    with pytest.warns(S2LabelWarning):
        scene = read_scene(patches_dir / "EuroSAT_MS" / "SeaLake" / "SeaLake_3000.tif")
    assert scene.shape == (64, 64) and len(scene.bands) == 13
    # open water: NIR far below green
    assert np.median(scene.band("B08")) < np.median(scene.band("B03"))


def test_real_bigearthnet_folder_of_mixed_resolutions(patches_dir):
    folder = next((patches_dir / "BigEarthNet-S2").iterdir())
    scene = read_scene(folder)
    assert scene.bands == tuple(b for b in CANONICAL_BANDS if b != "B10")
    assert scene.shape == (120, 120) and scene.valid.all()


def test_real_ssl4eo_folder_geographic_crs_unpadded_names(patches_dir):
    folder = next((patches_dir / "SSL4EO-S12-s2c" / "0000200").iterdir())
    scene = read_scene(folder)
    assert scene.crs.to_epsg() == 4326 and len(scene.bands) == 13 and scene.shape == (264, 264)


def test_real_aberystwyth_stack_with_user_scale(aberystwyth_dir):
    path = aberystwyth_dir / "sen2_20210527_aber_10band_mosaic.tif"
    scene = read_scene(path, scale=1e-3)  # ARCSI writes reflectance x 1000
    assert scene.bands == ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
    assert scene.meta["scale"]["B02"] == 1e-3 and scene.shape == (947, 930)
    assert 0.01 < float(np.median(scene.band("B04"))) < 0.2


# --- scaling ---------------------------------------------------------------------------------------------

def test_scale_and_offset_overrides(tmp_path, tif_writer):
    t = Affine(10, 0, 0, 0, -10, 0)
    for band in ("B02", "B03", "B04"):
        tif_writer(tmp_path / f"{band}.tif", np.full((8, 8), 2000, np.uint16), transform=t, crs=UTM)
    assert read_scene(tmp_path).data[0, 0, 0] == pytest.approx(0.2)
    assert read_scene(tmp_path, offset=-1000).data[0, 0, 0] == pytest.approx(0.1)
    assert read_scene(tmp_path, scale=1e-3).data[0, 0, 0] == pytest.approx(2.0)
    per_band = read_scene(tmp_path, offset={"B3": -1000})
    assert per_band.band("B02")[0, 0] == pytest.approx(0.2) and per_band.band("B03")[0, 0] == pytest.approx(0.1)


def test_file_tags_state_the_offset(tmp_path, tif_writer):
    t = Affine(10, 0, 0, 0, -10, 0)
    tags = {"PROCESSING_BASELINE": "04.00", "BOA_ADD_OFFSET": "-1000", "BOA_QUANTIFICATION_VALUE": "10000"}
    data = np.full((3, 8, 8), 1500, np.uint16)
    path = tif_writer(tmp_path / "l2a.tif", data, transform=t, crs=UTM, descriptions=["B02", "B03", "B04"],
                      tags=tags)
    assert read_scene(path).data[0, 0, 0] == pytest.approx(0.05)


def test_float_data_is_taken_as_reflectance_and_nan_is_nodata(tmp_path, tif_writer):
    data = np.full((3, 10, 10), 0.25, np.float32)
    data[:, 2, 3] = np.nan
    path = tif_writer(tmp_path / "refl.tif", data, transform=Affine(10, 0, 0, 0, -10, 0), crs=UTM,
                      descriptions=["B02", "B03", "B04"])
    scene = read_scene(path)
    assert scene.data[0, 0, 0] == pytest.approx(0.25)
    assert not scene.valid[2, 3] and scene.valid.sum() == 99 and scene.data[0, 2, 3] == 0


def test_zero_fill_and_nodata_become_invalid(tmp_path, tif_writer):
    t = Affine(10, 0, 0, 0, -10, 0)
    a = np.full((3, 10, 10), 900, np.uint16)
    a[:, :, :2] = 0  # zero fill, no nodata declared
    tif_writer(tmp_path / "zero.tif", a, transform=t, crs=UTM, descriptions=["B02", "B03", "B04"])
    b = np.full((3, 10, 10), 900, np.uint16)
    b[1, 5, 5] = 65535
    tif_writer(tmp_path / "nd.tif", b, transform=t, crs=UTM, nodata=65535, descriptions=["B02", "B03", "B04"])
    assert read_scene(tmp_path / "zero.tif").valid.sum() == 80
    valid = read_scene(tmp_path / "nd.tif").valid
    assert not valid[5, 5] and valid.sum() == 99


# --- bad input: one clear error naming the file -----------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(SceneError, match="no such file") as info:
        read_scene(tmp_path / "nope.tif")
    assert "nope.tif" in str(info.value)


def test_file_that_is_not_a_raster(tmp_path):
    bad = tmp_path / "notes.tif"
    bad.write_text("this is not an image")
    with pytest.raises(SceneError, match="not a readable raster") as info:
        read_scene(bad)
    assert str(bad) in str(info.value)


def test_raster_without_crs(tmp_path, tif_writer):
    path = tif_writer(tmp_path / "nocrs.tif", np.ones((3, 8, 8), np.uint16), transform=Affine(10, 0, 0, 0, -10, 0),
                      crs=None, descriptions=["B02", "B03", "B04"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SceneError, match="no CRS") as info:
            read_scene(path)
    assert "nocrs.tif" in str(info.value)


def test_all_nodata(tmp_path, tif_writer):
    path = tif_writer(tmp_path / "empty.tif", np.zeros((3, 8, 8), np.uint16), transform=Affine(10, 0, 0, 0, -10, 0),
                      crs=UTM, descriptions=["B02", "B03", "B04"])
    with pytest.raises(SceneError, match="no valid pixels") as info:
        read_scene(path)
    assert "empty.tif" in str(info.value)


def test_fewer_than_three_bands(tmp_path, tif_writer, sample_dir):
    path = tif_writer(tmp_path / "two.tif", np.ones((2, 8, 8), np.uint16), transform=Affine(10, 0, 0, 0, -10, 0),
                      crs=UTM, descriptions=["B04", "B08"])
    with pytest.raises(BandError, match="at least 3") as info:
        read_scene(path)
    assert "two.tif" in str(info.value)
    with pytest.raises(BandError, match="at least 3"):
        read_scene(sample_dir, bands=["B04", "B08"])


def test_unknown_band_name(sample_dir, tmp_path, tif_writer):
    with pytest.raises(BandError, match="unknown band name 'B99'"):
        read_scene(sample_dir, bands=["B02", "B03", "B99"])
    path = tif_writer(tmp_path / "odd.tif", np.ones((3, 8, 8), np.uint16), transform=Affine(10, 0, 0, 0, -10, 0),
                      crs=UTM)
    with pytest.raises(BandError, match="unknown band name"):
        read_scene(path, band_names=["B02", "B03", "NIR2"])


def test_requested_band_missing(tmp_path, tif_writer):
    path = tif_writer(tmp_path / "rgb.tif", np.ones((3, 8, 8), np.uint16), transform=Affine(10, 0, 0, 0, -10, 0),
                      crs=UTM, descriptions=["B02", "B03", "B04"])
    with pytest.raises(BandError, match="B08 not found"):
        read_scene(path, bands=["B02", "B03", "B08"])


def test_window_outside_the_scene(sample_dir):
    with pytest.raises(SceneError, match="not inside the scene"):
        read_scene(sample_dir, window=((1900, 2100), (0, 100)))
    with pytest.raises(SceneError, match="does not overlap"):
        read_scene(sample_dir, bbox=(0, 0, 10, 10))
    with pytest.raises(SceneError, match="either window or bbox"):
        read_scene(sample_dir, window=((0, 10), (0, 10)), bbox=(0, 0, 1, 1))


def test_folder_without_bands(tmp_path):
    (tmp_path / "readme.txt").write_text("no rasters here")
    with pytest.raises(BandError, match="no band files"):
        read_scene(tmp_path)


def test_folder_with_a_band_twice(tmp_path, tif_writer):
    t = Affine(10, 0, 0, 0, -10, 0)
    for name in ("B02.tif", "B03.tif", "B04.tif", "x_B04.tif"):
        tif_writer(tmp_path / name, np.ones((8, 8), np.uint16), transform=t, crs=UTM)
    with pytest.raises(BandError, match="B04 found twice"):
        read_scene(tmp_path)


def _huge_vrt(path, sample_dir, size=200_000):
    """A 3-band VRT of size x size px at 10 m whose only data are the real B02/B03/B04 files, top left."""
    bands = []
    for i, name in enumerate(("B02", "B03", "B04"), start=1):
        src = next(sample_dir.glob(f"*{name}*.jp2"))
        with rasterio.open(src) as ds:
            crs_wkt, t, h, w = ds.crs.to_wkt(), ds.transform, ds.height, ds.width
        bands.append(f"""<VRTRasterBand dataType="UInt16" band="{i}"><Description>{name}</Description>
<SimpleSource><SourceFilename relativeToVRT="0">{src}</SourceFilename><SourceBand>1</SourceBand>
<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/><DstRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>
</SimpleSource></VRTRasterBand>""")
    geo = ", ".join(str(v) for v in (t.c, t.a, t.b, t.f, t.d, t.e))
    path.write_text(f'<VRTDataset rasterXSize="{size}" rasterYSize="{size}"><SRS>{crs_wkt}</SRS>'
                    f"<GeoTransform>{geo}</GeoTransform>{''.join(bands)}</VRTDataset>")
    return path


def test_a_read_larger_than_memory_is_refused_up_front(tmp_path, sample_dir):
    vrt = _huge_vrt(tmp_path / "huge.vrt", sample_dir)  # 200,000 x 200,000 px: 480 GiB as float32
    need = 200_000**2 * (3 * 4 + 8) / 2**30  # three float32 bands, the valid mask and one band being read
    message = rf"3 bands of 200000 x 200000 px needs about {need:.1f} GiB.*window= or bbox="
    with pytest.raises(SceneError, match=message):
        read_scene(vrt)
    # refused before allocating: 745 GiB could not have been allocated here at all, so reaching the error
    # (rather than a MemoryError) shows the check ran first
    part = read_scene(vrt, window=((0, 64), (0, 64)))  # a part of it reads as usual
    assert part.shape == (64, 64) and part.bands == ("B02", "B03", "B04")


def test_memory_estimate_counts_bands_and_pixels(monkeypatch, sample_dir):
    import sys

    read_module = sys.modules["s2label.io.read"]
    monkeypatch.setattr(read_module, "available_memory_bytes", lambda: 100 * 2**20)  # 100 MiB free
    # 13 bands of 1933 x 1947 px as float32 and the overhead: 0.2 GiB > 80 % of 100 MiB
    with pytest.raises(SceneError, match=r"13 bands of 1933 x 1947 px needs about 0\.2 GiB, and 0\.1 GiB"):
        read_scene(sample_dir)
    assert read_scene(sample_dir, window=((0, 512), (0, 512))).shape == (512, 512)


def test_scene_grid_is_the_grid_read_scene_reads_onto(sample_dir):
    from s2label.io import scene_grid

    for part in ({}, {"window": ((100, 300), (50, 450))}, {"bbox": (420000, 4160000, 425000, 4165000)}):
        try:
            scene = read_scene(sample_dir, bands=["B02", "B04", "B11"], **part)
        except SceneError:   # the bbox is outside this scene: both refuse it
            with pytest.raises(SceneError):
                scene_grid(sample_dir, bands=["B02", "B04", "B11"], **part)
            continue
        grid = scene_grid(sample_dir, bands=["B02", "B04", "B11"], **part)
        assert grid.shape == scene.shape and grid.transform == scene.transform and grid.crs == scene.crs
        assert grid.bands == ("B02", "B04", "B11")
        w = scene.meta["window"]
        assert grid.offset == (w["row_off"], w["col_off"])


def test_a_window_of_no_data_reads_only_when_allowed(tif_writer, tmp_path):
    data = np.zeros((3, 20, 20), np.uint16)
    data[:, 10:, :] = 500
    path = tif_writer(tmp_path / "half.tif", data, transform=Affine(10, 0, 500000, 0, -10, 4000000),
                      crs=CRS.from_epsg(32633), descriptions=["B02", "B03", "B04"])
    with pytest.raises(SceneError, match="no valid pixels"):
        read_scene(path, window=((0, 10), (0, 20)))
    empty = read_scene(path, window=((0, 10), (0, 20)), allow_empty=True)
    assert empty.shape == (10, 20) and not empty.valid.any() and (empty.data == 0).all()
