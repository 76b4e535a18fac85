"""The :class:`Embeddings` object: one vector per segment, from any encoder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from s2label._renamed import renamed_attribute
from s2label.errors import ClusteringError

__all__ = ["Embeddings"]


@dataclass(frozen=True, eq=False)
class Embeddings:
    """Segment embedding vectors.

    Attributes
    ----------
    vectors : ndarray, shape (N, D), float32
        Row ``i`` describes segment ``segment_ids[i]``.
    segment_ids : ndarray, shape (N,), int32
        Segment ids (1..N for a whole segmentation).
    encoder : str
        Encoder that produced them (``"spectral"``, ``"cnn"``, ``"cnn-gnn"``; ``method`` before 0.2, an alias
        until 0.3).
    params : Mapping
        Encoder settings, recorded for reports and reuse.
    feature_names : tuple of str
        Name of each of the D columns when they have one (spectral features), else empty.

    Examples
    --------
    >>> import numpy as np
    >>> e = Embeddings(np.zeros((3, 2)), np.array([1, 2, 3]), "spectral")
    >>> e.vectors.dtype, e.n, e.dim
    (dtype('float32'), 3, 2)
    """

    vectors: np.ndarray
    segment_ids: np.ndarray
    encoder: str
    params: Mapping[str, Any] = field(default_factory=dict)
    feature_names: tuple[str, ...] = ()

    method = renamed_attribute("encoder", "Embeddings.method")

    def __post_init__(self) -> None:
        vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        ids = np.asarray(self.segment_ids, dtype=np.int32)
        if vectors.ndim != 2:
            raise ClusteringError(f"embedding vectors must be (N, D), got shape {vectors.shape}")
        if ids.shape != (vectors.shape[0],):
            raise ClusteringError(f"{ids.shape[0]} segment ids for {vectors.shape[0]} vectors")
        if self.feature_names and len(self.feature_names) != vectors.shape[1]:
            raise ClusteringError(f"{len(self.feature_names)} feature names for {vectors.shape[1]} columns")
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "segment_ids", ids)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def n(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __repr__(self) -> str:
        return f"Embeddings({self.n} segments x {self.dim} dimensions, encoder={self.encoder!r})"
