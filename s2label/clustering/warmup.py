"""Compile UMAP's and PyNNDescent's numba code once, at install, so a user's first run does not.

UMAP and PyNNDescent compile their numba functions on first use; those marked ``cache=True`` are then kept in
the package's ``__pycache__`` and reused by every later process. In a fresh environment the first clustering
therefore pays about 11 s more than the next ones (2 cores). ``make env`` and Binder's ``postBuild`` run
:func:`warm_up` once after installing, so that cost is paid at install and not in the first run.

Run:  python -m s2label.clustering.warmup
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["warm_up"]


def warm_up(n_segments: int = 5000, dim: int = 16, *, seed: int = 0) -> float:
    """Cluster random embeddings with UMAP + HDBSCAN once, as a run does; returns the seconds it took.

    The clusters themselves are thrown away; what is kept is the numba cache of UMAP and PyNNDescent (its
    nearest-neighbour search), which the test checks both fill.

    Parameters
    ----------
    n_segments, dim : int
        Size of the random embeddings.
    seed : int

    Returns
    -------
    float
        Wall seconds (about 20 s with nothing compiled yet, 10 s once the numba cache is filled, 2 cores).
    """
    import warnings

    from s2label.clustering.clusterer import cluster
    from s2label.encoders.embeddings import Embeddings
    from s2label.errors import S2LabelWarning

    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n_segments, dim)).astype(np.float32)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", S2LabelWarning)  # random vectors may well hold no cluster
        cluster(Embeddings(vectors, np.arange(1, n_segments + 1), "spectral"), reduce="umap", random_state=seed)
    return time.perf_counter() - t0


def main() -> int:
    print("s2label: compiling UMAP and PyNNDescent once (numba cache)...", file=sys.stderr, flush=True)
    seconds = warm_up()
    print(f"s2label: compiled in {seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
