"""Frozen dataclasses holding read-only mappings (``types.MappingProxyType``) that still pickle.

The standard library cannot pickle a ``mappingproxy``, so a :class:`~s2label.Scene` or a
:class:`~s2label.Segmentation` could not travel to a ``ProcessPoolExecutor``'s workers. :class:`Picklable`
pickles such a dataclass as its constructor's arguments, with the mappings as plain dicts (the constructor
makes them read-only again).

Examples
--------
>>> import pickle
>>> import numpy as np
>>> from affine import Affine
>>> from rasterio.crs import CRS
>>> from s2label.segmentation.superpixels import Segmentation
>>> seg = Segmentation(np.ones((2, 2), np.int32), Affine.identity(), CRS.from_epsg(32630), {"segment_size": 4})
>>> back = pickle.loads(pickle.dumps(seg))
>>> back.params["segment_size"], type(back.params).__name__, bool((back.ids == seg.ids).all())
(4, 'mappingproxy', True)
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

__all__ = ["Picklable"]


class Picklable:
    """Mixin for frozen dataclasses: pickled as the constructor's arguments, read-only mappings as dicts."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        values = tuple(dict(v) if isinstance(v, MappingProxyType) else v
                       for v in (getattr(self, f.name) for f in dataclasses.fields(self)  # type: ignore[arg-type]
                                 if f.init))
        return type(self), values
