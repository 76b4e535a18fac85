"""Tests of s2label.pipeline.run_folder: the run folder's names, default place, writing and reading back."""

import json
from pathlib import Path

import numpy as np
import pytest

import s2label
from s2label.errors import OutputError, SceneError
from s2label.pipeline.run_folder import (
    DEFAULT_ROOT,
    RUN_FILES,
    SESSION_FILE,
    default_folder,
    is_finished,
    load_run,
    run_name,
)


def test_load_run_checks_the_folder(real_crop, tmp_path, crop_cnn_gnn):
    with pytest.raises(OutputError, match="missing report.json"):
        load_run(tmp_path, real_crop)
    other = s2label.sample_scene(window=((0, 300), (0, 300)))
    with pytest.raises(SceneError, match="another scene"):
        load_run(crop_cnn_gnn.out_dir, other)


def test_load_run_of_the_default_pipeline(crop_cnn_gnn, real_crop):
    """A cnn-gnn run on the real crop, loaded back: same segments, embeddings, clusters and hierarchy."""
    loaded = load_run(crop_cnn_gnn.out_dir, real_crop)
    np.testing.assert_array_equal(loaded.segmentation.ids, crop_cnn_gnn.segmentation.ids)
    np.testing.assert_allclose(loaded.embeddings.vectors, crop_cnn_gnn.embeddings.vectors)
    np.testing.assert_array_equal(loaded.clustering.cluster, crop_cnn_gnn.clustering.cluster)
    explorer = s2label.explore(loaded)
    assert not explorer.session.hierarchy.flat
    assert explorer.session.autosave_path == crop_cnn_gnn.out_dir / SESSION_FILE


def test_all_noise_is_exported_as_noise(tmp_path, crop_result):
    from dataclasses import replace

    clus = crop_result.clustering
    all_noise = replace(clus, cluster=np.full_like(clus.cluster, -1))
    result = replace(crop_result, clustering=all_noise)
    from s2label.pipeline.run_folder import write_outputs

    write_outputs(result, tmp_path)
    gj = json.loads((tmp_path / "clusters.geojson").read_text())
    assert [f["properties"]["cluster"] for f in gj["features"]] == [-1]
    assert gj["features"][0]["properties"]["n_segments"] == crop_result.segmentation.n_segments


@pytest.mark.parametrize("source, name", [
    ("data/S2B_MSIL2A_20240101T000000_N0510_R001_T32UNE_20240101T000000.SAFE",
     "S2B_MSIL2A_20240101T000000_N0510_R001_T32UNE_20240101T000000"),
    ("/tmp/my scene.tif", "my_scene"),
    ("https://example.com/stac/items/item-7.json", "item-7"),
    ("", "scene"),
    (".hidden", "scene"),
])
def test_run_name_and_default_folder(source, name):
    assert run_name(source) == name
    assert default_folder(source) == Path(DEFAULT_ROOT) / name
    assert default_folder(source, name="sample") == Path("s2label-output") / "sample"


def test_explore_and_the_cli_default_to_the_same_folder(real_crop, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    explorer = s2label.explore(real_crop, encoder="spectral", reduce="pca", progress=False)
    folder = tmp_path / default_folder(real_crop)
    assert folder.parent == tmp_path / "s2label-output" and is_finished(folder)
    assert explorer.session.autosave_path == folder / SESSION_FILE
    assert set(RUN_FILES) | {SESSION_FILE} <= {p.name for p in folder.iterdir()}


def test_explore_finds_a_run_where_an_earlier_s2label_put_it(real_crop, tmp_path, monkeypatch):
    """Before 0.2 explore's default was s2label-runs/<file name>: that run and its session are reused."""
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "s2label-runs" / Path(real_crop.source).name
    s2label.run(real_crop, out=old, encoder="spectral", reduce="pca", progress=False)
    first = s2label.explore(real_crop, progress=False)
    first.session.rename(first.session.labels[0].id, "water")
    report = (old / "report.json").read_text()
    again = s2label.explore(real_crop, progress=False)
    assert again.session.autosave_path == old / SESSION_FILE and (old / "report.json").read_text() == report
    assert again.session.labels[0].name == "water"
    assert not (tmp_path / "s2label-output").exists()
