"""The README's promises: its API example runs as written, and the files it points to exist."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import s2label
from tests.conftest import stored_log

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_api_example_reaches_a_labelled_geojson(monkeypatch, tmp_path, real_crop):
    example = _python_blocks()[0]
    assert len(example.strip().splitlines()) == 7
    # as written, on a 256 x 256 px part of the default scene instead of the whole (2 minutes), with a short
    # U-Net training and small clusters so that the part has the labels 1 and 2 the example merges
    monkeypatch.setattr(s2label, "sample_scene", lambda: real_crop)
    monkeypatch.setattr(s2label, "run", functools.partial(s2label.run, cnn=s2label.CNNConfig(steps=20),
                                                          min_cluster_size=5, progress=False))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    features = json.loads((tmp_path / "runs/sample/labels.geojson").read_text())["features"]
    water = [f["properties"] for f in features if f["properties"]["name"] == "water"]
    assert len(water) == 1 and water[0]["clusters"] == "1,2"
    edits = stored_log(tmp_path / "runs/sample/session.sqlite").edits
    assert [e["op"] for e in edits] == ["merge", "rename", "propagate"]
    assert any("predicted" in f["properties"]["provenance"] for f in features)
    assert (tmp_path / "runs/sample/session.sqlite").is_file() and (tmp_path / "runs/sample/clusters.geojson").is_file()


def test_linked_files_exist():
    root = README.parent
    links = re.findall(r"\]\(((?!https?://)[^)#\s]+)\)", README.read_text())
    assert "docs/images/explorer.png" in links and "notebooks/01-quickstart.ipynb" in links
    missing = [link for link in links if not (root / link).exists()]
    assert not missing
