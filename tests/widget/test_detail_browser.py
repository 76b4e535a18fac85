"""The zoomed-in detail overlay in a real JupyterLab (headless chromium): the bounds and zoom the front end
reports reach the kernel, the debounced detail is computed there and drawn above the overview; zooming out
with Leaflet's control hides it, zooming in brings it back."""

from __future__ import annotations

import re

import pytest

from tests._jupyter import open_notebook, run_all_cells, wait_for, wait_for_text, write_notebook

EXPLORER = ".jp-OutputArea-output .s2label-explorer"
MAP = f"{EXPLORER} .leaflet-container"
INFO = ".s2l-detail"

CELLS = [
    """\
import ipywidgets

import s2label
from s2label.session.label_session import LabelSession
from s2label.widget import ClusterExplorer

scene = s2label.sample_scene(window=((600, 856), (600, 856)))
result = s2label.run(scene, encoder="spectral", reduce="pca", progress=False, segment_size=150)
# 64 px overviews of the 256 px crop: about 4 data pixels per overview pixel
explorer = ClusterExplorer(LabelSession.from_result(result), scene, max_size=64, photo_max_size=64)
info = ipywidgets.Label("waiting")
info.add_class("s2l-detail")


def report(_=None):
    grid, m = explorer.detail_grid, explorer.map
    info.value = ("no detail" if grid is None else
                  f"detail {grid.shape[0]} {grid.shape[1]} px {grid.pixel_size:.2f} m") + f" at zoom {m.zoom:g}"


explorer.details["labels"].layer.observe(report, "url")
explorer.map.observe(report, "zoom")
frame = explorer.detail.frame
print(f"overview {explorer.grid.shape} frame {frame.shape} {frame.pixel_size:.2f}")
ipywidgets.VBox([explorer, info])""",
]


def _png_widths(page) -> list[int]:
    """naturalWidth of the map's PNG overlays that are shown (the label overview, its detail...)."""
    return page.locator(f"{MAP} img.leaflet-image-layer[src^='data:image/png']").evaluate_all(
        "es => es.filter(e => getComputedStyle(e).opacity !== '0').map(e => e.naturalWidth)")


@pytest.mark.browser
def test_detail_follows_the_zoom_in_the_browser(jupyter_server, browser_page):
    page = browser_page
    write_notebook(jupyter_server, "detail.ipynb", CELLS)
    open_notebook(page, jupyter_server, "detail.ipynb")
    run_all_cells(page, timeout=120)
    wait_for(page, MAP, timeout=60)
    out = wait_for_text(page, ".jp-OutputArea-output", r"overview \(\d+, \d+\) frame", timeout=30)
    frame_w = int(re.search(r"frame \((\d+), (\d+)\)", out).group(2))
    native = re.search(r"frame \(\d+, \d+\) ([\d.]+)", out).group(1)

    # the first view (the whole crop, zoom 14: 9.6 m per screen pixel) needs the data's 12.65 m pixels
    text = wait_for_text(page, INFO, rf"^detail \d+ \d+ px {native} m at zoom 1[45]$", timeout=30)
    h, w = map(int, re.search(r"detail (\d+) (\d+)", text).groups())
    zoom = int(text.rsplit(" ", 1)[1])
    assert abs(w - frame_w) <= 2, (text, frame_w)                  # the whole (small) scene, clipped to it
    page.wait_for_function(f"() => [...document.querySelectorAll(\"{MAP} img.leaflet-image-layer\")]"
                           f".some(e => e.src.startsWith('data:image/png') && e.naturalWidth === {w})",
                           timeout=20000)
    widths = _png_widths(page)
    assert w in widths and any(x <= 64 for x in widths), widths   # the detail above the 64 px overview
    # both cover the whole crop from the same top-left corner (the frame's); the overview's coarse pixels
    # (about 50 m: 5 screen pixels at zoom 14) may reach a little further right and down
    boxes = page.locator(f"{MAP} img.leaflet-image-layer[src^='data:image/png']").evaluate_all(
        "es => es.map(e => { const b = e.getBoundingClientRect(); "
        "return [e.naturalWidth, b.left, b.top, b.right, b.bottom]; })")
    left, top, right, bottom = next(b for b in boxes if b[0] == w)[1:]
    o_left, o_top, o_right, o_bottom = next(b for b in boxes if b[0] <= 64)[1:]
    assert abs(left - o_left) <= 1.5 and abs(top - o_top) <= 1.5, (boxes, w)
    assert 0 <= o_right - right <= 12 and 0 <= o_bottom - bottom <= 12, (boxes, w)
    assert right - left > 200, boxes                                   # the map really shows it, zoomed in

    # Leaflet's zoom control: out to zoom 11 (76 m per screen pixel, coarser than the overview): no detail
    zoom_out = page.locator(f"{MAP} a.leaflet-control-zoom-out")
    for expected in range(zoom - 1, 10, -1):
        zoom_out.click()
        wait_for_text(page, INFO, rf"at zoom {expected}$", timeout=20)
    wait_for_text(page, INFO, r"^no detail at zoom 11$", timeout=20)
    page.wait_for_function(f"() => ![...document.querySelectorAll(\"{MAP} img.leaflet-image-layer\")]"
                           ".some(e => e.src.startsWith('data:image/png') && e.naturalWidth > 64 "
                           "&& getComputedStyle(e).opacity !== '0')", timeout=20000)
    # and in again: zoom 12 (38 m per screen pixel) has a detail at that resolution
    page.locator(f"{MAP} a.leaflet-control-zoom-in").click()
    wait_for_text(page, INFO, r"^detail \d+ \d+ px 38\.22 m at zoom 12$", timeout=20)
