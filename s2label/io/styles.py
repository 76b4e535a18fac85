"""Label styles that GIS software reads: a raster's colour table and category names, a vector layer's QGIS and
SLD style, and GeoJSON *simplestyle* properties.

A label file opens with its names and colours when it carries them in the form each program looks for:

- **GeoTIFF**: a colour table on the band (TIFF palette, which needs unsigned 8- or 16-bit pixels: hence
  :func:`label_codes`, 0 = no label, a label's id + 1 otherwise) and category names, which GDAL keeps in the
  ``.aux.xml`` beside the file (:func:`pam_xml`: ``CategoryNames`` and a thematic raster attribute table).
- **GeoPackage**: a ``layer_styles`` table, as QGIS writes it, with a categorised style (:func:`qml_style`,
  :func:`sld_style`).
- **GeoJSON**: each feature's ``fill``/``stroke`` properties (:func:`simplestyle`), as geojson.io and GitHub
  draw them.

Examples
--------
>>> styles = (LabelStyle(0, "water", "#1f77b4"), LabelStyle(1, "forest", "#2ca02c"))
>>> label_codes(np.array([[-2, -1], [0, 1]])).tolist()
[[0, 0], [1, 2]]
>>> colour_table(styles)[1]
(31, 119, 180, 255)
>>> category_names(styles)
['unlabelled', 'water', 'forest']
>>> simplestyle("#2ca02c")["fill"]
'#2ca02c'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np

__all__ = ["LabelStyle", "NO_LABEL_CODE", "NO_LABEL_NAME", "label_codes", "colour_table", "category_names",
           "pam_xml", "qml_style", "sld_style", "simplestyle", "FILL_OPACITY", "is_hex_colour", "to_rgb"]

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
#: The pixel value of "no label" (unlabelled, noise or outside the segments) in a coded label raster.
NO_LABEL_CODE = 0
#: The category name of :data:`NO_LABEL_CODE`.
NO_LABEL_NAME = "unlabelled"
#: How opaque a label's fill is drawn (its outline is opaque).
FILL_OPACITY = 0.6


def is_hex_colour(value: object) -> bool:
    """Whether ``value`` is a ``"#rrggbb"`` string.

    Parameters
    ----------
    value : object
        Anything; only a ``str`` can match.

    Returns
    -------
    bool
    """
    return isinstance(value, str) and bool(_HEX.match(value))


def to_rgb(colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> ``(r, g, b)``; :class:`ValueError` for anything else.

    Parameters
    ----------
    colour : str
        ``"#rrggbb"`` (either case).

    Returns
    -------
    (r, g, b) : tuple of int
        Each in 0..255.

    Raises
    ------
    ValueError
        ``colour`` is not a ``"#rrggbb"`` string.
    """
    if not is_hex_colour(colour):
        raise ValueError(f"colour must look like '#1f77b4', got {colour!r}")
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@dataclass(frozen=True)
class LabelStyle:
    """How one label is drawn.

    Attributes
    ----------
    value : int
        The label's id (a raster's pixels hold ``value + 1``; a vector layer's attribute holds ``value``).
    name : str
    colour : str
        ``"#rrggbb"``.
    """

    value: int
    name: str
    colour: str

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError(f"a label's value must be >= 0, got {self.value}")
        to_rgb(self.colour)  # raises for anything but '#rrggbb'


def label_codes(labels: np.ndarray) -> np.ndarray:
    """A label raster as palette codes: ``id + 1`` for a label, :data:`NO_LABEL_CODE` (0) for anything negative.

    Parameters
    ----------
    labels : ndarray (H, W) int
        Label ids; negative values (``-1`` unlabelled or noise, ``-2`` outside the segments) mean no label.

    Returns
    -------
    ndarray (H, W) uint8, or uint16 when a code exceeds 255

    Raises
    ------
    ValueError
        A label id above 65534 (no 16-bit palette holds it).

    Examples
    --------
    >>> label_codes(np.array([3, -1, 300])).dtype.name
    'uint16'
    """
    ids = np.asarray(labels)
    top = int(ids.max(initial=-1))
    if top > 65534:
        raise ValueError(f"label id {top} does not fit a 16-bit colour table (at most 65534)")
    dtype = np.uint8 if top < 255 else np.uint16
    codes = np.where(ids >= 0, ids + 1, NO_LABEL_CODE)
    return codes.astype(dtype)


