"""Smoke test of the browser harness: an ipyleaflet map really renders in JupyterLab and a click on it
reaches the kernel through ``Map.on_interaction``."""

from __future__ import annotations

import re

import pytest

from tests._jupyter import click_at, open_notebook, run_all_cells, screenshot, wait_for, wait_for_text, write_notebook

SOUTH, WEST, NORTH, EAST = 52.0, -4.2, 52.6, -3.4

CELLS = [
    """\
import base64
import io

import ipyleaflet
import ipywidgets
from PIL import Image

buf = io.BytesIO()
Image.new("RGBA", (64, 64), (230, 80, 20, 200)).save(buf, format="PNG")
png_url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
""",
    f"""\
BOUNDS = (({SOUTH}, {WEST}), ({NORTH}, {EAST}))
m = ipyleaflet.Map(center=({(SOUTH + NORTH) / 2}, {(WEST + EAST) / 2}), zoom=9,
                   layout=ipywidgets.Layout(width="800px", height="500px"))
m.clear_layers()  # no basemap: nothing to fetch from the network
m.add(ipyleaflet.ImageOverlay(url=png_url, bounds=BOUNDS))
label = ipywidgets.Label("no click yet")
label.add_class("harness-label")


def on_map(**event):
    if event.get("type") == "click":
        lat, lon = event["coordinates"]
        label.value = f"clicked {{lat:.4f}} {{lon:.4f}}"


m.on_interaction(on_map)
ipywidgets.VBox([m, label])
""",
]


@pytest.mark.browser
def test_leaflet_map_renders_and_clicks_reach_the_kernel(jupyter_server, browser_page, tmp_path):
    page = browser_page
    write_notebook(jupyter_server, "harness.ipynb", CELLS)
    open_notebook(page, jupyter_server, "harness.ipynb")
    run_all_cells(page)

    wait_for(page, ".jp-OutputArea-output .leaflet-container", timeout=30)
    overlay = wait_for(page, ".leaflet-container img.leaflet-image-layer", timeout=30)
    label = wait_for(page, ".harness-label")
    assert "no click yet" in label.inner_text()

    box = overlay.bounding_box()
    assert box is not None and box["width"] > 50 and box["height"] > 50, box
    # the middle of the overlay (click_at scrolls the map into view and focuses it first)
    click_at(page, ".leaflet-container img.leaflet-image-layer", 0.5, 0.5)

    text = wait_for_text(page, ".harness-label", r"^clicked ", timeout=20)
    lat, lon = map(float, re.fullmatch(r"clicked (-?\d+\.\d+) (-?\d+\.\d+)", text.strip()).groups())
    assert SOUTH < lat < NORTH and WEST < lon < EAST, (lat, lon)
    # the middle of the overlay on screen is the middle of its bounds (in Web Mercator)
    assert abs(lon - (WEST + EAST) / 2) < 0.05 and abs(lat - (SOUTH + NORTH) / 2) < 0.05, (lat, lon)
    screenshot(page, tmp_path / "harness.png")
