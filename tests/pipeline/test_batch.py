"""Many scenes, one task each (s2label.pipeline.batch.run_many): in process, on Dask or a process pool, on real
crops of the default scene."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import rasterio

import s2label
from s2label.errors import OutputError
from s2label.pipeline.batch import run_many

FAST = {"encoder": "spectral", "reduce": "pca", "segment_size": 150}
WINDOWS = [((600, 856), (600, 856)), ((200, 456), (300, 556))]


@pytest.fixture(scope="module")
def crops():
    return [s2label.sample_scene(window=w) for w in WINDOWS]


def _clusters(folder):
    with rasterio.open(folder / "clusters.tif") as ds:
        return ds.read(1)


def test_in_process_runs_each_scene_into_its_folder(tmp_path, crops):
    runs = run_many(crops, tmp_path / "batch", progress=False, **FAST)
    assert [r.ok for r in runs] == [True, True] and [r.out_dir.parent for r in runs] == [tmp_path / "batch"] * 2
    assert runs[0].name.startswith("000-") and runs[1].name.startswith("001-")
    alone = s2label.run(crops[1], out=tmp_path / "alone", progress=False, **FAST)
    np.testing.assert_array_equal(_clusters(runs[1].out_dir), _clusters(tmp_path / "alone"))
    assert runs[1].n_clusters == alone.clustering.n_clusters and runs[1].n_segments == alone.segmentation.n_segments
    with pytest.raises(OutputError, match="holds 2 run"):
        run_many(crops, tmp_path / "batch", progress=False, **FAST)


@pytest.mark.dask
def test_dask_workers_give_the_same_runs_and_report_a_bad_scene(tmp_path, crops):
    pytest.importorskip("dask.distributed")
    scenes = [crops[0], tmp_path / "no-such-scene.tif", crops[1]]
    environ = dict(os.environ)
    runs = run_many(scenes, tmp_path / "dask", workers=2, progress=False, **FAST)
    # Dask's nannies set OMP_NUM_THREADS=1 (and more) in the calling process: run_many puts its environment back
    assert dict(os.environ) == environ
    assert [r.ok for r in runs] == [True, False, True]
    assert "no-such-scene.tif" in runs[1].error and not runs[1].out_dir.exists()
    left = sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert left == [runs[0].name, runs[2].name]  # no partial folder is left behind
    reference = run_many(crops, tmp_path / "here", progress=False, **FAST)
    for on_dask, here in zip([runs[0], runs[2]], reference, strict=True):
        np.testing.assert_array_equal(_clusters(on_dask.out_dir), _clusters(here.out_dir))
        report = json.loads((on_dask.out_dir / "report.json").read_text())
        assert report["counts"]["segments"] == on_dask.n_segments


def test_a_process_pool_gives_the_same_runs_and_reports_a_bad_scene(tmp_path, crops):
    """Any concurrent.futures executor runs the scenes: here a pool of two fresh processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    scenes = [crops[0], tmp_path / "no-such-scene.tif", crops[1]]
    class CountingPool(ProcessPoolExecutor):
        submitted = 0

        def submit(self, *args, **kwargs):
            CountingPool.submitted += 1
            return super().submit(*args, **kwargs)

    with CountingPool(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = run_many(scenes, tmp_path / "pool", s2label.RunOptions.from_keywords(**FAST), executor=pool,
                        progress=False)
    assert CountingPool.submitted == 3                      # every scene ran on the pool, not here
    assert [r.ok for r in runs] == [True, False, True]
    assert "no-such-scene.tif" in runs[1].error and not runs[1].out_dir.exists()
    assert sorted(p.name for p in (tmp_path / "pool").iterdir()) == [runs[0].name, runs[2].name]
    alone = s2label.run(crops[1], out=tmp_path / "alone", progress=False, **FAST)
    np.testing.assert_array_equal(_clusters(runs[2].out_dir), _clusters(tmp_path / "alone"))
    assert runs[2].n_segments == alone.segmentation.n_segments
    report = json.loads((runs[0].out_dir / "report.json").read_text())
    assert report["counts"]["segments"] == runs[0].n_segments
