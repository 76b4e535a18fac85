"""s2label: label Sentinel-2 imagery without labelled data, inside JupyterLab.

The pipeline (Jones, Redfern & Patel, arXiv 2508.00506) runs left to right, each stage a function returning
a frozen dataclass::

    read_scene -> segment -> build_graph -> embed -> cluster -> export
      Scene      Segmentation  SegmentGraph  Embeddings  Clustering   GeoJSON / GeoTIFF / GPKG

Examples
--------
>>> import s2label
>>> scene = s2label.sample_scene(window=((0, 128), (0, 128)))
>>> seg = s2label.segment(scene, segment_size=100)
>>> graph = s2label.build_graph(seg)
>>> emb = s2label.embed(scene, seg, graph, encoder="spectral")   # "cnn-gnn" is the default
>>> clusters = s2label.cluster(emb, min_cluster_size=5, reduce="pca")
>>> clusters.labels.shape == (seg.n_segments,)
True
"""

from ._version import __version__
from .batch import SceneRun, run_many
from .cluster import Clustering, SegmentClusterer, cluster
from .datasets import sample_scene, sample_scene_path
from .embeddings import Embeddings
from .encode import CNNConfig, GNNConfig, SegmentEncoder, embed, fit_embed, fit_encoder
from .errors import (
    BandError,
    ClusteringError,
    ModelError,
    OutputError,
    S2LabelError,
    S2LabelWarning,
    SceneError,
    SceneTooSmallError,
    SegmentationError,
    SessionError,
)
from .export import vectorize, write_geojson, write_geopackage, write_label_raster
from .graph import SegmentGraph, build_graph
from .io import read_scene, write_raster
from .launch import explore, load_run
from .model import SavedModel, load_model, save_model
from .pipeline import PipelineResult, run
from .scene import Scene
from .segment import Segmentation, segment
from .session import LabelSession
from .similar import Similarity, SimilarityIndex, find_similar

__all__ = [
    "__version__",
    # stages
    "read_scene", "segment", "build_graph", "embed", "fit_embed", "fit_encoder", "cluster", "find_similar", "run",
    "run_many", "SceneRun",
    # labelling in JupyterLab
    "explore", "load_run", "LabelSession",
    # objects
    "Scene", "Segmentation", "SegmentGraph", "Embeddings", "Clustering", "SegmentClusterer", "PipelineResult",
    "SegmentEncoder", "CNNConfig", "GNNConfig", "Similarity", "SimilarityIndex",
    # models
    "SavedModel", "save_model", "load_model",
    # data and export
    "sample_scene", "sample_scene_path", "vectorize", "write_geojson", "write_geopackage", "write_label_raster",
    "write_raster",
    # errors
    "S2LabelError", "SceneError", "BandError", "SceneTooSmallError", "SegmentationError", "ClusteringError",
    "ModelError", "OutputError", "SessionError", "S2LabelWarning",
]
