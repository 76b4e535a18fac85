"""Tiled processing of a large scene: seamless stitching, pooling across tiles, Dask, memory refusal."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from skimage.measure import label as connected_pieces
from sklearn.metrics import adjusted_rand_score

import s2label
from s2label._tasks import Tasks, local_client
from s2label.encoders.cnn import pool_segments, train_cnn
from s2label.encoders.encoder import CNNConfig
from s2label.encoders.pooled import pool_tiles, training_sample
from s2label.encoders.spectral import spectral_features
from s2label.errors import S2LabelError
from s2label.io.datasets import sample_scene, sample_scene_path
from s2label.io.source import SceneSource, open_source
from s2label.pipeline.memory import check_tile_memory
from s2label.segmentation.graph import build_graph
from s2label.segmentation.stitch import (
    merge_small_segments,
    plan_segment_tiles,
    seam_boundary_fraction,
    seed_step,
    segment_on_grid,
    segment_tiles,
)
from s2label.segmentation.superpixels import band_stats
from tests.conftest import TINY_CNN, make_scene, stored_log

BANDS = ["B02", "B03", "B04", "B08"]
PARAMS = {"method": "slic", "segment_size": 200, "compactness": 0.1}


@pytest.fixture(scope="module")
def big_crop():
    """A real 1024 x 1024 px, 4-band part of the default scene (16 tiles of 266 px)."""
    return sample_scene(window=((0, 1024), (0, 1024)), bands=BANDS)


@pytest.fixture(scope="module")
def tiled(big_crop):
    grid = plan_segment_tiles(big_crop.shape, 200, size=256, halo=70)
    seg = segment_tiles(open_source(big_crop), grid, params=PARAMS, stats=band_stats(big_crop))
    return grid, seg


def test_tile_sizes_are_multiples_of_the_seed_step():
    assert seed_step(200) == 14 and seed_step(64) == 8 and seed_step(1) == 1
    grid = plan_segment_tiles((3000, 3000), 200, size=2048, halo=64, balanced=False)
    assert (grid.size, grid.halo) == (2058, 70)
    # balanced: as many tiles, of equal size (a multiple of the step covering the side)
    for side, size in [(3000, 1512), (4000, 2002), (10954, 1834), (2000, 2002)]:
        grid = plan_segment_tiles((side, side // 2), 200, size=2048, halo=64)
        assert grid.size == size and grid.size % 14 == 0 and grid.n_rows == math.ceil(side / 2058)
        assert grid.n_rows * grid.size - side < 14 * grid.n_rows
    assert plan_segment_tiles((50, 50), 200).size == 70   # never under plan_tiles' least (64 px)


def test_overlapping_tiles_segment_their_overlap_alike(big_crop):
    """Seeds on one scene-wide grid: two tiles 280 px apart agree on the middle of their overlap."""
    src, stats = open_source(big_crop), band_stats(big_crop)
    a = segment_on_grid(src.read((0, 560, 0, 560)), (0, 0), stats=stats).ids
    b = segment_on_grid(src.read((0, 560, 280, 840)), (0, 280), stats=stats).ids
    middle_a, middle_b = a[:, 350:490], b[:, 70:210]          # columns 350..490 of the scene
    assert adjusted_rand_score(middle_a.ravel(), middle_b.ravel()) > 0.98
    # and the same crop at another origin, off the grid, does not (the alignment is what makes them agree)
    c = segment_on_grid(src.read((0, 560, 287, 847)), (0, 280), stats=stats).ids
    assert adjusted_rand_score(middle_a.ravel(), c[:, 63:203].ravel()) < 0.95


def test_tile_borders_leave_no_seam(big_crop, tiled):
    grid, seg = tiled
    at_borders, elsewhere = seam_boundary_fraction(seg.ids, grid, seed_step(200))
    assert at_borders < 1.25 * elsewhere, (at_borders, elsewhere)
    # cutting the tiles apart instead shows every border
    naive = np.zeros(big_crop.shape, np.int32)
    for i in range(len(grid)):
        r0, r1, c0, c1 = grid.core(i)
        part = segment_on_grid(open_source(big_crop).read((r0, r1, c0, c1)), (r0, c0), stats=band_stats(big_crop))
        naive[r0:r1, c0:c1] = np.where(part.ids > 0, part.ids + naive.max(), 0)
    assert seam_boundary_fraction(naive, grid, seed_step(200))[0] == 1.0


def test_tiled_segments_are_whole_connected_and_like_the_whole_scene(big_crop, tiled):
    grid, seg = tiled
    whole = segment_on_grid(big_crop, (0, 0), stats=band_stats(big_crop))
    assert seg.shape == big_crop.shape and seg.params["tiles"] == {"size": 266, "halo": 70, "count": 16}
    assert (seg.areas() > 0).all()                                             # ids 1..N, none missing
    assert connected_pieces(seg.ids, background=0, connectivity=1).max() == seg.n_segments  # each connected
    graph = build_graph(seg)
    assert (seg.areas()[graph.degree() > 0] >= 50).all()                       # no sliver left
    assert abs(seg.n_segments - whole.n_segments) < 0.03 * whole.n_segments
    assert adjusted_rand_score(whole.ids.ravel(), seg.ids.ravel()) > 0.85   # measured 0.897


def test_segments_never_cross_edges_of_a_synthetic_scene(quadrant_scene):
    """Four constant quadrants, tiles smaller than a quadrant: no segment straddles a quadrant edge."""
    scene = quadrant_scene
    h, w = scene.shape
    grid = plan_segment_tiles(scene.shape, 16, size=64, halo=8)
    seg = segment_tiles(open_source(scene), grid, params={"segment_size": 16, "compactness": 0.01},
                        stats=band_stats(scene))
    quadrant = (np.arange(h)[:, None] >= h // 2) * 2 + (np.arange(w)[None, :] >= w // 2)
    for k in range(1, seg.n_segments + 1):
        assert np.unique(quadrant[seg.ids == k]).size == 1


def test_no_data_is_never_segmented_and_empty_tiles_are_fine(big_crop):
    valid = big_crop.valid.copy()
    valid[:, :400] = False                            # the whole first column of tiles is no data
    valid[600:650, 600:650] = False
    scene = make_scene(np.where(valid, big_crop.data, 0), BANDS, valid)
    grid = plan_segment_tiles(scene.shape, 200, size=256, halo=70)
    seg = segment_tiles(open_source(scene), grid, params=PARAMS, stats=band_stats(scene))
    assert (seg.ids[~valid] == 0).all() and (seg.ids[valid] > 0).all()


def test_merge_small_segments_gives_slivers_to_their_longest_border():
    labels = np.array([[1, 1, 1, 1, 2, 2],
                       [1, 1, 1, 3, 2, 2],
                       [1, 1, 1, 1, 2, 0],
                       [4, 4, 0, 0, 0, 5]], np.int32)
    out = merge_small_segments(labels.copy(), 3)
    # 3 (1 px: 3 edges with 1, 1 with 2) joins 1; 4 (2 px) joins 1; 5 (1 px, no neighbour) stays
    expected = np.array([[1, 1, 1, 1, 2, 2], [1, 1, 1, 1, 2, 2], [1, 1, 1, 1, 2, 0], [1, 1, 0, 0, 0, 3]])
    np.testing.assert_array_equal(out, expected)


def _merge_by_graph(labels: np.ndarray, min_size: int, rounds: int = 3) -> np.ndarray:
    """The rule of merge_small_segments written plainly over the whole segment graph (reference)."""
    for _ in range(rounds):
        graph = build_graph(labels)
        adj = graph.adjacency().tocsr()
        lut = np.arange(graph.num_nodes + 1)
        for node in np.flatnonzero(graph.areas < min_size):
            row = slice(adj.indptr[node], adj.indptr[node + 1])
            nbrs, weights = adj.indices[row], adj.data[row]
            if nbrs.size:
                big = graph.areas[nbrs] >= min_size
                pool = np.flatnonzero(big) if big.any() else np.arange(nbrs.size)
                lut[node + 1] = nbrs[pool[np.argmax(weights[pool])]] + 1
        for _ in range(8):
            lut = lut[lut]
        ids, inverse = np.unique(lut[labels], return_inverse=True)
        labels = (inverse.reshape(labels.shape) + (ids[0] > 0)).astype(np.int32)
    return labels


def test_merge_small_segments_agrees_with_the_whole_graph_rule(real_crop):
    seg = s2label.segment(real_crop.select(BANDS), segment_size=60, compactness=0.1)
    sizes = np.bincount(seg.ids.ravel())[1:]
    min_size = int(np.percentile(sizes, 30))   # a third of the segments are "small", chains included
    out = merge_small_segments(seg.ids.copy(), min_size)
    ref = _merge_by_graph(seg.ids.copy(), min_size)
    np.testing.assert_array_equal(out, ref)
    assert out.max() == np.unique(out).size and out.min() == 1   # ids 1..N
    assert seg.n_segments * 0.6 < out.max() < seg.n_segments * 0.85


def test_training_sample_takes_blocks_from_all_over_with_gaps(big_crop):
    src = open_source(big_crop)
    sample = training_sample(src, n_blocks=6, block=128, gap=16, seed=3)
    assert sample.shape == (2 * 128 + 16, 3 * 128 + 32)
    assert not sample.valid[128:144].any() and not sample.valid[:, 128:144].any()
    blocks = [sample.data[:, r:r + 128, c:c + 128] for r in (0, 144) for c in (0, 144, 288)]
    origins = []
    for b in blocks:   # find each block in the crop: distinct places
        hits = [(r, c) for r in range(0, 1024, 128) for c in range(0, 1024, 128)
                if np.array_equal(big_crop.data[:, r:r + 128, c:c + 128], b)]
        assert len(hits) == 1
        origins.append(hits[0])
    assert len(set(origins)) == 6
    again = training_sample(src, n_blocks=6, block=128, gap=16, seed=3)
    np.testing.assert_array_equal(again.data, sample.data)


def test_spectral_pooling_across_tiles_equals_pooling_the_whole_scene(big_crop, tiled):
    grid, seg = tiled
    pooled = pool_tiles(open_source(big_crop), grid, seg)
    whole = spectral_features(big_crop, seg)
    assert pooled.feature_names == whole.feature_names
    np.testing.assert_allclose(pooled.features, whole.vectors, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(pooled.bands, whole.vectors[:, :4], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(pooled.counts, seg.areas())


def test_cnn_features_pooled_by_tile_equal_the_whole_feature_map(big_crop, tiled):
    grid, seg = tiled
    cnn = train_cnn(big_crop, config=CNNConfig(**TINY_CNN), seed=0)
    pooled = pool_tiles(open_source(big_crop), grid, seg, cnn=cnn, std=True)
    whole = pool_segments(cnn.feature_map(big_crop), seg, std=True)
    assert pooled.features.shape == (seg.n_segments, 16)
    np.testing.assert_allclose(pooled.features, whole, rtol=1e-3, atol=1e-4)


def test_tiles_that_do_not_fit_are_refused_with_the_estimate():
    grid = plan_segment_tiles((10980, 10980), 200, size=4096, halo=70)
    need = check_tile_memory(grid, 4, cnn=True, workers=1, available=64 * 2**30)
    assert 3 * 2**30 < need < 8 * 2**30
    with pytest.raises(S2LabelError, match=r"need about \d+\.\d GiB, and 4\.0 GiB .* smaller tile_size"):
        check_tile_memory(grid, 4, cnn=True, workers=2, available=4 * 2**30)


def test_run_refuses_tiles_too_large_before_reading(monkeypatch, tmp_path):
    import s2label._profiling as profiling

    monkeypatch.setattr(profiling, "available_memory_bytes", lambda: 2**28)
    with pytest.raises(S2LabelError, match="smaller tile_size"):
        s2label.run(sample_scene_path(), out=tmp_path / "run", tile_size=1024, progress=False)
    assert not (tmp_path / "run" / "report.json").exists()


def _crop_options(**more):
    return {"read_options": {"bands": BANDS, "window": ((0, 512), (0, 512))}, "tile_size": 256,
            "cnn": CNNConfig(**(TINY_CNN | {"steps": 10})), "progress": False} | more


def test_tiled_run_writes_the_outputs_of_a_whole_run(tmp_path):
    result = s2label.run(sample_scene_path(), out=tmp_path, **_crop_options())
    assert result.scene is None and result.bands == tuple(BANDS)
    assert result.spectra.shape == (result.segmentation.n_segments, 4)
    for name in s2label.pipeline.run_folder.RUN_FILES:
        assert (tmp_path / name).exists(), name
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["params"]["tiles"] == {"size": 266, "halo": 70, "count": 4, "workers": 0}
    assert report["scene"]["shape"] == [512, 512] and report["counts"]["segments"] == result.segmentation.n_segments
    assert list(report["stages"]) == ["read", "train", "segment", "graph", "encode", "gnn", "cluster", "export"]
    with rasterio.open(tmp_path / "segments.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), result.segmentation.ids)
        assert ds.transform == s2label.read_scene(sample_scene_path(), bands=BANDS,
                                                  window=((0, 512), (0, 512))).transform
    session = s2label.LabelSession.from_result(result)       # the labelling session needs no pixels
    assert session.bands == tuple(BANDS)
    explorer = s2label.explore(result)                         # nor does the map of the labels
    assert explorer.scene is None
    explorer.session.rename(0, "first")
    assert stored_log(tmp_path / "session.sqlite").edits[-1]["name"] == "first"
    # the model it saved labels another part without retraining
    other = s2label.run(sample_scene_path(), model=tmp_path / "model", read_options={
        "window": ((512, 1024), (0, 512))}, tile_size=256, progress=False)
    assert other.report["params"]["model"] and other.clustering.cluster.shape == (other.segmentation.n_segments,)


@pytest.mark.dask
def test_tile_stages_on_dask_give_the_in_process_result(tmp_path):
    environ = dict(os.environ)
    here = s2label.run(sample_scene_path(), out=tmp_path / "here", **_crop_options())
    there = s2label.run(sample_scene_path(), out=tmp_path / "dask", workers=2, **_crop_options())
    assert dict(os.environ) == environ
    assert there.report["params"]["tiles"]["workers"] == 2
    # the cluster's start-up is a stage of its own, before the tile stages
    assert list(there.report["stages"])[2:4] == ["start workers", "segment"]
    assert "start workers" not in here.report["stages"]
    for name in ("segments.tif", "clusters.tif"):
        with rasterio.open(tmp_path / "here" / name) as a, rasterio.open(tmp_path / "dask" / name) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))


def test_tile_stages_on_a_thread_pool_give_the_in_process_result(tmp_path):
    """The executor is a choice: any concurrent.futures executor runs the same tile stages."""
    from concurrent.futures import ThreadPoolExecutor

    here = s2label.run(sample_scene_path(), **_crop_options(encoder="cnn"))
    with ThreadPoolExecutor(2) as pool:
        there = s2label.run(sample_scene_path(), executor=pool, **_crop_options(encoder="cnn"))
    assert there.report["params"]["tiles"]["workers"] == 2 and here.report["params"]["tiles"]["workers"] == 0
    assert "start workers" in there.report["stages"]
    np.testing.assert_array_equal(there.segmentation.ids, here.segmentation.ids)
    np.testing.assert_allclose(there.embeddings.vectors, here.embeddings.vectors, rtol=1e-5, atol=1e-6)


def test_tiles_segmented_in_other_processes_are_those_segmented_here():
    """A scene in memory and its tiles travel to a process pool (pickled) and come back the same."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    scene = sample_scene(window=((0, 512), (0, 512)), bands=BANDS)
    grid = plan_segment_tiles(scene.shape, 200, size=256, halo=70)
    here = segment_tiles(open_source(scene), grid, params=PARAMS, stats=band_stats(scene))
    class CountingPool(ProcessPoolExecutor):
        submitted = 0

        def submit(self, *args, **kwargs):
            CountingPool.submitted += 1
            return super().submit(*args, **kwargs)

    with CountingPool(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = segment_tiles(open_source(scene), grid, params=PARAMS, stats=band_stats(scene),
                              tasks=Tasks(pool))
    assert CountingPool.submitted >= 2 * len(grid)          # segment and stitch tasks ran on the pool
    np.testing.assert_array_equal(there.ids, here.ids)
    assert dict(there.params) == dict(here.params)


@pytest.fixture
def separate_cluster(tmp_path):
    """A Dask cluster this test does not own the processes of: `dask scheduler` and two `dask worker`
    processes started from the command line on 127.0.0.1, as on a machine of their own."""
    from dask.distributed import Client

    dask_cli = [sys.executable, "-m", "dask"]
    info = tmp_path / "scheduler.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    procs = [subprocess.Popen([*dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(info)], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        procs += [subprocess.Popen([*dask_cli, "worker", "--scheduler-file", str(info), "--nthreads", "1",
                                    "--no-dashboard", "--local-directory", str(tmp_path / f"w{k}")], env=env,
                                   cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for k in range(2)]
        with Client(scheduler_file=str(info), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            yield client
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


@pytest.mark.dask
def test_tile_stages_run_on_a_cluster_started_apart(tmp_path, separate_cluster):
    s2label.run(sample_scene_path(), out=tmp_path / "here", **_crop_options())
    there = s2label.run(sample_scene_path(), out=tmp_path / "there", client=separate_cluster, **_crop_options())
    assert there.report["params"]["tiles"]["workers"] == 2
    # the tasks ran on the separate workers (each one imported s2label.segmentation.stitch for them)
    assert all(separate_cluster.run(lambda: "s2label.segmentation.stitch" in sys.modules).values())
    for name in ("segments.tif", "clusters.tif"):
        with rasterio.open(tmp_path / "here" / name) as a, rasterio.open(tmp_path / "there" / name) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))
    assert separate_cluster.status == "running"      # the run leaves a cluster it was given open


