"""Label styles GIS software reads (s2label/io/styles.py), and write_raster's colour table and .aux.xml; read back
as GDAL reads them (tests/_gdal.py), on a small synthetic raster whose answer is known."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS

from s2label.io.styles import (
    NO_LABEL_NAME,
    LabelStyle,
    category_names,
    colour_table,
    label_codes,
    pam_xml,
    qml_style,
    simplestyle,
    sld_style,
)
from s2label.io.write import write_raster
from tests._gdal import attribute_table, gdal_library
from tests._gdal import category_names as gdal_category_names

STYLES = (LabelStyle(0, "water", "#1f77b4"), LabelStyle(2, "forest & <fields>", "#2ca02c"))


@pytest.fixture(scope="module")
def gdal():
    lib = gdal_library()
    if lib is None:
        pytest.skip("no GDAL library found beside rasterio")
    return lib


def test_codes_shift_labels_by_one_and_make_every_negative_no_label():
    ids = np.array([[-2, -1, 0], [2, 2, 254]])
    codes = label_codes(ids)
    assert codes.dtype == np.uint8 and codes.tolist() == [[0, 0, 1], [3, 3, 255]]
    assert label_codes(np.array([255])).dtype == np.uint16  # code 256 does not fit a byte
    assert label_codes(np.full((2, 2), -1)).tolist() == [[0, 0], [0, 0]]
    with pytest.raises(ValueError, match="16-bit colour table"):
        label_codes(np.array([65535]))


def test_colour_table_and_category_names_follow_the_codes():
    table = colour_table(STYLES)
    assert table == {0: (0, 0, 0, 0), 1: (31, 119, 180, 255), 3: (44, 160, 44, 255)}
    assert category_names(STYLES) == [NO_LABEL_NAME, "water", "", "forest & <fields>"]
    assert category_names(()) == [NO_LABEL_NAME]
    with pytest.raises(ValueError, match="'#1f77b4'"):
        LabelStyle(1, "bad", "blue")
    with pytest.raises(ValueError, match=">= 0"):
        LabelStyle(-1, "noise", "#000000")


def test_a_coded_raster_opens_with_its_colours_names_and_attribute_table(tmp_path, gdal):
    codes = label_codes(np.array([[-2, -1, 0, 0], [2, 2, 2, 0]]))
    counts = np.bincount(codes.ravel(), minlength=4).tolist()
    path = write_raster(tmp_path / "labels.tif", codes, transform=Affine(10, 0, 500000, 0, -10, 4e6),
                        crs=CRS.from_epsg(32630), nodata=0, colormap=colour_table(STYLES),
                        aux_xml=pam_xml(STYLES, counts))
    with rasterio.open(path) as src:
        assert src.dtypes == ("uint8",) and src.nodata == 0
        assert src.colorinterp[0].name == "palette"
        assert src.colormap(1)[1] == (31, 119, 180, 255) and src.colormap(1)[3] == (44, 160, 44, 255)
    assert gdal_category_names(gdal, path) == ["unlabelled", "water", "", "forest & <fields>"]
    rows = attribute_table(gdal, path)
    assert [(r["Value"], r["Name"], r["Count"]) for r in rows] == [
        ("0", "unlabelled", "2"), ("1", "water", "3"), ("3", "forest & <fields>", "3")]
    assert (rows[2]["Red"], rows[2]["Green"], rows[2]["Blue"], rows[2]["Alpha"]) == ("44", "160", "44", "255")

    # the same path written again without categories: the old .aux.xml goes, it would name the wrong file
    write_raster(path, codes.astype(np.int32), transform=Affine(10, 0, 500000, 0, -10, 4e6),
                 crs=CRS.from_epsg(32630))
    assert not path.with_name("labels.tif.aux.xml").exists() and gdal_category_names(gdal, path) == []


def test_a_colour_table_needs_palette_pixels(tmp_path):
    with pytest.raises(ValueError, match="uint8 or uint16"):
        write_raster(tmp_path / "x.tif", np.zeros((2, 2), np.int32), transform=Affine.identity(),
                     crs=CRS.from_epsg(32630), colormap={0: (0, 0, 0, 0)})
    assert not list(tmp_path.iterdir())


def test_qml_and_sld_categorise_on_the_attribute_with_each_colour_and_name():
    qml = ET.fromstring(qml_style(STYLES, "label").split("\n", 1)[1])  # past the DOCTYPE line
    renderer = qml.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "label"
    categories = [(c.get("value"), c.get("label"), c.get("symbol")) for c in renderer.iter("category")]
    assert categories == [("0", "water", "0"), ("2", "forest & <fields>", "1")]
    fills = {s.get("name"): {o.get("name"): o.get("value") for o in s.iter("Option") if o.get("name")}
             for s in renderer.iter("symbol")}
    assert fills["1"]["color"] == "44,160,44,153" and fills["1"]["outline_color"] == "44,160,44,255"

    ns = {"sld": "http://www.opengis.net/sld", "ogc": "http://www.opengis.net/ogc"}
    sld = ET.fromstring(sld_style(STYLES, "label", "labels").encode())
    rules = sld.findall(".//sld:Rule", ns)
    assert [r.find("sld:Name", ns).text for r in rules] == ["water", "forest & <fields>"]
    assert [r.find(".//ogc:Literal", ns).text for r in rules] == ["0", "2"]
    assert rules[1].find(".//sld:CssParameter[@name='fill']", ns).text == "#2ca02c"


def test_simplestyle_gives_fill_and_stroke():
    assert simplestyle("#1f77b4") == {"fill": "#1f77b4", "fill-opacity": 0.6, "stroke": "#1f77b4",
                                      "stroke-width": 1}
    with pytest.raises(ValueError):
        simplestyle("red")
