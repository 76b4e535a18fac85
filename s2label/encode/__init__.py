"""Segment encoders: spectral features (baseline), a self-supervised CNN, and a GNN over the segment graph."""

from __future__ import annotations

from typing import Any, Literal

from ..embeddings import Embeddings
from ..errors import S2LabelError
from ..features import spectral_features
from ..graph import SegmentGraph
from ..scene import Scene
from ..segment import Segmentation

__all__ = ["embed", "ENCODERS"]

#: Encoder names accepted by :func:`embed` and ``s2label run --encoder``.
ENCODERS: tuple[str, ...] = ("spectral",)


def embed(scene: Scene, segmentation: Segmentation, graph: SegmentGraph | None = None, *,
          encoder: Literal["spectral"] = "spectral", seed: int = 0, progress: bool = False,
          **options: Any) -> Embeddings:
    """One embedding vector per segment.

    Parameters
    ----------
    scene, segmentation, graph
        The pipeline's earlier stages (``graph`` is used by graph encoders).
    encoder : str
        ``"spectral"``: band means and standard deviations, NDVI, NDWI (:func:`s2label.features.spectral_features`).
    seed : int
        Random seed of trainable encoders.
    progress : bool
        Show progress bars.
    **options
        Passed to the encoder.

    Returns
    -------
    Embeddings
    """
    if encoder == "spectral":
        return spectral_features(scene, segmentation, **options)
    raise S2LabelError(f"unknown encoder {encoder!r}; use one of {', '.join(ENCODERS)}")
