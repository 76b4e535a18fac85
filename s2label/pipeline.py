"""The whole headless pipeline: read → segment → graph → embed → cluster → write the outputs.

The files written follow the output contract of ``s2label run`` (see the README): ``segments.tif``,
``clusters.tif``, ``clusters.geojson``, ``embeddings.npz`` and ``report.json``.
"""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._atomic import atomic_path, ensure_writable_dir, write_json_atomic
from ._json import to_jsonable
from ._profiling import Profiler, peak_rss_mb
from ._version import __version__
from .cluster import Clustering, cluster, predict_clustering
from .embeddings import Embeddings
from .encode import CNNConfig, GNNConfig, SegmentEncoder, fit_embed
from .errors import ModelError
from .export import vectorize, write_geojson, write_geopackage, write_label_raster
from .graph import SegmentGraph, build_graph
from .io.read import read_scene
from .io.write import write_raster
from .model import SavedModel, load_model, save_model
from .scene import Scene
from .segment import Segmentation, segment

__all__ = ["PipelineResult", "run", "write_outputs", "OUTPUT_FILES"]

#: Files every run writes into its output folder.
OUTPUT_FILES = ("segments.tif", "clusters.tif", "clusters.geojson", "embeddings.npz", "report.json", "model")


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """Everything one run produced.

    Attributes
    ----------
    scene, segmentation, graph, embeddings, clustering
        The stage outputs.
    report : dict
        Parameters, seed, per-stage seconds and peak memory, counts (what ``report.json`` holds).
    out_dir : Path or None
        Where the outputs were written.
    encoder : SegmentEncoder or None
        The fitted encoder (saved in ``out_dir/model`` with the clusterer).
    segmentation_params : dict
        The :func:`s2label.segment` arguments used.
    """

    scene: Scene
    segmentation: Segmentation
    graph: SegmentGraph
    embeddings: Embeddings
    clustering: Clustering
    report: dict[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None
    encoder: SegmentEncoder | None = None
    segmentation_params: dict[str, Any] = field(default_factory=dict)

    def segment_labels(self, *, assign_noise: bool = False) -> np.ndarray:
        """(N,) cluster of each segment; with ``assign_noise`` noise gets its nearest cluster."""
        return self.clustering.labels_noise_assigned() if assign_noise else self.clustering.labels.copy()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def run(
    scene: Scene | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str] | None = None,
    encoder: str = "cnn-gnn",
    model: SavedModel | str | os.PathLike[str] | None = None,
    segment_size: int = 200,
    compactness: float = 0.1,
    segmentation_method: str = "slic",
    min_cluster_size: int | None = None,
    reduce: str = "umap",
    seed: int = 0,
    read_options: Mapping[str, Any] | None = None,
    cnn: CNNConfig | None = None,
    gnn: GNNConfig | None = None,
    cluster_options: Mapping[str, Any] | None = None,
    device: str = "auto",
    num_threads: int | None = None,
    gpkg: bool = False,
    progress: bool = True,
) -> PipelineResult:
    """Run the pipeline on a scene and (optionally) write its outputs.

    Parameters
    ----------
    scene : Scene or path-like or list of path-like
        A scene already read, or anything :func:`s2label.read_scene` accepts.
    out : path-like, optional
        Output folder (created if needed); nothing is written when omitted. The model is saved in ``out/model``.
    encoder : {"cnn-gnn", "cnn", "spectral"}
        See :func:`s2label.embed`.
    model : SavedModel or path-like, optional
        A saved model (``DIR/model`` of an earlier run): its networks embed this scene without retraining, its
        segmentation settings are used, and segments are assigned to its clusters. ``encoder``,
        ``segment_size``, ``compactness``, ``segmentation_method`` and the clustering settings are then ignored.
    segment_size : int
        Target segment size in pixels.
    compactness : float
        SLIC compactness on standardised bands.
    segmentation_method : {"slic", "felzenszwalb"}
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster (default: 1 % of the segments).
    reduce : {"umap", "pca", "none"}
        Reduction before HDBSCAN.
    seed : int
        Seeds Python, NumPy, torch and UMAP.
    read_options : mapping, optional
        Passed to :func:`read_scene`.
    cnn, gnn : CNNConfig, GNNConfig, optional
        Encoder hyper-parameters.
    cluster_options : mapping, optional
        More keyword arguments of :func:`s2label.cluster.cluster`.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    num_threads : int, optional
        torch threads.
    gpkg : bool
        Also write ``clusters.gpkg`` (scene CRS).
    progress : bool
        Show a progress bar over the stages (and inside long stages).

    Returns
    -------
    PipelineResult

    Examples
    --------
    >>> from s2label.datasets import sample_scene
    >>> result = run(sample_scene(window=((0, 200), (0, 200))), encoder="spectral", reduce="pca", progress=False)
    >>> result.segmentation.n_segments > 100, result.clustering.labels.shape == (result.graph.num_nodes,)
    (True, True)
    """
    if out is not None:
        out = ensure_writable_dir(out)
    if model is not None and not isinstance(model, SavedModel):
        model = load_model(model, device=device, num_threads=num_threads)
    _seed_everything(seed)
    prof = Profiler()
    stages = ["read", "segment", "graph", "train" if model is None else "embed", "cluster"]
    stages += ["export"] if out is not None else []
    bar = tqdm(total=len(stages), desc="s2label", disable=not progress, unit="stage")

    def step(name: str) -> Any:
        bar.set_postfix_str(name)
        return prof.stage(name)

    read_opts = dict(read_options or {})
    if model is not None and "bands" not in read_opts:
        read_opts["bands"] = list(model.bands)
    seg_params: dict[str, Any] = ({"method": segmentation_method, "segment_size": segment_size,
                                   "compactness": compactness} if model is None else dict(model.segmentation))
    try:
        with step("read"):
            if not isinstance(scene, Scene):
                scene = read_scene(scene, progress=progress, **read_opts)
            elif model is not None:
                scene = scene.select(model.bands) if set(model.bands) <= set(scene.bands) else scene
        bar.update()
        with step("segment"):
            seg = segment(scene, **seg_params)
        bar.update()
        with step("graph"):
            graph = build_graph(seg)
        bar.update()
        if model is None:
            with step("train"):  # trains the networks and embeds this scene's segments with them
                fitted, emb = fit_embed(scene, seg, graph, encoder=encoder, seed=seed,  # type: ignore[arg-type]
                                        cnn=cnn, gnn=gnn, device=device, num_threads=num_threads,
                                        progress=progress)
        else:
            fitted = model.encoder
            _check_model_bands(model, scene)
            with step("embed"):
                emb = fitted.encode(scene, seg, graph, progress=progress)
        bar.update()
        with step("cluster"):
            if model is None:
                options: dict[str, Any] = {"min_cluster_size": min_cluster_size, "reduce": reduce,
                                           "random_state": seed}
                options.update(cluster_options or {})
                clus = cluster(emb, **options)
            else:
                clus = predict_clustering(model.clusterer, emb)
        bar.update()
        params = {"encoder": fitted.kind, "segmentation": dict(seg.params), "segment_size": seg_params.get(
                  "segment_size"), "encoder_params": to_jsonable(dict(emb.params)),
                  "cluster_params": to_jsonable(dict(clus.params)), "read_options": to_jsonable(read_opts),
                  "model": str(model.path) if model is not None else None,
                  "train_seconds": {k: round(v, 3) for k, v in fitted.timings.items()}}
        result = PipelineResult(scene, seg, graph, emb, clus, out_dir=Path(out) if out is not None else None,
                                encoder=fitted, segmentation_params=seg_params)
        result.report.update(_report(result, params, seed, prof))
        if out is not None:
            with step("export"):
                write_outputs(result, Path(out), gpkg=gpkg)
                assert clus.model is not None
                save_model(Path(out) / "model", fitted, clus.model, segmentation=seg_params,
                           extra={"trained_on": scene.source, "seed": seed,
                                  "reused_from": str(model.path) if model is not None else None})
            bar.update()
            result.report["stages"] = prof.as_dict()
            result.report["peak_memory_mb"] = round(peak_rss_mb(), 1)
            write_json_atomic(Path(out) / "report.json", result.report)
    finally:
        bar.close()
    return result


