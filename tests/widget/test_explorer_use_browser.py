"""The explorer used as a researcher uses it, in a real JupyterLab (headless chromium), on a 384 x 384 px part of
the default scene cut at its finest granularity (many labels): the layout at 1280 x 800 and 1920 x 1080 with the
file browser open (map wider than the panel, legend clear of the map's controls and scrolling, label rows that
never overlap), one zoom level per wheel notch up to the zoom limit, zoom to scene, keyboard shortcuts, a polygon
drawn with the draw tool as exactly one edit, a pixel-exact polygon, review answers with a background
propagation after each, the pixel-precise preview, a browser download of the export, two explorers on one run keeping in
step, and no error in the browser console throughout. Writes the README's screenshots
``docs/images/explorer-1280.png``, ``explorer-1920.png``, ``explorer-pixel-exact.png`` and
``explorer-pixel-preview.png``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests._jupyter import _CONSOLE, open_notebook, run_all_cells, steady_box, wait_for, wait_for_text, write_notebook

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
EXPLORER = ".jp-OutputArea-output .s2label-explorer"
MAP = f"{EXPLORER} .leaflet-container"
PROBE = ".s2l-probe"

CELLS = [
    """\
import tempfile

import ipywidgets

import s2label

OUT = tempfile.mkdtemp()
scene = s2label.sample_scene(window=((600, 984), (600, 984)))
explorer = s2label.explore(scene, out=OUT, encoder="spectral", reduce="pca", progress=False)
explorer.session.recut(len(explorer.session.granularity_levels()) - 1)  # the finest cut: many labels
explorer""",
    """\
probe = ipywidgets.Label()
probe.add_class("s2l-probe")


def show(*_):
    s = explorer.session
    probe.value = (f"zoom {explorer.map.zoom:g} max {explorer.map.max_zoom:g} home {explorer.home_zoom} "
                   f"edits {len(s.edits)} labels {len(s.labels)} mode {explorer.mode.value}")


explorer.map.observe(show, "zoom")
explorer.mode.observe(show, "value")
explorer.session.observe(lambda event: show())
show()
probe""",
]


def _probe(page, pattern: str, timeout: float = 20.0) -> re.Match:
    """The kernel's probe line once it matches ``pattern`` (its text content: the cell may be scrolled away)."""
    try:
        page.wait_for_function("([s, p]) => { const e = document.querySelector(s);"
                               " return e && new RegExp(p).test(e.textContent); }", arg=[PROBE, pattern],
                               timeout=timeout * 1000, polling=50)
    except Exception:  # playwright's TimeoutError
        pytest.fail(f"probe shows {page.locator(PROBE).first.text_content()!r}, not /{pattern}/")
    return re.search(pattern, page.locator(PROBE).first.text_content())


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector!r} has no box"
    return box