def _on_a_worker() -> bool:
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


class KillingSource(SceneSource):
    """Reads like its parent, but the worker process reading the first tile dies (once, or always)."""

    marker: str = ""
    always: bool = False

    def read(self, bounds):
        if bounds[:4:2] != (0, 0) or not _on_a_worker():   # only a Dask worker's reads of the first tile
            return super().read(bounds)
        if self.always or not Path(self.marker).exists():
            Path(self.marker).touch()
            os._exit(13)
        return super().read(bounds)


def _killing(scene, marker, always=False):
    src = open_source(scene)
    killer = KillingSource(src.source, src.grid, src.read_options)
    object.__setattr__(killer, "marker", str(marker))
    object.__setattr__(killer, "always", always)
    return killer


@pytest.mark.dask
def test_a_worker_lost_mid_run_is_replaced_and_the_result_is_the_same(tmp_path):
    scene = sample_scene(window=((0, 512), (0, 512)), bands=BANDS)
    grid = plan_segment_tiles(scene.shape, 200, size=256, halo=70)
    expected = segment_tiles(open_source(scene), grid, params=PARAMS, stats=band_stats(scene))
    marker = tmp_path / "killed"
    with local_client(2) as client:
        seg = segment_tiles(_killing(scene, marker), grid, params=PARAMS, stats=band_stats(scene),
                            tasks=Tasks.for_client(client))
    assert marker.exists()                                   # a worker did die
    np.testing.assert_array_equal(seg.ids, expected.ids)


def test_a_run_whose_workers_keep_dying_fails_cleanly_and_writes_nothing(tmp_path):
    import dask

    scene = sample_scene(window=((0, 512), (0, 512)), bands=BANDS)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with pytest.raises(S2LabelError, match="lost its worker"):
            s2label.run(_killing(scene, tmp_path / "killed", always=True), out=tmp_path / "run", workers=2,
                        encoder="spectral", tile_size=256, progress=False)
    assert not (tmp_path / "run" / "report.json").exists() and not (tmp_path / "run" / "segments.tif").exists()


def test_cli_runs_by_tiles(run_cli, tmp_path):
    done = run_cli("run", sample_scene_path(), "--bands", ",".join(BANDS), "--window", "0,0,400,400",
                   "--tile-size", "200", "--encoder", "spectral", "--reduce", "pca", "--out", tmp_path, "--quiet")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["params"]["tiles"]["count"] == 4 and report["scene"]["shape"] == [400, 400]
