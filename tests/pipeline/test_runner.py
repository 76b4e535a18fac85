import json

import numpy as np
import pytest
import rasterio

import s2label
from s2label.pipeline.run_folder import RUN_FILES


def test_run_writes_the_contract_files(tmp_path, real_crop):
    result = s2label.run(real_crop, out=tmp_path / "out", encoder="spectral", reduce="pca", progress=False,
                         segment_size=150, gpkg=True)
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == set(RUN_FILES) | {"clusters.gpkg"}
    seg = result.segmentation
    with rasterio.open(out / "segments.tif") as ds:
        assert ds.crs == real_crop.crs and ds.transform == real_crop.transform and ds.nodata == 0
        np.testing.assert_array_equal(ds.read(1), seg.ids)
    with rasterio.open(out / "clusters.tif") as ds:
        clusters = ds.read(1)
        assert ds.transform == real_crop.transform and ds.dtypes[0] == "int32"
    np.testing.assert_array_equal(clusters, seg.to_raster(result.clustering.cluster, fill=-2))
    npz = np.load(out / "embeddings.npz")
    assert npz["vectors"].shape == (seg.n_segments, result.embeddings.dim)
    np.testing.assert_array_equal(npz["segment_ids"], np.arange(1, seg.n_segments + 1))
    np.testing.assert_array_equal(npz["cluster"], result.clustering.cluster)
    assert (npz["cluster_assigned"] >= 0).all()
    report = json.loads((out / "report.json").read_text())
    assert report["seed"] == 0 and report["params"]["encoder"] == "spectral"
    assert list(report["stages"]) == ["read", "segment", "graph", "encode", "cluster", "export"]
    assert all(s["seconds"] >= 0 and s["peak_rss_mb"] > 0 for s in report["stages"].values())
    assert report["counts"]["segments"] == seg.n_segments
    assert report["counts"]["clusters"] == result.clustering.n_clusters
    assert report["peak_memory_mb"] > 0
    gj = json.loads((out / "clusters.geojson").read_text())
    # noise joins its nearest cluster in the GeoJSON and is counted for review
    assert all(f["properties"]["cluster"] >= 0 for f in gj["features"])
    n_noise = int((result.clustering.cluster < 0).sum())
    assert sum(f["properties"]["n_noise_segments"] for f in gj["features"]) == n_noise
    assert sum(f["properties"]["n_segments"] for f in gj["features"]) == seg.n_segments


def test_run_without_out_writes_nothing(tmp_path, monkeypatch, real_crop):
    monkeypatch.chdir(tmp_path)
    result = s2label.run(real_crop, encoder="spectral", reduce="pca", progress=False, segment_size=300)
    assert result.out_dir is None and list(tmp_path.iterdir()) == []
    assert result.report["counts"]["segments"] == result.segmentation.n_segments


def test_same_seed_same_result(real_crop):
    a = s2label.run(real_crop, encoder="spectral", progress=False, segment_size=300, seed=3)
    b = s2label.run(real_crop, encoder="spectral", progress=False, segment_size=300, seed=3)
    np.testing.assert_array_equal(a.segmentation.ids, b.segmentation.ids)
    np.testing.assert_array_equal(a.clustering.cluster, b.clustering.cluster)


def test_run_reads_a_path_with_read_options(sample_dir):
    result = s2label.run(sample_dir, encoder="spectral", reduce="pca", progress=False, segment_size=100,
                         read_options={"window": ((0, 100), (0, 120)), "bands": ["B02", "B03", "B04", "B08"]})
    assert result.scene.shape == (100, 120) and result.scene.bands == ("B02", "B03", "B04", "B08")
    assert result.report["params"]["read_options"]["bands"] == ["B02", "B03", "B04", "B08"]


def test_no_cluster_found_warns():
    from s2label import S2LabelWarning, cluster
    from s2label.encoders.embeddings import Embeddings

    rng = np.random.default_rng(0)
    uniform = Embeddings(rng.random((40, 3)), np.arange(1, 41), "spectral")
    with pytest.warns(S2LabelWarning, match="no cluster"):
        c = cluster(uniform, min_cluster_size=30)
    assert c.n_clusters == 0


def test_cnn_gnn_on_a_real_crop(crop_cnn_gnn, real_crop):
    """Integration: the default encoder (U-Net + GNN, UMAP + HDBSCAN) on a real 256 x 256 crop."""
    r = crop_cnn_gnn
    counts = r.report["counts"]
    assert r.embeddings.encoder == "cnn-gnn" and r.embeddings.dim == 32 + 32
    # the same stages as a run by tiles; the segments first, for the first look written before training
    assert list(r.report["stages"]) == ["read", "segment", "graph", "first look", "train", "encode", "gnn", "cluster",
                                        "export"]
    assert set(r.report["params"]["train_seconds"]) == {"train_cnn", "cnn_features", "train_gnn"}
    assert 2 <= counts["clusters"] <= 40 and counts["noise_fraction"] < 0.5
    assert counts["largest_cluster_fraction"] <= 0.5
    model_dir = r.out_dir / "model"
    assert {p.name for p in model_dir.iterdir()} == {"model.json", "cnn.pt", "gnn.pt", "clusterer.npz"}
    # the GNN lowers fragmentation against the CNN features alone, clustered the same way
    from s2label.clustering.clusterer import cluster
    from s2label.encoders.encoder import SegmentEncoder
    from s2label.evaluation.measures import fragmentation

    cnn_only = SegmentEncoder("cnn", real_crop.bands, cnn=r.encoder.cnn).encode(r.scene, r.segmentation, r.graph)
    cnn_clusters = cluster(cnn_only)
    assert fragmentation(r.graph, r.clustering.cluster_noise_assigned()) < fragmentation(
        r.graph, cnn_clusters.cluster_noise_assigned())