def _check_model_bands(model: SavedModel, scene: Scene) -> None:
    if tuple(scene.bands) != tuple(model.bands):
        raise ModelError(f"the model was trained on bands {', '.join(model.bands)}; the scene has "
                         f"{', '.join(scene.bands)}", path=model.path)


def _report(result: PipelineResult, params: dict[str, Any], seed: int, prof: Profiler) -> dict[str, Any]:
    scene, seg, graph, clus = result.scene, result.segmentation, result.graph, result.clustering
    return {
        "s2label_version": __version__,
        "python": platform.python_version(),
        "scene": {"source": scene.source, "bands": list(scene.bands), "shape": list(scene.shape),
                  "crs": scene.crs.to_string(), "transform": list(scene.transform)[:6],
                  "valid_fraction": round(float(scene.valid.mean()), 6), "read": to_jsonable(dict(scene.meta))},
        "params": to_jsonable(params),
        "seed": seed,
        "stages": prof.as_dict(),
        "peak_memory_mb": round(peak_rss_mb(), 1),
        "counts": {
            "pixels": int(scene.valid.size), "valid_pixels": int(scene.valid.sum()),
            "segments": seg.n_segments, "edges": graph.num_edges, "isolated_segments": int(graph.isolated().size),
            "embedding_dim": result.embeddings.dim, "noise_segments": int((clus.labels < 0).sum()),
            **clus.summary(),
        },
    }


