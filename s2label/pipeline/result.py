"""The result of a pipeline run: the scene, its segments, graph, embeddings and clusters, and the run's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from s2label._renamed import renamed_attribute
from s2label.clustering.clusterer import Clustering
from s2label.encoders.embeddings import Embeddings
from s2label.encoders.encoder import SegmentEncoder
from s2label.io.scene import Scene
from s2label.segmentation.graph import SegmentGraph
from s2label.segmentation.superpixels import Segmentation

__all__ = ["PipelineResult"]


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """Everything one run produced.

    Attributes
    ----------
    scene : Scene or None
        The scene; None after a tiled run (``tile_size``), which never holds the whole scene.
    segmentation, graph, embeddings, clustering
        The stage outputs.
    report : dict
        Parameters, seed, per-stage seconds and peak memory, counts (what ``report.json`` holds).
    out_dir : Path or None
        Where the outputs were written.
    encoder : SegmentEncoder or None
        The fitted encoder (saved in ``out_dir/model`` with the clusterer).
    segmentation_params : dict
        The :func:`s2label.segment` arguments used.
    spectra : ndarray (N, C) or None
        Mean reflectance of each segment (kept by tiled runs; see :meth:`segment_spectra`).
    bands : tuple of str
        The scene's bands.
    """

    scene: Scene | None
    segmentation: Segmentation
    graph: SegmentGraph
    embeddings: Embeddings
    clustering: Clustering
    report: dict[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None
    encoder: SegmentEncoder | None = None
    segmentation_params: dict[str, Any] = field(default_factory=dict)
    spectra: np.ndarray | None = None
    bands: tuple[str, ...] = ()

    def segment_spectra(self) -> np.ndarray:
        """(N, C) mean reflectance of every band over each segment (``bands`` order)."""
        if self.spectra is not None:
            return self.spectra
        assert self.scene is not None
        from s2label.encoders.spectral import segment_stats

        return segment_stats(self.scene.data, self.segmentation.ids, self.segmentation.n_segments)[0]

    def cluster_of_segment(self, *, assign_noise: bool = False) -> np.ndarray:
        """(N,) cluster of each segment; with ``assign_noise`` noise gets its nearest cluster."""
        return self.clustering.cluster_noise_assigned() if assign_noise else self.clustering.cluster.copy()

    segment_labels = renamed_attribute("cluster_of_segment", "PipelineResult.segment_labels")
