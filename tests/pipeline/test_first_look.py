"""The first look: a learned run's spectral clusters, written to out/spectral before training."""

import json

import numpy as np
import pytest

import s2label
from s2label.encoders.encoder import GNNConfig
from s2label.errors import S2LabelError
from s2label.pipeline.first_look import first_look_options, wants_first_look
from s2label.pipeline.options import RunOptions
from s2label.pipeline.run_folder import RUN_FILES, load_run


def test_the_first_look_is_the_spectral_run_of_the_same_segments(real_crop, tiny_cnn, tmp_path):
    """What out/spectral holds is exactly a spectral run with PCA (same segments, same clusters), finished
    before the U-Net trains; the learned run's result is the same with or without it."""
    opts = dict(segment_size=150, cnn=tiny_cnn, gnn=GNNConfig(epochs=20), progress=False)
    full = s2label.run(real_crop, out=tmp_path / "full", **opts)
    look_dir = tmp_path / "full" / "spectral"
    assert set(RUN_FILES) <= {p.name for p in look_dir.iterdir()}
    look = load_run(look_dir, real_crop)
    alone = s2label.run(real_crop, encoder="spectral", reduce="pca", segment_size=150, progress=False)
    np.testing.assert_array_equal(look.segmentation.ids, full.segmentation.ids)
    np.testing.assert_array_equal(look.clustering.cluster, alone.clustering.cluster)
    report = json.loads((look_dir / "report.json").read_text())
    assert report["params"]["encoder"] == "spectral" and report["params"]["first_look_of"] == "cnn-gnn"
    assert report["params"]["cluster_params"]["reduce"] == "pca"
    assert list(report["stages"]) == ["read", "segment", "graph", "encode", "cluster", "export"]  # no training
    without = s2label.run(real_crop, out=tmp_path / "without", first_look=False, **opts)
    assert not (tmp_path / "without" / "spectral").exists()
    assert "first look" not in without.report["stages"] and list(without.report["stages"])[1] == "train"
    np.testing.assert_array_equal(without.embeddings.vectors, full.embeddings.vectors)
    np.testing.assert_array_equal(without.clustering.cluster, full.clustering.cluster)


@pytest.mark.parametrize(("asked", "encoder", "writes", "tiled", "model", "expected"), [
    (None, "cnn-gnn", True, False, False, True), (None, "cnn", True, False, False, True),
    (None, "cnn-gnn", True, True, False, False), (True, "cnn-gnn", True, True, False, True),
    (False, "cnn-gnn", True, False, False, False), (None, "spectral", True, False, False, False),
    (None, "cnn-gnn", False, False, False, False), (None, "cnn-gnn", True, False, True, False)])
def test_when_a_run_writes_a_first_look(asked, encoder, writes, tiled, model, expected):
    options = RunOptions.from_keywords(first_look=asked)
    assert wants_first_look(options, encoder=encoder, writes=writes, tiled=tiled, model=model) is expected


def test_asking_for_a_first_look_that_cannot_be(real_crop):
    with pytest.raises(S2LabelError, match="needs a run that trains"):
        s2label.run(real_crop, encoder="spectral", first_look=True, progress=False, out=None)
    options = first_look_options(RunOptions.from_keywords(segment_size=90, seed=3, min_cluster_size=7))
    assert (options.segmentation.segment_size, options.seed, options.clustering.min_cluster_size) == (90, 3, 7)


def test_cli_writes_the_first_look_unless_told_not_to(run_cli, sample_dir, tmp_path):
    base = ["--window", "600,600,160,160", "--cnn-steps", "5", "--reduce", "pca", "--quiet"]
    proc = run_cli("run", sample_dir, "--out", tmp_path / "a", *base)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a" / "spectral" / "report.json").is_file()
    proc = run_cli("run", sample_dir, "--out", tmp_path / "b", "--no-first-look", *base)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "b" / "spectral").exists() and (tmp_path / "b" / "report.json").is_file()