def _intersect(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def _screenshot(page, path: Path) -> None:
    """The page as the researcher sees it, the explorer's toolbar at the top of the notebook."""
    page.locator(EXPLORER).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


def _check_layout(page, name: str) -> dict:
    """The map's share of the width, the legend clear of every map control, label rows that do not overlap."""
    steady_box(page, EXPLORER)
    page.evaluate("() => new Promise(r => setTimeout(r, 300))")  # JupyterLab's own relayout after a resize
    explorer = _box(page, EXPLORER)
    map_box, side = _box(page, MAP), _box(page, f"{EXPLORER} .s2label-side")
    assert map_box["width"] >= side["width"] and map_box["width"] >= 0.55 * explorer["width"], (name, map_box, side)
    assert side["x"] >= map_box["x"] + map_box["width"] - 1, (name, map_box, side)  # side by side, no overlap
    legend = _box(page, f"{MAP} .s2label-legend")
    for control in (".s2label-layers", ".leaflet-control-zoom", ".s2label-home", ".leaflet-control-scale"):
        assert not _intersect(legend, _box(page, f"{MAP} {control}")), (name, control)
    assert map_box["y"] <= legend["y"] and legend["y"] + legend["height"] <= map_box["y"] + map_box["height"] + 1
    assert legend["height"] <= 0.45 * map_box["height"], (name, legend)
    body = page.locator(f"{MAP} .s2label-legend-body").first
    entries = page.locator(f"{MAP} .s2label-legend-entry").count()
    scroll = body.evaluate("e => [e.scrollHeight, e.clientHeight]")
    if entries > 12:
        assert scroll[0] > scroll[1], (name, entries, scroll)  # the legend scrolls instead of growing
    rows = [b for b in page.locator(f"{EXPLORER} .s2label-label-row").evaluate_all(
        "es => es.map(e => { const r = e.getBoundingClientRect(); return [r.top, r.height]; })")]
    assert len(rows) >= 10 and all(h >= 28 for _, h in rows), (name, rows[:5])
    assert all(top2 >= top1 + h1 - 1 for (top1, h1), (top2, _) in zip(rows, rows[1:], strict=False)), name
    return {"map": map_box, "side": side, "legend": legend}


@pytest.mark.browser
def test_the_explorer_as_a_researcher_uses_it(jupyter_server, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    write_notebook(jupyter_server, "use.ipynb", CELLS)
    open_notebook(page, jupyter_server, "use.ipynb")
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    run_all_cells(page, timeout=180)
    wait_for(page, f"{MAP} img.leaflet-image-layer[src^='data:image/webp']", timeout=60)
    wait_for(page, f"{MAP} .s2label-legend-entry", timeout=30)
    n_labels = int(_probe(page, r"labels (\d+)").group(1))
    assert n_labels >= 12, n_labels
    assert wait_for(page, "#filebrowser", timeout=10).bounding_box()["width"] > 150  # the file browser is open

    # 1. layout at 1280 x 800 and 1920 x 1080, file browser open; the README's screenshots
    small = _check_layout(page, "1280")
    _screenshot(page, IMAGES / "explorer-1280.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    large = _check_layout(page, "1920")
    assert large["map"]["width"] > small["map"]["width"] + 300
    _screenshot(page, IMAGES / "explorer-1920.png")
    page.set_viewport_size({"width": 1280, "height": 800})
    _check_layout(page, "1280 again")

    # 2. one zoom level per wheel notch, up to the data's resolution x 4; zoom to scene
    zoom, most, home = map(int, _probe(page, r"zoom (\d+) max (\d+) home (\d+)").groups())
    assert zoom == home < most
    box = steady_box(page, MAP)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    steps = [(100, zoom - 1), (100, zoom - 2), *((-100, z) for z in range(zoom - 1, most + 1))]
    for delta, expected in steps:  # out two notches, then in to the limit: one level a notch
        page.mouse.wheel(0, delta)
        _probe(page, rf"zoom {expected} ")
        page.wait_for_timeout(400)  # Leaflet's zoom animation
    for _ in range(3):  # past the limit: nothing
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(300)
    _probe(page, rf"zoom {most} ")
    page.locator(f"{MAP} .s2label-home").click()
    _probe(page, rf"zoom {home} ")

    # 3. keyboard: with the pointer over the map
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.press("p")
    _probe(page, r"mode polygon")

    # 4. a polygon drawn with the draw tool: one edit, its vertex clicks assign nothing
    target = page.locator(f"{EXPLORER} .s2label-toolbar select").first
    first_label = target.evaluate("e => e.options[1].text").replace("\xa0", " ")
    target.select_option(index=1)
    wait_for(page, f"{MAP} .leaflet-draw-draw-polygon", timeout=20).click()
    box = steady_box(page, MAP)
    cx, cy = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5
    ring = [(cx - 60, cy - 50), (cx + 60, cy - 50), (cx + 60, cy + 50), (cx - 60, cy + 50)]
    for x, y in ring:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
    page.mouse.click(*ring[0])  # close it on the first vertex
    status = wait_for_text(page, f"{EXPLORER} .s2label-status", r"segments? to '.+' \(polygon\)", timeout=20)
    assert first_label in status, (status, first_label)
    _probe(page, r"edits 2 ")  # the re-cut of the first cell, then the polygon
    page.wait_for_timeout(500)
    _probe(page, r"edits 2 ")  # and no more edits come in later
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.press("Control+z")  # one undo takes the whole polygon back
    _probe(page, r"edits 1 ")
    wait_for_text(page, f"{EXPLORER} .s2label-status", r"^undone: \d+ segments? to ", timeout=20)

    # 4b. a pixel-exact polygon: its pixels, drawn on the map over the segment labels
    page.locator(f"{EXPLORER} button.widget-button", has_text="Clear").first.click()  # the polygon's selection
    page.locator(f"{EXPLORER} .s2label-pixel-exact input[type=checkbox]").check()
    wait_for(page, f"{MAP} .leaflet-draw-draw-polygon", timeout=20).click()
    triangle = [(cx - 80, cy - 60), (cx + 70, cy - 20), (cx - 20, cy + 70)]
    for x, y in triangle:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
    page.mouse.click(*triangle[0])
    wait_for_text(page, f"{EXPLORER} .s2label-status", r"^pixel-exact polygon to '.+'", timeout=20)
    _probe(page, r"edits 2 ")
    wait_for(page, f"{MAP} img.leaflet-image-layer[src^='data:image/png']", timeout=20)
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)
    _screenshot(page, IMAGES / "explorer-pixel-exact.png")

    # 4c. the review queue, answered from the panel, with a propagation after each answer in the background
    page.locator(f"{EXPLORER} .s2label-side .lm-TabBar-tab", has_text="Labels").first.click()
    page.locator(f"{EXPLORER} .widget-checkbox", has_text="after each answer").locator("input").check()
    page.locator(f"{EXPLORER} button.widget-button", has_text="Next to review").first.click()
    answer = page.locator(f"{EXPLORER} select").filter(has=page.locator("option", has_text="another label"))
    answer.first.select_option(index=1)  # one hand label: nothing to tell apart yet, it says so
    wait_for_text(page, f"{EXPLORER} .s2label-status", r"at least two labels", timeout=60)
    answer.first.select_option(index=2)  # the next segment, another label: it propagates, in the background
    wait_for_text(page, f"{EXPLORER} .s2label-status", r"^labels propagated", timeout=60)
    _probe(page, r"edits 5 ")  # the re-cut, the pixel-exact polygon, two answers, the propagation
    assert "propagating" not in page.locator(f"{EXPLORER} .s2label-propagate-busy").inner_text()

    # 5. export, offered as a download in the browser; the pixel-precise preview
    page.locator(f"{EXPLORER} .s2label-side .lm-TabBar-tab", has_text="Export").first.click()
    page.locator(f"{EXPLORER} .s2label-pixel-preview").click()
    wait_for_text(page, f"{EXPLORER} .s2label-status", r"^pixel-precise preview", timeout=60)
    _screenshot(page, IMAGES / "explorer-pixel-preview.png")
    page.locator(f"{EXPLORER} .s2label-pixel-preview").click()
    page.locator(f"{EXPLORER} button.widget-button", has_text="GeoJSON").first.click()
    link = wait_for(page, f"{EXPLORER} a.s2label-download", timeout=30)
    with page.expect_download() as download:
        link.click()
    doc = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename == "labels.geojson" and doc["type"] == "FeatureCollection"
    assert len(doc["features"]) >= 2  # the propagation from two hand labels gave every segment one of the two
    page.locator(f"{EXPLORER} button.widget-button", has_text="training chips").first.click()
    info = wait_for_text(page, f"{EXPLORER} .s2label-export-info", r"wrote \d+ training chips?", timeout=180)
    assert re.search(r"\(\d+ train, \d+ val, \d+ test;", info), info
    _screenshot(page, IMAGES / "explorer-export.png")
    for width, height in ((1280, 800), (1920, 1080)):  # the Export tab's buttons stay inside the side panel
        page.set_viewport_size({"width": width, "height": height})
        steady_box(page, EXPLORER)
        side = _box(page, f"{EXPLORER} .s2label-side")
        for text in ("GeoJSON", "GeoPackage", "GeoTIFF", "training chips"):
            button = _box(page, f"{EXPLORER} button.widget-button:has-text('{text}')")
            assert side["x"] <= button["x"] and button["x"] + button["width"] <= side["x"] + side["width"] + 1, (
                width, text, button, side)
    _screenshot(page, IMAGES / "explorer-export-1920.png")
    page.set_viewport_size({"width": 1280, "height": 800})

    # 6. no error in the browser console while the explorer opened and was used
    errors = [m for m in _CONSOLE[page] if "favicon" not in m]
    assert errors == [], errors[:10]


TWO_WINDOW_CELLS = [
    """\
import tempfile

import s2label

OUT = tempfile.mkdtemp()
scene = s2label.sample_scene(window=((600, 728), (600, 728)))
first = s2label.explore(scene, out=OUT, encoder="spectral", reduce="pca", progress=False)
first""",
    """\
second = s2label.explore(scene, out=OUT, progress=False)  # a second explorer on the same run
second""",
]


@pytest.mark.browser
def test_two_explorers_on_one_run_stay_in_step_in_the_browser(jupyter_server, browser_page):
    """A name typed in the first explorer shows in the second within seconds (it polls the store), and the
    second's edit in the first: both outputs stay live, nothing is lost."""
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    write_notebook(jupyter_server, "two.ipynb", TWO_WINDOW_CELLS)
    open_notebook(page, jupyter_server, "two.ipynb")
    run_all_cells(page, timeout=120)
    wait_for(page, f"{EXPLORER} >> nth=1", timeout=60)
    explorers = page.locator(EXPLORER)
    assert explorers.count() == 2 and page.locator(MAP).count() == 2  # both live, each with its map
    names = [explorers.nth(k).locator(".s2label-label-name input") for k in (0, 1)]
    names[0].nth(0).fill("typed in the first")
    names[0].nth(0).press("Enter")
    names[1].nth(1).fill("typed in the second")
    names[1].nth(1).press("Enter")
    for k in (0, 1):  # each shows the other's edit, by polling, without a click
        page.wait_for_function("([el, want]) => el.value === want",
                               arg=[names[k].nth(1 - k).element_handle(), f"typed in the {('second', 'first')[k]}"],
                               timeout=15_000)
    # the status line is another widget, updated by the same poll: its message may reach the page a moment later
    page.wait_for_function("el => el.innerText.includes('brought in 1 edit')",
                           arg=explorers.nth(0).locator(".s2label-status").element_handle(), timeout=15_000)
    explorers.nth(0).evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.move(0, 0)
    page.screenshot(path=str(IMAGES / "explorer-two-windows.png"))
    errors = [m for m in _CONSOLE[page] if "favicon" not in m]
    assert errors == [], errors[:10]