def colour_table(styles: Sequence[LabelStyle]) -> dict[int, tuple[int, int, int, int]]:
    """The colour table of a coded raster: code -> (r, g, b, alpha), "no label" transparent.

    Parameters
    ----------
    styles : sequence of LabelStyle

    Returns
    -------
    dict of int to (int, int, int, int)
        For ``rasterio``'s ``write_colormap``.
    """
    table = {NO_LABEL_CODE: (0, 0, 0, 0)}
    for style in styles:
        table[style.value + 1] = (*to_rgb(style.colour), 255)
    return table


def category_names(styles: Sequence[LabelStyle]) -> list[str]:
    """GDAL's category names of a coded raster: entry ``i`` names code ``i`` (``""`` for a code no label has).

    Parameters
    ----------
    styles : sequence of LabelStyle

    Returns
    -------
    list of str
        ``len = max(value) + 2``; entry 0 is :data:`NO_LABEL_NAME`.
    """
    names = [""] * (max((s.value for s in styles), default=-1) + 2)
    names[NO_LABEL_CODE] = NO_LABEL_NAME
    for style in styles:
        names[style.value + 1] = style.name
    return names


def pam_xml(styles: Sequence[LabelStyle], counts: Sequence[int] | None = None) -> str:
    """The ``.aux.xml`` (GDAL's persistent auxiliary metadata) naming a coded label raster's categories.

    It holds the band's ``CategoryNames`` (what ``gdalinfo`` lists and QGIS's paletted renderer labels classes
    with) and a thematic raster attribute table (value, pixel count, name, red, green, blue, alpha).

    Parameters
    ----------
    styles : sequence of LabelStyle
    counts : sequence of int, optional
        Pixels of each code (``counts[code]``); left out of the table when not given.

    Returns
    -------
    str
        XML text.
    """
    rows = [(NO_LABEL_CODE, NO_LABEL_NAME, (0, 0, 0), 0)]
    rows += [(s.value + 1, s.name, to_rgb(s.colour), 255) for s in sorted(styles, key=lambda s: s.value)]
    # field types: 0 integer, 2 string; usages: 5 min-max (the value), 1 pixel count, 2 name, 6-9 r, g, b, alpha
    fields = [("Value", 0, 5)] + ([("Count", 0, 1)] if counts is not None else []) + [
        ("Name", 2, 2), ("Red", 0, 6), ("Green", 0, 7), ("Blue", 0, 8), ("Alpha", 0, 9)]
    lines = ["<PAMDataset>", '  <PAMRasterBand band="1">', "    <CategoryNames>"]
    lines += [f"      <Category>{escape(name)}</Category>" for name in category_names(styles)]
    lines += ["    </CategoryNames>", '    <GDALRasterAttributeTable tableType="thematic">']
    lines += [f'      <FieldDefn index="{i}"><Name>{name}</Name><Type>{kind}</Type><Usage>{usage}</Usage></FieldDefn>'
              for i, (name, kind, usage) in enumerate(fields)]
    for i, (code, name, rgb, alpha) in enumerate(rows):
        cells = [code] + ([int(counts[code]) if code < len(counts) else 0] if counts is not None else [])
        cells += [escape(name), *rgb, alpha]
        lines.append(f'      <Row index="{i}">' + "".join(f"<F>{c}</F>" for c in cells) + "</Row>")
    lines += ["    </GDALRasterAttributeTable>", "  </PAMRasterBand>", "</PAMDataset>", ""]
    return "\n".join(lines)


def _rgba(colour: str, alpha: float) -> str:
    return ",".join(str(c) for c in (*to_rgb(colour), round(alpha * 255)))


