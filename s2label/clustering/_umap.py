"""Import UMAP with the numba code a run compiles kept in the environment's cache.

UMAP marks some of its numba functions ``cache=True`` but not the ones every fit compiles: the fuzzy
simplicial set (``smooth_knn_dist``, ``compute_membership_strengths``), the layout's epoch and, for small
inputs, the exact neighbour search. Each new process compiled them again, about 4 s of a run's clustering on
2 cores. :func:`import_umap` turns numba's on-disk cache on for them before their first call (what
``cache=True`` does at decoration), so they are compiled once per environment: by the warm-up at install
(:mod:`s2label.clustering.warmup`), or else by the first run.

Where numba can keep no cache (a read-only environment and no writable user cache folder), the functions stay
as they are and compile in each process, as before.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["import_umap", "CACHED_FUNCTIONS"]

#: (module, function) of UMAP's uncached numba functions that a fit or a 2-D projection compiles
CACHED_FUNCTIONS: tuple[tuple[str, str], ...] = (
    ("umap.umap_", "smooth_knn_dist"),
    ("umap.umap_", "compute_membership_strengths"),
    ("umap.layouts", "_optimize_layout_euclidean_single_epoch"),
    ("umap.utils", "fast_knn_indices"),
    ("umap.distances", "euclidean"),
)


def import_umap() -> ModuleType:
    """``import umap``, with :data:`CACHED_FUNCTIONS` kept in numba's cache.

    Returns
    -------
    module
        The ``umap`` package.

    Examples
    --------
    >>> umap = import_umap()
    >>> from umap.umap_ import smooth_knn_dist
    >>> type(smooth_knn_dist._cache).__name__
    'FunctionCache'
    """
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    umap = importlib.import_module("umap")
    for module_name, name in CACHED_FUNCTIONS:
        function = getattr(importlib.import_module(module_name), name, None)
        if isinstance(function, Dispatcher) and isinstance(function._cache, NullCache):
            try:
                function.enable_caching()
            except RuntimeError:  # numba found nowhere to write its cache: compile per process, as UMAP does
                pass
    return umap
