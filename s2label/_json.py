"""Turn parameters and results into plain JSON values (one place for numpy scalars, paths, NaN)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """A copy of ``obj`` with mappings, sequences, numpy values and paths made JSON-friendly.

    Non-finite floats become ``None`` (JSON has no NaN).

    Examples
    --------
    >>> import numpy as np, pathlib
    >>> to_jsonable({"a": np.int64(3), 1: (np.float32(0.5), float("nan")), "p": pathlib.Path("x")})
    {'a': 3, '1': [0.5, None], 'p': 'x'}
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