def qml_style(styles: Sequence[LabelStyle], attribute: str) -> str:
    """A QGIS style (QML) drawing polygons by label: a categorised renderer on ``attribute``, each label filled
    with its colour at :data:`FILL_OPACITY` and outlined in it, its legend entry its name.

    Parameters
    ----------
    styles : sequence of LabelStyle
    attribute : str
        The field holding each feature's label value.

    Returns
    -------
    str
        XML text, for a ``.qml`` file or the ``styleQML`` column of a ``layer_styles`` table.
    """
    categories, symbols = [], []
    for i, style in enumerate(styles):
        categories.append(f'      <category symbol="{i}" value="{style.value}" label={quoteattr(style.name)} '
                          'render="true"/>')
        symbols.append(
            f'      <symbol type="fill" name="{i}" alpha="1" clip_to_extent="1" force_rhr="0">\n'
            '        <layer class="SimpleFill" enabled="1" locked="0" pass="0">\n'
            '          <Option type="Map">\n'
            f'            <Option type="QString" name="color" value="{_rgba(style.colour, FILL_OPACITY)}"/>\n'
            f'            <Option type="QString" name="outline_color" value="{_rgba(style.colour, 1.0)}"/>\n'
            '            <Option type="QString" name="outline_style" value="solid"/>\n'
            '            <Option type="QString" name="outline_width" value="0.26"/>\n'
            '            <Option type="QString" name="outline_width_unit" value="MM"/>\n'
            '            <Option type="QString" name="style" value="solid"/>\n'
            '          </Option>\n'
            '        </layer>\n'
            '      </symbol>')
    return "\n".join([
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>",
        '<qgis version="3.28.0" styleCategories="Symbology">',
        f'  <renderer-v2 type="categorizedSymbol" attr={quoteattr(attribute)} symbollevels="0" '
        'enableorderby="0" forceraster="0">',
        "    <categories>", *categories, "    </categories>",
        "    <symbols>", *symbols, "    </symbols>",
        "  </renderer-v2>",
        "</qgis>", ""])


def sld_style(styles: Sequence[LabelStyle], attribute: str, layer: str) -> str:
    """The same style as an OGC Styled Layer Descriptor 1.0 (one rule per label), for the ``styleSLD`` column.

    Parameters
    ----------
    styles : sequence of LabelStyle
    attribute : str
        The field holding each feature's label value.
    layer : str
        The layer's name.

    Returns
    -------
    str
        XML text.
    """
    rules = []
    for style in styles:
        rules.append(
            "        <Rule>\n"
            f"          <Name>{escape(style.name)}</Name>\n"
            "          <ogc:Filter><ogc:PropertyIsEqualTo>"
            f"<ogc:PropertyName>{escape(attribute)}</ogc:PropertyName>"
            f"<ogc:Literal>{style.value}</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>\n"
            "          <PolygonSymbolizer>\n"
            f'            <Fill><CssParameter name="fill">{style.colour}</CssParameter>'
            f'<CssParameter name="fill-opacity">{FILL_OPACITY}</CssParameter></Fill>\n'
            f'            <Stroke><CssParameter name="stroke">{style.colour}</CssParameter></Stroke>\n'
            "          </PolygonSymbolizer>\n"
            "        </Rule>")
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" '
        'xmlns:ogc="http://www.opengis.net/ogc">',
        f"  <NamedLayer><Name>{escape(layer)}</Name>",
        "    <UserStyle>",
        "      <FeatureTypeStyle>", *rules, "      </FeatureTypeStyle>",
        "    </UserStyle>",
        "  </NamedLayer>",
        "</StyledLayerDescriptor>", ""])


def simplestyle(colour: str) -> dict[str, str | float]:
    """A GeoJSON feature's *simplestyle* properties for a label's colour (geojson.io, GitHub, Mapbox).

    Parameters
    ----------
    colour : str
        ``"#rrggbb"``.

    Returns
    -------
    dict
        ``fill``, ``fill-opacity``, ``stroke``, ``stroke-width``.
    """
    to_rgb(colour)
    return {"fill": colour, "fill-opacity": FILL_OPACITY, "stroke": colour, "stroke-width": 1}
