import numpy as np
import pytest

from s2label.errors import SceneError
from s2label.io import parse_safe, read_scene
from s2label.io.safe import baseline_offset_default


@pytest.mark.parametrize("baseline, offset", [("04.00", -1000.0), ("05.09", -1000.0), ("03.01", 0.0),
                                              ("02.14", 0.0), ("", 0.0)])
def test_baseline_offset_rule(baseline, offset):
    assert baseline_offset_default(baseline) == offset


def test_parse_l1c_finds_all_13_bands(safe_factory):
    product = parse_safe(safe_factory("L1C", "02.04"))
    assert product.level == "L1C" and product.processing_baseline == "02.04"
    assert list(product.band_files)[:3] == ["B01", "B02", "B03"] and len(product.band_files) == 13
    assert product.quantification == 10000 and set(product.offsets.values()) == {0.0}


def test_parse_l2a_picks_finest_resolution_per_band(safe_factory):
    product = parse_safe(safe_factory("L2A", "04.00", offsets=True))
    files = {b: p.parent.name for b, p in product.band_files.items()}
    assert files["B02"] == files["B08"] == "R10m"
    assert files["B05"] == files["B8A"] == files["B11"] == "R20m"
    assert files["B01"] == files["B09"] == "R60m"
    assert "B10" not in files and len(files) == 12  # SCL and the coarse copies are not bands
    assert product.offsets["B04"] == -1000.0


def test_parse_safe_accepts_the_metadata_file(safe_factory):
    product_dir = safe_factory("L1C")
    assert parse_safe(product_dir / "MTD_MSIL1C.xml").root == product_dir


def test_safe_reflectance_matches_folder_read(safe_factory, sample_dir):
    window = ((500, 600), (700, 800))
    folder = read_scene(sample_dir, window=window)
    safe = read_scene(safe_factory("L1C", "02.04"), window=window)
    assert safe.bands == folder.bands and safe.meta["level"] == "L1C"
    np.testing.assert_array_equal(safe.data, folder.data)


@pytest.mark.parametrize("level", ["L1C", "L2A"])
def test_baseline_04_offset_is_applied(safe_factory, sample_dir, level):
    window = ((500, 600), (700, 800))
    bands = ["B02", "B03", "B04", "B08", "B8A", "B11"]
    folder = read_scene(sample_dir, bands=bands, window=window)
    for with_list in (True, False):  # the offset list in the XML, or only the baseline number
        safe = read_scene(safe_factory(level, "04.00", offsets=with_list), bands=bands, window=window)
        assert safe.meta["processing_baseline"] == "04.00"
        np.testing.assert_allclose(safe.data, folder.data - 0.1, atol=1e-6)
        assert safe.meta["offset"]["B02"] == -1000.0


def test_old_l2a_has_no_offset_and_uses_10m_files(safe_factory, sample_dir):
    window = ((0, 50), (0, 50))
    folder = read_scene(sample_dir, bands=["B02", "B03", "B04"], window=window)
    safe = read_scene(safe_factory("L2A", "02.14"), bands=["B02", "B03", "B04"], window=window)
    np.testing.assert_array_equal(safe.data, folder.data)  # not the constant-7 coarse copies
    assert not np.isclose(safe.data, 7e-4).any()


def test_safe_without_metadata_is_refused(safe_factory):
    product = safe_factory("L1C")
    (product / "MTD_MSIL1C.xml").unlink()
    with pytest.raises(SceneError, match="no band files|not a Sentinel-2|MTD"):
        parse_safe(product)


def test_safe_with_broken_xml_is_refused(safe_factory):
    product = safe_factory("L1C")
    (product / "MTD_MSIL1C.xml").write_text("<not-closed>")
    with pytest.raises(SceneError, match="not valid XML"):
        read_scene(product)
