import json

import numpy as np
import pytest
import rasterio

import s2label
from s2label.pipeline import OUTPUT_FILES


def test_run_writes_the_contract_files(tmp_path, real_crop):
    result = s2label.run(real_crop, out=tmp_path / "out", progress=False, segment_size=150, gpkg=True)
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == set(OUTPUT_FILES) | {"clusters.gpkg"}
    seg = result.segmentation
    with rasterio.open(out / "segments.tif") as ds:
        assert ds.crs == real_crop.crs and ds.transform == real_crop.transform and ds.nodata == 0
        np.testing.assert_array_equal(ds.read(1), seg.labels)
    with rasterio.open(out / "clusters.tif") as ds:
        clusters = ds.read(1)
        assert ds.transform == real_crop.transform and ds.dtypes[0] == "int32"
    np.testing.assert_array_equal(clusters, seg.to_raster(result.clustering.labels, fill=-2))
    npz = np.load(out / "embeddings.npz")
    assert npz["vectors"].shape == (seg.n_segments, result.embeddings.dim)
    np.testing.assert_array_equal(npz["segment_ids"], np.arange(1, seg.n_segments + 1))
    np.testing.assert_array_equal(npz["cluster"], result.clustering.labels)
    assert (npz["cluster_assigned"] >= 0).all()
    report = json.loads((out / "report.json").read_text())
    assert report["seed"] == 0 and report["params"]["encoder"] == "spectral"
    assert set(report["stages"]) == {"read", "segment", "graph", "embed", "cluster", "export"}
    assert all(s["seconds"] >= 0 and s["peak_rss_mb"] > 0 for s in report["stages"].values())
    assert report["counts"]["segments"] == seg.n_segments
    assert report["counts"]["clusters"] == result.clustering.n_clusters
    assert report["peak_memory_mb"] > 0
    gj = json.loads((out / "clusters.geojson").read_text())
    # noise joins its nearest cluster in the GeoJSON and is counted for review
    assert all(f["properties"]["cluster"] >= 0 for f in gj["features"])
    assert sum(f["properties"]["n_noise_segments"] for f in gj["features"]) == int((result.clustering.labels < 0).sum())
    assert sum(f["properties"]["n_segments"] for f in gj["features"]) == seg.n_segments


def test_run_without_out_writes_nothing(tmp_path, monkeypatch, real_crop):
    monkeypatch.chdir(tmp_path)
    result = s2label.run(real_crop, progress=False, segment_size=300)
    assert result.out_dir is None and list(tmp_path.iterdir()) == []
    assert result.report["counts"]["segments"] == result.segmentation.n_segments


def test_same_seed_same_result(real_crop):
    a = s2label.run(real_crop, progress=False, segment_size=300, seed=3)
    b = s2label.run(real_crop, progress=False, segment_size=300, seed=3)
    np.testing.assert_array_equal(a.segmentation.labels, b.segmentation.labels)
    np.testing.assert_array_equal(a.clustering.labels, b.clustering.labels)


def test_run_reads_a_path_with_read_options(sample_dir):
    result = s2label.run(sample_dir, progress=False, segment_size=100,
                         read_options={"window": ((0, 100), (0, 120)), "bands": ["B02", "B03", "B04", "B08"]})
    assert result.scene.shape == (100, 120) and result.scene.bands == ("B02", "B03", "B04", "B08")
    assert result.report["params"]["read_options"]["bands"] == ["B02", "B03", "B04", "B08"]


def test_all_noise_is_exported_as_noise(tmp_path, crop_result):
    from dataclasses import replace

    clus = crop_result.clustering
    all_noise = replace(clus, labels=np.full_like(clus.labels, -1))
    result = replace(crop_result, clustering=all_noise)
    from s2label.pipeline import write_outputs

    write_outputs(result, tmp_path)
    gj = json.loads((tmp_path / "clusters.geojson").read_text())
    assert [f["properties"]["cluster"] for f in gj["features"]] == [-1]
    assert gj["features"][0]["properties"]["n_segments"] == crop_result.segmentation.n_segments


def test_no_cluster_found_warns():
    from s2label import S2LabelWarning, cluster
    from s2label.embeddings import Embeddings

    rng = np.random.default_rng(0)
    uniform = Embeddings(rng.random((40, 3)), np.arange(1, 41), "spectral")
    with pytest.warns(S2LabelWarning, match="no cluster"):
        c = cluster(uniform, min_cluster_size=30)
    assert c.n_clusters == 0
