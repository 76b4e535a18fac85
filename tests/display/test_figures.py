"""Inline SVG figures: parsed back with xml.etree and checked against counts, positions and colours computed
by hand for known inputs; no negative sizes whatever the input."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from s2label.display.figures import BAR_GREY, HIGHLIGHT, SVG_NS, histogram_svg, spectrum_svg

NS = f"{{{SVG_NS}}}"


def parse(svg: str) -> ET.Element:
    svg.encode("ascii")                         # ASCII only
    return ET.fromstring(svg)


def rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{NS}rect")


def assert_no_negative_sizes(root: ET.Element) -> None:
    for el in root.iter():
        for attr in ("width", "height", "r"):
            if el.get(attr) is not None:
                assert float(el.get(attr)) >= 0, (el.tag, attr, el.get(attr))


def texts(root: ET.Element, css_class: str) -> list[str]:
    return [t.text for t in root.iter(f"{NS}text") if t.get("class") == css_class]


# --- histogram ---------------------------------------------------------------------------------------

def test_histogram_known_input():
    # 10 bins over [0, 1]: counts 0,1,2,...,9 (bin k holds k values at its centre), threshold 0.6
    values = np.concatenate([np.full(k, (k + 0.5) / 10) for k in range(10)])
    root = parse(histogram_svg(values, threshold=0.6, bins=10, width=204, height=70, value_range=(0, 1)))
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("204", "70", "0 0 204 70")
    bars = rects(root)
    assert len(bars) == 9                                 # bin 0 is empty: no rect
    # plot: x from 2 to 202 (20 px per bin), y from 2 to 56 (54 px): the tallest bar (9) fills it
    xs = [float(b.get("x")) for b in bars]
    assert xs == pytest.approx([2 + 20 * k for k in range(1, 10)])
    heights = [float(b.get("height")) for b in bars]
    assert heights == pytest.approx([54 * k / 9 for k in range(1, 10)], abs=0.01)
    assert all(float(b.get("y")) + float(b.get("height")) == pytest.approx(56) for b in bars)
    assert all(float(b.get("width")) == 19 for b in bars)
    # bins 6..9 (lower edge >= 0.6) highlighted, the others grey
    fills = [b.get("fill") for b in bars]
    assert fills == [BAR_GREY] * 5 + [HIGHLIGHT] * 4
    assert [("highlight" in b.get("class").split()) for b in bars] == [False] * 5 + [True] * 4
    assert all("bar" in b.get("class").split() for b in bars)
    line = root.find(f"{NS}line[@class='threshold']")
    assert float(line.get("x1")) == pytest.approx(2 + 200 * 0.6, abs=0.5)
    assert line.get("x1") == line.get("x2") and line.get("data-clipped") == "false"
    assert texts(root, "range-min") == ["0"] and texts(root, "range-max") == ["1"]
    assert_no_negative_sizes(root)


def test_histogram_range_labels_three_significant_digits():
    root = parse(histogram_svg([0.123456, 0.98765, 12.3456], bins=5))
    assert texts(root, "range-min") == ["0.123"] and texts(root, "range-max") == ["12.3"]
    assert root.find(f"{NS}line[@class='threshold']") is None
    assert sum(int(b.find(f"{NS}title").text.rsplit(": ", 1)[1]) for b in rects(root)) == 3


def test_histogram_threshold_outside_range_is_clipped():
    for threshold, x, hot in ((5.0, 278.0, 0), (-5.0, 2.0, 3)):
        root = parse(histogram_svg([0.1, 0.5, 0.9], threshold=threshold, bins=3, value_range=(0, 1)))
        line = root.find(f"{NS}line[@class='threshold']")
        assert float(line.get("x1")) == pytest.approx(x) and line.get("data-clipped") == "true"
        assert sum(b.get("fill") == HIGHLIGHT for b in rects(root)) == hot


def test_histogram_nan_dropped_and_empty():
    with_nan = parse(histogram_svg([0.2, np.nan, 0.8, np.inf], bins=2, value_range=(0, 1)))
    assert [float(b.get("height")) for b in rects(with_nan)] == [54, 54]
    for empty in ([], [np.nan, np.nan], np.zeros((0, 3))):
        root = parse(histogram_svg(empty, threshold=0.5))
        assert rects(root) == [] and "no scores" in "".join(root.itertext())
        assert root.get("width") == "280" and root.get("viewBox") == "0 0 280 70"


def test_histogram_constant_values():
    root = parse(histogram_svg(np.full(7, 0.4), threshold=0.4, bins=5))
    bars = rects(root)
    assert len(bars) == 1 and float(bars[0].get("height")) == 54    # one full bar, no division by zero
    assert float(bars[0].get("x")) == pytest.approx(2 + 2 * 276 / 5)  # the middle bin, [0.3, 0.5)
    assert texts(root, "range-min") == ["-0.1"] and texts(root, "range-max") == ["0.9"]   # 0.4 -/+ 0.5
    assert float(root.find(f"{NS}line[@class='threshold']").get("x1")) == pytest.approx(140, abs=0.5)
    assert bars[0].get("fill") == HIGHLIGHT                        # its centre is the threshold


@pytest.mark.parametrize("width,height,bins", [(1, 1, 40), (5, 3, 200), (280, 70, 1), (1000, 8, 7)])
def test_histogram_tiny_or_odd_sizes_never_negative(width, height, bins):
    rng = np.random.default_rng(0)
    root = parse(histogram_svg(rng.normal(size=500), threshold=0.3, bins=bins, width=width, height=height))
    assert_no_negative_sizes(root)
    for el in root.iter():
        for attr in ("x", "y", "x1", "x2", "y1", "y2"):
            if el.get(attr) is not None:
                assert 0 <= float(el.get(attr)) <= max(width, height)
    assert 1 <= len(rects(root)) <= bins


@pytest.mark.parametrize("kwargs", [dict(bins=0), dict(bins=2.5), dict(bins=True), dict(width=0), dict(height=-1),
                                    dict(width=float("nan")), dict(threshold=float("nan")),
                                    dict(value_range=(1, 0)), dict(value_range=(0, float("inf")))])
def test_histogram_validates(kwargs):
    with pytest.raises(ValueError):
        histogram_svg([0.1, 0.2], **kwargs)


# --- spectrum ----------------------------------------------------------------------------------------

def test_spectrum_known_input():
    spectrum = {"B02": 0.05, "B03": 0.1, "B04": 0.2}
    root = parse(spectrum_svg(spectrum, width=280, height=120))
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("280", "120", "0 0 280 120")
    assert texts(root, "band") == ["B02", "B03", "B04"]
    assert texts(root, "ytick") == ["0", "0.1", "0.2"]
    markers = root.findall(f"{NS}circle")
    assert len(markers) == 3
    points = [tuple(map(float, p.split(","))) for p in root.find(f"{NS}polyline").get("points").split()]
    assert points == [(float(m.get("cx")), float(m.get("cy"))) for m in markers]
    # plot x from 30 to 272 (3 bands, 80.67 px each, markers at the centres); y from 6 (0.2) down to base (0)
    assert [x for x, _ in points] == pytest.approx([30 + 242 / 6 * (2 * k + 1) for k in range(3)], abs=0.01)
    base, top = points[2][1] + (points[0][1] - points[2][1]) / 0.75, points[2][1]
    assert top == pytest.approx(6)
    assert points[1][1] == pytest.approx((base + top) / 2, abs=0.01)    # 0.1 is half of 0.2
    assert not any(t.get("transform") for t in root.iter(f"{NS}text"))  # 3 labels fit side by side
    assert_no_negative_sizes(root)


def test_spectrum_many_bands_rotated_and_y_max():
    bands = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12"]
    root = parse(spectrum_svg({b: 0.01 * i for i, b in enumerate(bands)}, y_max=0.5))
    assert texts(root, "band") == bands
    labels = [t for t in root.iter(f"{NS}text") if t.get("class") == "band"]
    assert all(t.get("transform", "").startswith("rotate(-45") for t in labels)
    assert texts(root, "ytick") == ["0", "0.25", "0.5"]
    assert len(root.findall(f"{NS}circle")) == 12


def test_spectrum_escapes_and_edge_cases():
    root = parse(spectrum_svg({'<b>&"x"': 0.1, "\u00b5m": float("nan"), "neg": -0.2}))
    assert texts(root, "band") == ['<b>&"x"', "\u00b5m", "neg"]        # escaped, then decoded by the parser
    assert "<b>" not in spectrum_svg({"<b>": 0.1}) and "&#181;" in spectrum_svg({"\u00b5": 0.1})
    assert len(root.findall(f"{NS}circle")) == 2                         # the NaN band has no marker
    zeros = parse(spectrum_svg({"B02": 0.0, "B03": 0.0}))
    assert texts(zeros, "ytick") == ["0", "5e-07", "1e-06"]             # axis top max(data max, 1e-6)
    for size in ((1, 1), (20, 10)):
        assert_no_negative_sizes(parse(spectrum_svg({"B02": 0.1, "B03": 0.3}, width=size[0], height=size[1])))
    empty = parse(spectrum_svg({}))
    assert "no spectrum" in "".join(empty.itertext()) and empty.get("height") == "120"
    for kwargs in (dict(width=0), dict(height=-3), dict(y_max=-1), dict(y_max=float("nan"))):
        with pytest.raises(ValueError):
            spectrum_svg({"B02": 0.1}, **kwargs)
