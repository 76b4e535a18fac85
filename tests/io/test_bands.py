import pytest

from s2label.errors import BandError
from s2label.io.bands import CANONICAL_BANDS, band_from_filename, find_band, normalise_band, normalise_bands


@pytest.mark.parametrize("spelling, canonical", [
    ("B8A", "B8A"), ("B8a", "B8A"), ("b8a", "B8A"), ("8A", "B8A"), ("B08", "B08"), ("B8", "B08"), ("b8", "B08"),
    ("8", "B08"), ("B1", "B01"), ("B01", "B01"), ("B10", "B10"), ("B12", "B12"), (" B02 ", "B02"),
    ("red", "B04"), ("NIR", "B08"), ("nir08", "B8A"), ("swir16", "B11"), ("swir_22", "B12"),
])
def test_normalize_band_spellings(spelling, canonical):
    assert normalise_band(spelling) == canonical


@pytest.mark.parametrize("bad", ["B13", "B00", "B1A", "B9A", "X", "", "band 4", "B8AA"])
def test_unknown_band_names_raise(bad):
    with pytest.raises(BandError, match="unknown band name"):
        normalise_band(bad)


def test_normalize_bands_refuses_duplicates():
    with pytest.raises(BandError, match="B08"):
        normalise_bands(["B8", "B08"])


@pytest.mark.parametrize("name, band", [
    ("s2_B8A.jp2", "B8A"), ("T33UUP_20170613T101031_B02_10m.jp2", "B02"), ("B1.tif", "B01"),
    ("S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_75_43_B11.tif", "B11"), ("x_b8a.TIF", "B8A"),
    ("preview.jp2", None), ("T33UUP_20170613T101031_TCI_10m.jp2", None), ("B13.tif", None),
])
def test_band_from_filename(name, band):
    assert band_from_filename(name) == band


def test_canonical_order_and_lookup():
    assert CANONICAL_BANDS.index("B8A") == 8 and len(CANONICAL_BANDS) == 13
    assert find_band(("B02", "B8A"), "B08", "B8A") == 1
    assert find_band(("B02",), "B08") is None
