"""``s2label.clustering.warmup``: UMAP's and PyNNDescent's numba code compiled once, at install."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_warm_up_fills_the_numba_cache_of_umap_and_pynndescent(tmp_path):
    # numba writes its cache where NUMBA_CACHE_DIR says: an empty folder shows what the warm-up compiled
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-m", "s2label.clustering.warmup"], env=env, capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    assert "compiled in" in done.stderr
    cached = {p.name.split(".")[0] for p in (tmp_path / "cache").rglob("*.nbi")}
    # PyNNDescent's nearest-neighbour search and UMAP's own layout code (with reduce='pca' neither is there)
    assert any("pynndescent" in str(p) for p in (tmp_path / "cache").rglob("*.nbi")), cached
    assert any("umap" in str(p) for p in (tmp_path / "cache").rglob("*.nbi")), cached
    # and UMAP's functions it leaves uncached itself, which s2label turns the cache on for (import_umap)
    names = {p.name for p in (tmp_path / "cache").rglob("*.nbi")}
    for function in ("smooth_knn_dist", "compute_membership_strengths"):
        assert any(function in name for name in names), names
