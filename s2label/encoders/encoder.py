"""Segment encoders: spectral features (baseline), a self-supervised CNN, and a GNN over the segment graph.

:func:`fit_encoder` trains an encoder on a scene and returns a :class:`SegmentEncoder` that embeds this or any
other scene with the same bands without retraining; :func:`embed` does both in one call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from s2label._renamed import renamed_attribute
from s2label.encoders.cnn import CNNConfig, CNNEncoder, pool_segments, train_cnn
from s2label.encoders.embeddings import Embeddings
from s2label.encoders.gnn import GNNConfig, GNNModel, train_gnn
from s2label.encoders.spectral import spectral_features
from s2label.errors import S2LabelError, SegmentationError
from s2label.io.scene import Scene
from s2label.segmentation.graph import SegmentGraph, build_graph
from s2label.segmentation.superpixels import Segmentation

__all__ = ["embed", "fit_embed", "fit_encoder", "SegmentEncoder", "ENCODERS", "CNNConfig", "GNNConfig"]

#: Encoder names accepted by :func:`embed` and ``s2label run --encoder``.
ENCODERS: tuple[str, ...] = ("cnn-gnn", "cnn", "spectral")
EncoderName = Literal["cnn-gnn", "cnn", "spectral"]


@dataclass(eq=False)
class SegmentEncoder:
    """A fitted segment encoder: what turns (scene, segmentation, graph) into embedding vectors.

    Attributes
    ----------
    encoder : {"cnn-gnn", "cnn", "spectral"}
        Which encoder (``kind`` before 0.2, an alias until 0.3).
    bands : tuple of str
        Bands the encoder needs.
    cnn : CNNEncoder or None
    gnn : GNNModel or None
    device : str
    num_threads : int or None
    """

    encoder: str
    bands: tuple[str, ...]
    cnn: CNNEncoder | None = None
    gnn: GNNModel | None = None
    device: str = "auto"
    num_threads: int | None = None

    kind = renamed_attribute("encoder", "SegmentEncoder.kind")
    timings: dict[str, float] = field(default_factory=dict)

    def fit_cnn(self, scene: Scene, *, config: CNNConfig | None = None, seed: int = 0,
                progress: bool = False) -> CNNEncoder:
        """Train the U-Net on ``scene`` (the whole scene, or a sample of it) without labels; kept in ``cnn``."""
        t0 = time.perf_counter()
        self.cnn = train_cnn(scene, config=config, seed=seed, device=self.device, num_threads=self.num_threads,
                             progress=progress)
        self.timings["train_cnn"] = time.perf_counter() - t0
        return self.cnn

    def fit_gnn(self, x: np.ndarray, graph: SegmentGraph, *, config: GNNConfig | None = None, seed: int = 0,
                progress: bool = False) -> GNNModel:
        """Train the GNN on pooled CNN features ``x`` (N, F) over ``graph`` without labels; kept in ``gnn``."""
        t0 = time.perf_counter()
        self.gnn = train_gnn(x, graph, config=config, seed=seed, device=self.device, num_threads=self.num_threads,
                             progress=progress)
        self.timings["train_gnn"] = time.perf_counter() - t0
        return self.gnn

    def cnn_features(self, scene: Scene, segmentation: Segmentation, *, progress: bool = False) -> np.ndarray:
        """The U-Net's features of ``scene`` pooled over each segment: (N, F) float32."""
        if segmentation.shape != scene.shape:
            raise SegmentationError(f"segmentation {segmentation.shape} is not on the scene's grid {scene.shape}")
        assert self.cnn is not None
        t0 = time.perf_counter()
        fmap = self.cnn.feature_map(scene, device=self.device, num_threads=self.num_threads, progress=progress)
        x = pool_segments(fmap, segmentation, std=self.cnn.config.pool_std)
        del fmap
        self.timings["cnn_features"] = time.perf_counter() - t0
        return x

    def encode(self, scene: Scene, segmentation: Segmentation, graph: SegmentGraph | None = None, *,
               progress: bool = False) -> Embeddings:
        """Embed every segment of ``scene`` with the fitted networks (no training)."""
        if segmentation.shape != scene.shape:
            raise SegmentationError(f"segmentation {segmentation.shape} is not on the scene's grid {scene.shape}")
        if self.encoder == "spectral":
            _check_bands(self.bands, scene)
            return spectral_features(scene.select(self.bands), segmentation)
        return self.embeddings_from_cnn(self.cnn_features(scene, segmentation, progress=progress), segmentation,
                                        graph)

    def embeddings_from_cnn(self, x: np.ndarray, segmentation: Segmentation,
                            graph: SegmentGraph | None) -> Embeddings:
        """Finish embedding from pooled CNN features ``x`` (N, F): the GNN part for ``"cnn-gnn"``."""
        assert self.cnn is not None
        params: dict[str, Any] = {"cnn": self.cnn.config_dict()["config"], "bands": list(self.bands)}
        vectors = x
        if self.encoder == "cnn-gnn":
            assert self.gnn is not None
            graph = graph if graph is not None else build_graph(segmentation)
            vectors = self.gnn.transform(x, graph, device=self.device, num_threads=self.num_threads)
            params["gnn"] = self.gnn.config_dict()["config"]
        return Embeddings(vectors, segmentation.segment_ids, self.encoder, params)


