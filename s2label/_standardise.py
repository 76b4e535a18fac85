"""Standardisation, written once: zero mean and unit spread along an axis; a column without spread is only centred.

Bands before SLIC and the U-Net, CNN features before the GNN, embeddings before the reduction and HDBSCAN, and
embeddings before a find-similar query are all standardised with :func:`spread` and :func:`standardise`. A
column whose standard deviation is below :data:`FLAT` (constant, up to rounding) is divided by 1, not by its
rounding noise.

Examples
--------
>>> import numpy as np
>>> x = np.array([[1.0, 5.0], [3.0, 5.0]])
>>> mean, std = spread(x)
>>> mean.tolist(), std.tolist()
([2.0, 5.0], [1.0, 1.0])
>>> standardise(x, mean, std).tolist()
[[-1.0, 0.0], [1.0, 0.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FLAT", "spread", "flat_to_one", "standardise"]

#: A standard deviation below this is taken for no spread at all (the column is centred, not scaled).
FLAT = 1e-6


def spread(x: np.ndarray, axis: int = 0, *, dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation along ``axis`` (computed in ``dtype``, default ``x``'s), flat ones set to 1.

    Parameters
    ----------
    x : ndarray
    axis : int
        The axis the statistics are taken over (0: per column of an (N, D) array; 1: per band of (C, P) pixels).
    dtype : numpy dtype, optional
        Accumulate in this precision (e.g. ``np.float64`` for float32 pixels).

    Returns
    -------
    mean, std : ndarray
        ``x``'s shape without ``axis``; ``std`` is 1 where it was below :data:`FLAT`.
    """
    values = np.asarray(x)
    mean = values.mean(axis=axis, dtype=dtype)
    std = values.std(axis=axis, dtype=dtype)
    return mean, flat_to_one(std)


def flat_to_one(std: np.ndarray) -> np.ndarray:
    """``std`` with the values below :data:`FLAT` replaced by 1 (same dtype)."""
    std = np.asarray(std)
    return np.where(std < FLAT, 1, std).astype(std.dtype, copy=False)


def standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray, *, dtype: Any = np.float32) -> np.ndarray:
    """``(x - mean) / std`` as a C-contiguous ``dtype`` array (statistics broadcast against ``x``)."""
    return np.ascontiguousarray((np.asarray(x) - mean) / std, dtype=dtype)
