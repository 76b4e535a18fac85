"""The first look in a real JupyterLab: the banner shows the training's progress, the switch button appears when
the learned clusters are ready (the researcher has edited), a click on it swaps them in. Writes the README's
screenshots of the banner, ``docs/images/first-look-1280.png`` and ``-1920.png``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._jupyter import assert_no_errors, open_notebook, run_all_cells, wait_for, wait_for_text, write_notebook

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
EXPLORER = ".jp-OutputArea-output .s2label-explorer"
BANNER = f"{EXPLORER} .s2label-learned"
STATUS = f"{EXPLORER} .s2label-status"

CELLS = [
    """\
import tempfile

import s2label

scene = s2label.sample_scene(window=((600, 856), (600, 856)))
cnn = s2label.CNNConfig(steps=150, tile=32, features=8, width=8, batch_size=4, inference_tile=64, margin=32)
explorer = s2label.explore(scene, out=tempfile.mkdtemp(), cnn=cnn, gnn=s2label.GNNConfig(epochs=20),
                           progress=False)
explorer.session.rename(explorer.session.labels[0].id, "water")  # an edit: the switch will ask first
explorer""",
]


def _shot(page, path: Path) -> None:
    page.locator(EXPLORER).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))


@pytest.mark.browser
def test_the_first_look_banner_and_the_switch_in_the_browser(jupyter_server, browser_page, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    write_notebook(jupyter_server, "first-look.ipynb", CELLS)
    open_notebook(page, jupyter_server, "first-look.ipynb")
    page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
    run_all_cells(page, timeout=120)
    wait_for_text(page, BANNER, r"Training the learned encoder: .*(stage \d of \d)", timeout=60)
    bar = wait_for(page, f"{BANNER} .widget-hprogress", timeout=10).bounding_box()
    banner = page.locator(BANNER).first.bounding_box()
    assert bar["width"] > 100 and banner["height"] < 60, (bar, banner)  # one row, under the toolbar
    _shot(page, IMAGES / "first-look-1280.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    wait_for_text(page, BANNER, r"Training the learned encoder", timeout=10)
    _shot(page, IMAGES / "first-look-1920.png")
    page.set_viewport_size({"width": 1280, "height": 800})
    # ready: the researcher has edited, so the explorer asks first
    wait_for_text(page, BANNER, r"learned clusters are ready", timeout=180)
    button = wait_for(page, f"{BANNER} button:has-text('Switch to the learned clusters')", timeout=10)
    _shot(page, tmp_path / "ready-1280.png")
    button.click()
    wait_for_text(page, STATUS, r"learned clusters shown: carried over 1 label", timeout=60)
    wait_for(page, BANNER, state="hidden", timeout=10)
    names = page.locator(f"{EXPLORER} .s2label-label-row input[type='text']").evaluate_all(
        "es => es.map(e => e.value)")
    assert "water" in names, names  # the named label, carried over to the learned clusters
    _shot(page, tmp_path / "switched-1280.png")


@pytest.mark.browser
def test_without_edits_the_explorer_switches_by_itself_in_the_browser(jupyter_server, browser_page):
    """The switch made from the watching thread (no click): the new labels and embedding view reach the page."""
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    cells = [CELLS[0].replace('explorer.session.rename(explorer.session.labels[0].id, "water")  # an edit: the '
                              'switch will ask first\n', ""),
             "explorer.session.embeddings.encoder"]
    assert "rename" not in cells[0]
    write_notebook(jupyter_server, "auto.ipynb", cells)
    open_notebook(page, jupyter_server, "auto.ipynb")
    run_all_cells(page, timeout=120)
    wait_for_text(page, STATUS, r"^learned clusters shown$", timeout=180)
    wait_for(page, BANNER, state="hidden", timeout=10)
    page.locator(f"{EXPLORER} .p-TabBar-tab, {EXPLORER} .lm-TabBar-tab").filter(has_text="Embedding").first.click()
    wait_for(page, f"{EXPLORER} .bqplot", timeout=30)  # the new session's embedding view draws
    assert_no_errors(page)
