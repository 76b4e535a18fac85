"""s2label: label Sentinel-2 imagery without labelled data, inside JupyterLab.

The pipeline (Patel, Jones & Redfern, arXiv 2508.00506) runs left to right, each stage a function returning
a frozen dataclass::

    read_scene -> segment -> build_graph -> embed -> cluster -> LabelSession -> export
      Scene      Segmentation  SegmentGraph  Embeddings  Clustering   (edits)     GeoJSON / GeoTIFF / GPKG

The top level holds what the README uses; the rest lives in the subpackages, one per layer: :mod:`s2label.io`,
:mod:`s2label.segmentation`, :mod:`s2label.encoders`, :mod:`s2label.clustering`, :mod:`s2label.display`,
:mod:`s2label.session`, :mod:`s2label.widget`, :mod:`s2label.evaluation` and :mod:`s2label.pipeline`. Everything
loads on first use, so ``import s2label`` is quick and imports neither torch nor the widgets.

Examples
--------
>>> import s2label
>>> scene = s2label.sample_scene(window=((0, 128), (0, 128)))
>>> seg = s2label.segment(scene, segment_size=100)
>>> graph = s2label.build_graph(seg)
>>> emb = s2label.embed(scene, seg, graph, encoder="spectral")   # "cnn-gnn" is the default
>>> clusters = s2label.cluster(emb, min_cluster_size=5, reduce="pca")
>>> clusters.cluster.shape == (seg.n_segments,)
True
"""

import importlib as _importlib
import warnings as _warnings

import lazy_loader as _lazy

from s2label._moved import install as _install_moved
from s2label._version import __version__ as __version__

# the names and subpackages are listed in __init__.pyi (for type checkers too), loaded on first use
_lazy_getattr, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)

#: Names the top level held before 0.2, where they live now; they still work, with a FutureWarning, until 0.3.
DEPRECATED = {
    "sample_scene_path": "s2label.io.datasets",
    "fit_embed": "s2label.encoders.encoder",
    "fit_encoder": "s2label.encoders.encoder",
    "SegmentEncoder": "s2label.encoders.encoder",
    "SegmentClusterer": "s2label.clustering.clusterer",
    "SceneRun": "s2label.pipeline.batch",
    "Similarity": "s2label.clustering.similar",
    "SimilarityIndex": "s2label.clustering.similar",
    "SavedModel": "s2label.pipeline.model",
    "save_model": "s2label.pipeline.model",
    "vectorize": "s2label.segmentation.export",
    "write_geojson": "s2label.segmentation.export",
    "write_geopackage": "s2label.segmentation.export",
    "write_label_raster": "s2label.segmentation.export",
    "write_raster": "s2label.io.write",
    "BandError": "s2label.errors",
    "ClusteringError": "s2label.errors",
    "ModelError": "s2label.errors",
    "OutputError": "s2label.errors",
    "SceneError": "s2label.errors",
    "SceneTooSmallError": "s2label.errors",
    "SegmentationError": "s2label.errors",
    "SessionError": "s2label.errors",
}


def __getattr__(name: str):
    if name in DEPRECATED:
        where = DEPRECATED[name]
        _warnings.warn(f"s2label.{name} moved to {where}.{name}; the old name goes in s2label 0.3",
                       FutureWarning, stacklevel=2)
        return getattr(_importlib.import_module(where), name)
    return _lazy_getattr(name)


_install_moved()