def test_saved_model_labels_the_rotated_scene(crop_cnn_gnn, real_crop, tmp_path):
    from s2label.evaluation.measures import rotate_scene, rotation_stability
    from s2label.segmentation.export import label_raster

    model_dir = crop_cnn_gnn.out_dir / "model"
    rotated = s2label.run(rotate_scene(real_crop, 1), model=model_dir, out=tmp_path / "rot", progress=False)
    assert rotated.report["params"]["model"] == str(model_dir)
    assert list(rotated.report["stages"]) == ["read", "segment", "graph", "encode", "gnn", "cluster", "export"]
    assert rotated.segmentation.params["segment_size"] == pytest.approx(150, rel=0.05)  # the model's settings
    original = label_raster(crop_cnn_gnn.segmentation, crop_cnn_gnn.clustering.cluster_noise_assigned())
    turned = label_raster(rotated.segmentation, rotated.clustering.cluster_noise_assigned())
    assert rotation_stability(original, turned, k=1) > 0.6
    # the rotated run saved the same model again (the same weights)
    import torch

    again = torch.load(tmp_path / "rot" / "model" / "cnn.pt", weights_only=True)
    first = torch.load(model_dir / "cnn.pt", weights_only=True)
    assert again.keys() == first.keys() and all(torch.equal(again[k], first[k]) for k in first)


def test_cli_reuses_a_model(crop_cnn_gnn, tmp_path, capsys, sample_dir):
    from s2label.pipeline.cli import main

    model_dir = crop_cnn_gnn.out_dir / "model"
    status = main(["run", str(sample_dir), "--window", "1000,200,128,160", "--model", str(model_dir), "--out",
                   str(tmp_path / "o"), "--quiet"])
    assert status == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["params"]["model"] == str(model_dir) and report["params"]["encoder"] == "cnn-gnn"
    status = main(["run", str(sample_dir), "--model", str(tmp_path / "missing"), "--out", str(tmp_path / "p")])
    assert status == 1 and "no such model folder" in capsys.readouterr().err


def test_rotation_of_a_synthetic_scene_keeps_its_clustering(scene_factory, tiny_cnn, tmp_path):
    """Four materials in irregular regions: the model of the scene labels the scene turned 90° the same way."""
    from scipy.ndimage import gaussian_filter

    from s2label.encoders.encoder import GNNConfig
    from s2label.evaluation.measures import rotate_scene, rotation_stability
    from s2label.segmentation.export import label_raster

    rng = np.random.default_rng(0)
    field = gaussian_filter(rng.standard_normal((2, 120, 120)), sigma=(0, 12, 12))
    region = (field[0] > 0).astype(int) * 2 + (field[1] > 0)  # 4 regions with curved borders
    spectra = np.array([[0.04, 0.07, 0.04, 0.35], [0.10, 0.12, 0.15, 0.22],
                        [0.02, 0.04, 0.03, 0.01], [0.20, 0.22, 0.25, 0.30]], np.float32)
    data = spectra[region].transpose(2, 0, 1) + 0.005 * rng.standard_normal((4, 120, 120)).astype(np.float32)
    scene = scene_factory(data)
    opts = dict(segment_size=60, cnn=tiny_cnn, gnn=GNNConfig(epochs=30), reduce="pca", min_cluster_size=8,
                progress=False)
    first = s2label.run(scene, out=tmp_path / "a", **opts)
    turned = s2label.run(rotate_scene(scene, 1), model=tmp_path / "a" / "model", progress=False)
    a = label_raster(first.segmentation, first.clustering.cluster_noise_assigned())
    b = label_raster(turned.segmentation, turned.clustering.cluster_noise_assigned())
    assert first.clustering.n_clusters >= 4
    assert rotation_stability(a, b, k=1) > 0.9


def test_a_run_leaves_the_callers_random_state_alone(real_crop):
    import random

    import torch

    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    expected = (random.random(), np.random.random(), float(torch.rand(1)))
    random.seed(11)
    np.random.seed(11)
    torch.manual_seed(11)
    s2label.run(real_crop, encoder="spectral", reduce="pca", progress=False, seed=5)
    assert (random.random(), np.random.random(), float(torch.rand(1))) == expected


def test_training_leaves_torch_random_state_alone(real_crop, tiny_cnn):
    import torch

    from s2label.encoders.cnn import train_cnn

    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    train_cnn(real_crop, config=tiny_cnn, seed=0)
    assert torch.equal(torch.rand(3), expected)
