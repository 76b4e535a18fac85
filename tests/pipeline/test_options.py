"""``s2label.pipeline.options``: one frozen, checked options object for run, the CLI and run_many."""

from __future__ import annotations

import dataclasses
import pickle
import re

import pytest

import s2label
from s2label.encoders.encoder import CNNConfig
from s2label.errors import S2LabelError
from s2label.pipeline.cli import build_parser, options_from_args
from s2label.pipeline.options import (
    ClusteringOptions,
    EncoderOptions,
    RunOptions,
    SegmentationOptions,
    TileOptions,
)


def test_defaults_are_those_of_run():
    options = RunOptions()
    assert options.segmentation == SegmentationOptions("slic", 200, 0.1)
    assert options.encoder.encoder == "cnn-gnn" and options.encoder.device == "auto"
    assert options.clustering.reduce == "umap" and options.clustering.min_cluster_size is None
    assert options.tiles == TileOptions(None, 70) and not options.tiled
    assert options.seed == 0 and options.progress and not options.output.gpkg


def test_flat_keywords_round_trip_and_leave_the_original_alone():
    options = RunOptions.from_keywords(segment_size=400, encoder="cnn", reduce="pca", tile_size=512, seed=4,
                                       read_options={"bands": ["B02"]}, cluster_options={"n_components": 5})
    assert options.segmentation.segment_size == 400 and options.encoder.encoder == "cnn"
    assert options.clustering.params(4) == {"min_cluster_size": None, "reduce": "pca", "random_state": 4,
                                            "n_components": 5}
    assert options.tiled and options.tiles.size == 512 and options.read == {"bands": ["B02"]}
    assert RunOptions.from_keywords(**options.as_keywords()) == options
    changed = options.replace(segment_size=100)
    assert changed.segmentation.segment_size == 100 and options.segmentation.segment_size == 400


def test_options_are_frozen_copied_and_travel_to_workers():
    read = {"bands": ["B02", "B03"]}
    options = RunOptions.from_keywords(read_options=read, cnn=CNNConfig(steps=5))
    read["bands"].append("B04")   # the list inside is the caller's; the mapping itself is a copy
    read["scale"] = 2.0
    assert "scale" not in options.read
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.seed = 3  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(options)) == options


@pytest.mark.parametrize(("keywords", "message"), [
    # each names the Python argument and, where s2label run has one, its command-line option
    ({"encoder": "resnet"}, "unknown encoder (--encoder) 'resnet'; use one of cnn-gnn, cnn, spectral"),
    ({"segmentation_method": "watershed"}, "unknown segmentation method (--segmentation) 'watershed'"),
    ({"reduce": "tsne"}, "unknown reduction (--reduce) 'tsne'; use one of umap, pca, none"),
    ({"segment_size": 0}, "segment_size (--segment-size) must be positive, got 0"),
    ({"compactness": -1.0}, "compactness (--compactness) must be positive"),
    ({"min_cluster_size": 0}, "min_cluster_size (--min-cluster-size) must be positive"),
    ({"tile_size": -5}, "tile_size (--tile-size) must be positive"),
    ({"halo": -1}, "halo must be at least 0"),
    ({"num_threads": 0}, "num_threads (--threads) must be positive"),
])
def test_a_bad_option_is_one_clear_error(keywords, message):
    with pytest.raises(S2LabelError, match=re.escape(message)):
        RunOptions.from_keywords(**keywords)


def test_an_unknown_keyword_names_the_options():
    with pytest.raises(TypeError, match="unknown run option.s. segmnet_size; the options are segmentation_method"):
        RunOptions.from_keywords(segmnet_size=3)


def test_run_checks_its_options_before_reading_anything(tmp_path):
    missing = tmp_path / "no-such-scene.tif"
    with pytest.raises(S2LabelError, match="unknown encoder"):   # not "no such file"
        s2label.run(missing, encoder="resnet", out=tmp_path / "o")
    with pytest.raises(TypeError, match="unknown run option"):
        s2label.run(missing, segmnet_size=3)
    with pytest.raises(S2LabelError, match="give one of executor, client and workers"):
        s2label.run(missing, workers=2, client=object())
    assert not (tmp_path / "o").exists()


def test_the_cli_builds_the_same_options_as_run_keywords():
    args = build_parser().parse_args(["run", "x.tif", "--encoder", "cnn", "--segment-size", "300", "--cnn-steps",
                                      "7", "--tile-size", "1024", "--bands", "B02,B03", "--window", "0,0,10,20",
                                      "--reduce", "pca", "--threads", "2", "--quiet", "--gpkg"])
    expected = RunOptions(segmentation=SegmentationOptions(segment_size=300),
                          encoder=EncoderOptions("cnn", cnn=CNNConfig(steps=7, passes=None), num_threads=2),
                          clustering=ClusteringOptions(reduce="pca"), tiles=TileOptions(size=1024),
                          read={"window": ((0, 10), (0, 20)), "bands": ["B02", "B03"]}, progress=False)
    assert options_from_args(args) == dataclasses.replace(expected, output=dataclasses.replace(
        expected.output, gpkg=True))


def test_the_cli_precision_and_first_look():
    args = build_parser().parse_args(["run", "x.tif", "--precision", "bfloat16", "--no-first-look"])
    options = options_from_args(args)
    assert options.encoder.cnn == CNNConfig(precision="bfloat16") and options.output.first_look is False
    plain = options_from_args(build_parser().parse_args(["run", "x.tif"]))
    assert plain.encoder.cnn is None and plain.output.first_look is None


def test_the_old_cli_option_still_works_with_a_warning():
    args = build_parser().parse_args(["run", "x.tif", "--window-size", "512"])
    with pytest.warns(s2label.S2LabelWarning, match="--window-size is now --tile-size"):
        assert options_from_args(args).tiles.size == 512


def test_the_old_run_keyword_still_works_with_a_warning(tmp_path):
    scene = s2label.sample_scene(window=((0, 128), (0, 128)), bands=["B02", "B03", "B04", "B08"])
    with pytest.warns(FutureWarning, match=r"run\(window_size=...\) is now run\(tile_size=...\)"):
        result = s2label.run(scene, window_size=64, encoder="spectral", reduce="pca", progress=False)
    assert result.report["params"]["tiles"]["count"] == 4
