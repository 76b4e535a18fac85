"""The cluster explorer in a real JupyterLab (headless chromium) on a real Sentinel-2 crop: the map and the
label overlay render, a click on the map shows the right segment and label in the Inspect tab, merging two
labels through the panel recolours the overlay and shrinks the legend, Undo brings it back. Also writes the
README's screenshot, ``docs/images/explorer.png``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests._jupyter import (
    click_at,
    open_notebook,
    run_all_cells,
    steady_box,
    tag_label_overlay,
    wait_for,
    wait_for_text,
    write_notebook,
)

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "explorer.png"
EXPLORER = ".jp-OutputArea-output .s2label-explorer"
MAP = f"{EXPLORER} .leaflet-container"
LABEL_IMG = f"{MAP} img.leaflet-image-layer[data-s2l='labels']"
LEGEND_ENTRIES = f"{MAP} .s2label-legend-entry"
ROWS = f"{EXPLORER} .s2label-label-row"
STATUS = f"{EXPLORER} .s2label-status"

CELLS = [
    """\
import tempfile

import ipywidgets
import numpy as np
from scipy import ndimage

import s2label

scene = s2label.sample_scene(window=((600, 856), (600, 856)))
explorer = s2label.explore(scene, out=tempfile.mkdtemp(), encoder="spectral", reduce="pca", progress=False)
explorer""",
    # where to click: the pixel farthest from any segment edge among labelled segments, as a fraction of the
    # label overlay's bounds; and, on every click, what the kernel itself finds there (independently of the
    # explorer's SegmentLocator: rasterio's warp and the segmentation's transform)
    """\
from rasterio.warp import transform as warp