def _check_bands(bands: tuple[str, ...], scene: Scene) -> None:
    lacking = [b for b in bands if b not in scene.bands]
    if lacking:
        raise S2LabelError(f"the encoder needs band(s) {', '.join(lacking)}, which the scene lacks "
                           f"(it has {', '.join(scene.bands)})", path=scene.source or None)


def fit_embed(scene: Scene, segmentation: Segmentation, graph: SegmentGraph | None = None, *,
              encoder: EncoderName = "cnn-gnn", seed: int = 0, cnn: CNNConfig | None = None,
              gnn: GNNConfig | None = None, device: str = "auto", num_threads: int | None = None,
              progress: bool = False) -> tuple[SegmentEncoder, Embeddings]:
    """Train an encoder on ``scene`` without labels and embed the scene's segments with it.

    Parameters
    ----------
    scene, segmentation, graph
        The earlier pipeline stages (``graph`` is built if omitted and needed).
    encoder : {"cnn-gnn", "cnn", "spectral"}
    seed : int
        Seeds the CNN and the GNN; on CPU the same seed gives the same embeddings.
    cnn, gnn : CNNConfig, GNNConfig, optional
        Hyper-parameters.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    num_threads : int, optional
        torch threads.
    progress : bool

    Returns
    -------
    encoder : SegmentEncoder
        Applies to other scenes with the same bands (:meth:`SegmentEncoder.encode`).
    embeddings : Embeddings
        Of this scene's segments (the same as ``encoder.encode(scene, segmentation, graph)``).
    """
    if encoder not in ENCODERS:
        raise S2LabelError(f"unknown encoder {encoder!r}; use one of {', '.join(ENCODERS)}")
    if segmentation.shape != scene.shape:
        raise SegmentationError(f"segmentation {segmentation.shape} is not on the scene's grid {scene.shape}")
    fitted = SegmentEncoder(encoder, scene.bands, device=device, num_threads=num_threads)
    if encoder == "spectral":
        return fitted, fitted.encode(scene, segmentation, graph)
    fitted.fit_cnn(scene, config=cnn, seed=seed, progress=progress)
    x = fitted.cnn_features(scene, segmentation, progress=progress)
    if encoder == "cnn-gnn":
        graph = graph if graph is not None else build_graph(segmentation)
        fitted.fit_gnn(x, graph, config=gnn, seed=seed, progress=progress)
    return fitted, fitted.embeddings_from_cnn(x, segmentation, graph)


def fit_encoder(scene: Scene, segmentation: Segmentation, graph: SegmentGraph | None = None, *,
                encoder: EncoderName = "cnn-gnn", seed: int = 0, **options: Any) -> SegmentEncoder:
    """Train an encoder on ``scene`` without labels; see :func:`fit_embed` for the arguments.

    Parameters
    ----------
    scene, segmentation, graph
        The earlier pipeline stages (``graph`` is built if omitted and needed).
    encoder : {"cnn-gnn", "cnn", "spectral"}
    seed : int
        Seeds the CNN and the GNN.
    **options
        The other keywords of :func:`fit_embed` (``cnn``, ``gnn``, ``device``, ``num_threads``, ``progress``).

    Returns
    -------
    SegmentEncoder
        The trained encoder (:func:`fit_embed`'s first result).
    """
    return fit_embed(scene, segmentation, graph, encoder=encoder, seed=seed, **options)[0]


def embed(scene: Scene, segmentation: Segmentation, graph: SegmentGraph | None = None, *,
          encoder: EncoderName = "cnn-gnn", seed: int = 0, progress: bool = False,
          model: SegmentEncoder | None = None, **options: Any) -> Embeddings:
    """One embedding vector per segment.

    Parameters
    ----------
    scene, segmentation, graph
        The pipeline's earlier stages (``graph`` is used by ``"cnn-gnn"``; built if omitted).
    encoder : {"cnn-gnn", "cnn", "spectral"}
        ``"spectral"``: band means and standard deviations, NDVI, NDWI; ``"cnn"``: pooled activations of a U-Net
        trained on the scene without labels; ``"cnn-gnn"``: those plus a graph neural network over the
        segment graph (own features beside the aggregated neighbourhood).
    seed : int
    progress : bool
    model : SegmentEncoder, optional
        A fitted encoder to apply instead of training one (``encoder`` is then ignored).
    **options
        ``cnn=CNNConfig(...)``, ``gnn=GNNConfig(...)``, ``device``, ``num_threads``, passed to :func:`fit_encoder`.

    Returns
    -------
    Embeddings

    Examples
    --------
    >>> import s2label
    >>> scene = s2label.sample_scene(window=((0, 96), (0, 96)), bands=["B02", "B03", "B04", "B08"])
    >>> seg = s2label.segment(scene, segment_size=64)
    >>> emb = embed(scene, seg, encoder="cnn", cnn=CNNConfig(steps=2, tile=32, features=8))
    >>> emb.vectors.shape == (seg.n_segments, 8)
    True
    """
    if model is None:
        return fit_embed(scene, segmentation, graph, encoder=encoder, seed=seed, progress=progress, **options)[1]
    return model.encode(scene, segmentation, graph, progress=progress)