def write_outputs(result: PipelineResult, out_dir: Path, *, names: Mapping[int, str] | None = None,
                  gpkg: bool = False) -> list[Path]:
    """Write the contract files (all but ``report.json``) of a run into ``out_dir``.

    ``clusters.tif`` keeps noise as -1; in ``clusters.geojson`` every noise segment joins the cluster of its
    nearest non-noise segment in embedding space, and each feature counts them in ``n_noise_segments``
    so they can be reviewed.
    """
    out_dir = ensure_writable_dir(out_dir)
    seg, clus, emb = result.segmentation, result.clustering, result.embeddings
    raw = clus.labels
    assigned = clus.labels_noise_assigned()
    written = [
        write_raster(out_dir / "segments.tif", seg.labels, transform=seg.transform, crs=seg.crs, nodata=0),
        write_label_raster(out_dir / "clusters.tif", seg, raw, names=names),
    ]
    if clus.n_clusters:
        noise_per_cluster = np.bincount(assigned[raw < 0], minlength=clus.n_clusters)
        extra = {int(c): {"n_noise_segments": int(noise_per_cluster[c])} for c in range(clus.n_clusters)}
        polygons = vectorize(seg, assigned, names=names, extra_properties=extra, include_noise=False)
    else:  # everything is noise: export it as such rather than an empty file
        polygons = vectorize(seg, raw, names=names, include_noise=True)
    written.append(write_geojson(out_dir / "clusters.geojson", polygons))
    if gpkg:
        written.append(write_geopackage(out_dir / "clusters.gpkg", polygons, layer="clusters"))
    with atomic_path(out_dir / "embeddings.npz") as tmp:
        np.savez_compressed(tmp, vectors=emb.vectors, segment_ids=emb.segment_ids, cluster=raw,
                            cluster_assigned=assigned, probabilities=clus.probabilities,
                            outlier_scores=clus.outlier_scores, method=np.array(emb.method))
    written.append(out_dir / "embeddings.npz")
    return written