seg, session = explorer.session.segmentation, explorer.session
inner = ndimage.distance_transform_edt(ndimage.morphological_gradient(seg.ids, size=3) == 0)
inner[(seg.ids == 0) | (session.label_of_segment()[seg.ids - 1] < 0)] = 0
h, w = inner.shape
inner[: h // 5], inner[-h // 5 :], inner[:, : w // 5], inner[:, -w // 5 :] = 0, 0, 0, 0  # well inside the map
row, col = np.unravel_index(inner.argmax(), inner.shape)
lat, lon = explorer.locator.latlon(row, col)
(south, west), (north, east) = explorer.label_layer.bounds
target = ipywidgets.Label(f"target {(lon - west) / (east - west):.5f} {(north - lat) / (north - south):.5f}")
check = ipywidgets.Label("no click yet")


def on_click(**event):
    if event.get("type") == "click":
        (x,), (y,) = warp("EPSG:4326", seg.crs, [event["coordinates"][1]], [event["coordinates"][0]])
        c, r = ~seg.transform * (x, y)
        info = session.segment_info(int(seg.ids[int(r), int(c)]))
        check.value = f"kernel segment {info['segment']} label {info['name']} ({info['label']})"


explorer.map.on_interaction(on_click)
target.add_class("s2l-target")
check.add_class("s2l-check")
ipywidgets.VBox([target, check])""",
]


def _count(page, selector: str) -> int:
    return page.locator(selector).count()


def _wait_count(page, selector: str, n: int, timeout: float = 20.0) -> None:
    try:
        page.wait_for_function("([s, n]) => document.querySelectorAll(s).length === n", arg=[selector, n],
                               timeout=timeout * 1000, polling=50)
    except Exception as exc:  # playwright's TimeoutError
        pytest.fail(f"{selector!r}: {_count(page, selector)} matches, not {n}, after {timeout:.0f} s ({exc!r})")


def _label_src(page) -> str:
    return page.locator(LABEL_IMG).get_attribute("src") or ""


def _wait_src_change(page, old: str, timeout: float = 20.0) -> str:
    page.wait_for_function("([s, old]) => { const e = document.querySelector(s); "
                           "return e && e.src.startsWith('data:image/png') && e.src !== old; }",
                           arg=[LABEL_IMG, old], timeout=timeout * 1000, polling=50)
    return _label_src(page)


def _tab(page, title: str) -> None:
    tab = page.locator(f"{EXPLORER} .s2label-panel .lm-TabBar-tab", has_text=title).first
    tab.click()
    page.wait_for_function("(t) => t.classList.contains('lm-mod-current')", arg=tab.element_handle(), timeout=10000)


def _button(page, text: str):
    return page.locator(f"{EXPLORER} button.widget-button", has_text=text).first


@pytest.mark.browser
def test_explorer_inspects_merges_and_undoes_in_the_browser(jupyter_server, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1600, "height": 1100})
    write_notebook(jupyter_server, "explorer.ipynb", CELLS)
    open_notebook(page, jupyter_server, "explorer.ipynb")
    # more room for the explorer (and the screenshot): no file browser on the left
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    run_all_cells(page, timeout=120)

    # the map and the label overlay are really drawn (not "Loading widget...")
    wait_for(page, MAP, timeout=60)
    tag_label_overlay(page, MAP)
    wait_for(page, f"{MAP} img.leaflet-image-layer[src^='data:image/webp']", timeout=30)  # true colour
    wait_for(page, f"{MAP} .s2label-legend", timeout=30)
    n_labels = _count(page, ROWS)
    assert n_labels >= 3, n_labels
    unlabelled = int(page.locator(LEGEND_ENTRIES, has_text="unlabelled").count())  # HDBSCAN's noise, if any
    _wait_count(page, LEGEND_ENTRIES, n_labels + unlabelled)
    legend = [t for t in page.locator(LEGEND_ENTRIES).all_inner_texts() if t.strip() != "unlabelled"]
    names = [t.strip() for t in page.locator(f"{ROWS} .s2label-label-name input").evaluate_all(
        "es => es.map(e => e.value)")]
    assert [t.strip() for t in legend] == names, (legend, names)

    # 1. inspect: click a point well inside a labelled segment
    fx, fy = map(float, wait_for_text(page, ".s2l-target", r"^target ").split()[1:])
    _tab(page, "Inspect")
    map_box = steady_box(page, MAP)
    img_box = page.locator(LABEL_IMG).bounding_box()
    assert img_box["width"] > 100 and img_box["height"] > 100, img_box
    px, py = img_box["x"] + fx * img_box["width"], img_box["y"] + fy * img_box["height"]
    assert map_box["x"] < px < map_box["x"] + map_box["width"], (px, map_box, img_box)
    assert map_box["y"] < py < map_box["y"] + map_box["height"], (py, map_box, img_box)
    click_at(page, MAP, (px - map_box["x"]) / map_box["width"], (py - map_box["y"]) / map_box["height"])
    info = wait_for_text(page, f"{EXPLORER} .s2label-info", r"segment\s+\d+[\s\S]*label\s+\S", timeout=20)
    segment = int(re.search(r"segment\s+(\d+)", info).group(1))
    label = re.search(r"label\s+(.+?) \((-?\d+)\)", info).groups()
    kernel = wait_for_text(page, ".s2l-check", r"^kernel segment ", timeout=20)
    assert kernel.strip() == f"kernel segment {segment} label {label[0]} ({label[1]})", (kernel, info)
    assert label[0] in names and int(label[1]) >= 0, (label, names)  # the target is a labelled segment
    summary = wait_for_text(page, f"{EXPLORER} .s2label-summary", rf"segment {segment} · ", timeout=20)
    assert label[0] in summary and "NDVI" in summary and "° N" in summary, summary  # always visible

    # 2. merge the first two labels through the panel
    _tab(page, "Labels")
    before = _label_src(page)
    boxes = page.locator(f"{ROWS} input[type='checkbox']")
    for i in (0, 1):
        boxes.nth(i).check()
    _button(page, "Merge").click()
    wait_for_text(page, STATUS, r"^merge '.+', '.+' into '.+'$", timeout=20)
    _wait_count(page, ROWS, n_labels - 1)
    _wait_count(page, LEGEND_ENTRIES, n_labels - 1 + unlabelled)
    merged = _wait_src_change(page, before)
    assert not any(b.is_checked() for b in page.locator(f"{ROWS} input[type='checkbox']").all())

    # 3. the README's screenshot: the whole explorer after the merge
    steady_box(page, EXPLORER)
    page.mouse.move(0, 0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.locator(EXPLORER).screenshot(path=str(SCREENSHOT))

    # 4. undo brings the two labels back
    _button(page, "Undo").click()
    wait_for_text(page, STATUS, r"^undone: merge ", timeout=20)
    _wait_count(page, ROWS, n_labels)
    _wait_count(page, LEGEND_ENTRIES, n_labels + unlabelled)
    assert _wait_src_change(page, merged) == before
