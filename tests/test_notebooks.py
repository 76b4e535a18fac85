"""The notebooks in notebooks/ run headless, end to end, on real Sentinel-2 data (a part of each scene).

Each notebook runs in a fresh kernel (nbclient) with its ``parameters`` cell overridden to a 384 x 384 px part
of the scene and a short U-Net training; any cell that raises fails the test, and every cell has a time
limit. The assertions check what each notebook promises to produce, from the files it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio

from tests.conftest import NOTEBOOK_WINDOW, NOTEBOOKS, stored_log

pytestmark = pytest.mark.notebook  # each runs a kernel; the suite's own time-out (setup.cfg) applies

NAMES = ["01-quickstart", "02-label-a-scene", "03-how-good-are-the-clusters", "04-your-own-data"]
FAST = {"CNN_STEPS": 20}


def _read(name: str) -> dict:
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())


def _geojson(path: Path) -> list[dict]:
    data = json.loads(path.read_text())
    assert data["type"] == "FeatureCollection"
    return [f["properties"] for f in data["features"]]


@pytest.mark.parametrize("name", NAMES)
def test_committed_clean_and_short(name):
    nb = _read(name)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"  # opens without a "select kernel" dialog
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code), "commit notebooks without outputs"
    assert [c for c in code if "parameters" in c["metadata"].get("tags", [])], "one cell tagged 'parameters'"
    assert sum("parameters" in c["metadata"].get("tags", []) for c in code) == 1
    longest = max(len("".join(c["source"]).splitlines()) for c in code)
    assert longest <= 14, f"a code cell of {longest} lines: logic belongs in the package"
    assert nb["cells"][0]["cell_type"] == "markdown" and "".join(nb["cells"][0]["source"]).startswith("# ")


def test_quickstart(run_notebook, tmp_path):
    out = tmp_path / "quickstart"
    _, text = run_notebook("01-quickstart", WINDOW=NOTEBOOK_WINDOW, OUT=str(out), **FAST)
    assert "Scene(384x384 px" in text and "'clusters':" in text
    labels = _geojson(out / "labels.geojson")
    assert len(labels) >= 2 and all(p["provenance"] == "automatic" and p["area_m2"] > 0 for p in labels)
    assert f"{out / 'labels.geojson'}: {len(labels)} labels" in text
    assert (out / "session.sqlite").is_file()  # the explorer's session store, from the start


def test_label_a_scene(run_notebook, tmp_path):
    out = tmp_path / "labelling"
    _, text = run_notebook("02-label-a-scene", WINDOW=NOTEBOOK_WINDOW, OUT=str(out), **FAST)
    log = stored_log(out / "session.sqlite")
    ops = [e["op"] for e in log.edits]
    assert ops[0] == "merge" and "assign" in ops and ops[-4:] == ["create", "propagate", "assign", "colour"], ops
    assert log.records[-1]["annotator"] == "colleague" and log.records[0]["annotator"] != "colleague"
    assert f"both views agree: {len(ops)} edits," in text and "water is #08519c in both" in text
    labels = {p["name"]: p for p in _geojson(out / "labels.geojson")}
    assert labels["water"]["n_manual"] > 0 and labels["water"]["n_predicted"] > 0
    assert labels["water"]["provenance"] in ("automatic+predicted+manual", "predicted+manual")
    assert labels["like my examples"]["n_manual"] > 0 and 0 < labels["water"]["probability"] <= 1
    assert "segments by provenance: {" in text and "'predicted':" in text and "review next: [" in text
    assert f"resumed from {out / 'session.sqlite'}: {len(ops) - 1} edits" in text
    with rasterio.open(out / "labels.tif") as ds:
        assert ds.shape == (384, 384) and ds.crs.to_epsg() == 32618
    assert (out / "labels.gpkg").is_file()


def _tables(nb) -> list[str]:
    return [o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
            if "text/markdown" in o.get("data", {})]


def test_evaluation_on_the_reference_scene(run_notebook, aberystwyth_dir):
    nb, text = run_notebook("03-how-good-are-the-clusters", REFERENCE_DIR=str(aberystwyth_dir),
                           WINDOW=[[300, 556], [300, 556]], **FAST)
    assert "not found" not in text and "crs=EPSG:27700" in text
    assert "Figure size" in text  # the score bars and the maps were drawn
    (table,) = _tables(nb)
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    assert list(rows) == ["pixel-kmeans", "mean-spectra-kmeans", "spectral", "cnn", "cnn-gnn"]
    assert "acc. strict" in table and "– |" not in rows["cnn-gnn"]  # every measure has a value


def test_evaluation_without_the_reference_scene(run_notebook, tmp_path):
    nb, text = run_notebook("03-how-good-are-the-clusters", REFERENCE_DIR=str(tmp_path / "absent"),
                            WINDOW=[[600, 856], [600, 856]], CNN_STEPS=10)
    assert f"{tmp_path / 'absent'} not found: measuring the default scene" in text
    tables = _tables(nb)
    assert len(tables) == 1 and "| cnn-gnn |" in tables[0] and "acc. strict" not in tables[0]
    header = tables[0].splitlines()[0]
    assert "SSIM" in header and "fragmentation" in header and "ARI |" not in header


def test_your_own_data_geotiff(run_notebook, tmp_path):
    out = tmp_path / "own"
    _, text = run_notebook("04-your-own-data", WINDOW=[[0, 256], [0, 256]], OUT=str(out), CNN_STEPS=10)
    assert "['B8A', 'B08', 'B08', 'B02']" in text
    assert "bands=['B02', 'B03', 'B04', 'B08']" in text
    report = json.loads((out / "part-b" / "report.json").read_text())
    assert report["params"]["model"] and (out / "part-b" / "clusters.geojson").is_file()
    assert "labelled part B with that model" in text


def test_your_own_data_safe_product(run_notebook, tmp_path, safe_factory):
    safe = safe_factory("L2A", baseline="05.10", offsets=True)
    _, text = run_notebook("04-your-own-data", PATH=str(safe), BANDS=["B02", "B03", "B04", "B08", "B11", "B12"],
                           WINDOW=[[0, 256], [0, 256]], OUT=str(tmp_path / "own"), CNN_STEPS=10)
    assert f"source='{safe}'" in text and "bands=['B02', 'B03', 'B04', 'B08', 'B11', 'B12']" in text
