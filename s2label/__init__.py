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

from s2label._version import __version__
from s2label.clustering.clusterer import Clustering, SegmentClusterer, cluster
from s2label.clustering.similar import Similarity, SimilarityIndex, find_similar
from s2label.encoders.embeddings import Embeddings
from s2label.encoders.encoder import CNNConfig, GNNConfig, SegmentEncoder, embed, fit_embed, fit_encoder
from s2label.errors import (
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
from s2label.io import read_scene, write_raster
from s2label.io.datasets import sample_scene, sample_scene_path
from s2label.io.scene import Scene
from s2label.pipeline.batch import SceneRun, run_many
from s2label.pipeline.launch import explore, load_run
from s2label.pipeline.model import SavedModel, load_model, save_model
from s2label.pipeline.runner import PipelineResult, run
from s2label.segmentation.export import vectorize, write_geojson, write_geopackage, write_label_raster
from s2label.segmentation.graph import SegmentGraph, build_graph
from s2label.segmentation.superpixels import Segmentation, segment
from s2label.session.label_session import LabelSession

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
