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
from ._profiling import Profiler, peak_rss_mb
from ._version import __version__
from .cluster import Clustering, cluster
from .embeddings import Embeddings
from .encode import embed
from .export import vectorize, write_geojson, write_geopackage, write_label_raster
from .graph import SegmentGraph, build_graph
from .io.read import read_scene
from .io.write import write_raster
from .scene import Scene
from .segment import Segmentation, segment

__all__ = ["PipelineResult", "run", "write_outputs", "OUTPUT_FILES"]

#: Files every run writes into its output folder.
OUTPUT_FILES = ("segments.tif", "clusters.tif", "clusters.geojson", "embeddings.npz", "report.json")


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
    """

    scene: Scene
    segmentation: Segmentation
    graph: SegmentGraph
    embeddings: Embeddings
    clustering: Clustering
    report: dict[str, Any] = field(default_factory=dict)
    out_dir: Path | None = None

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
    encoder: str = "spectral",
    segment_size: int = 200,
    compactness: float = 0.1,
    segmentation_method: str = "slic",
    min_cluster_size: int | None = None,
    seed: int = 0,
    read_options: Mapping[str, Any] | None = None,
    encoder_options: Mapping[str, Any] | None = None,
    cluster_options: Mapping[str, Any] | None = None,
    gpkg: bool = False,
    progress: bool = True,
) -> PipelineResult:
    """Run the pipeline on a scene and (optionally) write its outputs.

    Parameters
    ----------
    scene : Scene or path-like or list of path-like
        A scene already read, or anything :func:`s2label.read_scene` accepts.
    out : path-like, optional
        Output folder (created if needed); nothing is written when omitted.
    encoder : str
        See :func:`s2label.embed`.
    segment_size : int
        Target segment size in pixels.
    compactness : float
        SLIC compactness on standardised bands.
    segmentation_method : {"slic", "felzenszwalb"}
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster (default: relative to the number of segments).
    seed : int
        Seeds Python, NumPy and torch.
    read_options, encoder_options, cluster_options : mapping, optional
        Passed to :func:`read_scene`, :func:`embed`, :func:`s2label.cluster.cluster`.
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
    >>> result = run(sample_scene(window=((0, 200), (0, 200))), progress=False)
    >>> result.segmentation.n_segments > 100, result.clustering.labels.shape == (result.graph.num_nodes,)
    (True, True)
    """
    if out is not None:
        out = ensure_writable_dir(out)
    _seed_everything(seed)
    prof = Profiler()
    stages = ["read", "segment", "graph", "embed", "cluster"] + (["export"] if out is not None else [])
    bar = tqdm(total=len(stages), desc="s2label", disable=not progress, unit="stage")

    def step(name: str) -> Any:
        bar.set_postfix_str(name)
        return prof.stage(name)

    try:
        with step("read"):
            if not isinstance(scene, Scene):
                scene = read_scene(scene, progress=progress, **dict(read_options or {}))
        bar.update()
        with step("segment"):
            seg = segment(scene, method=segmentation_method, segment_size=segment_size,  # type: ignore[arg-type]
                          compactness=compactness)
        bar.update()
        with step("graph"):
            graph = build_graph(seg)
        bar.update()
        with step("embed"):
            emb = embed(scene, seg, graph, encoder=encoder, seed=seed, progress=progress,  # type: ignore[arg-type]
                        **dict(encoder_options or {}))
        bar.update()
        with step("cluster"):
            clus = cluster(emb, min_cluster_size=min_cluster_size, random_state=seed, **dict(cluster_options or {}))
        bar.update()
        params = {"encoder": encoder, "segment_size": segment_size, "compactness": compactness,
                  "segmentation_method": segmentation_method, "segmentation": dict(seg.params),
                  "encoder_params": dict(emb.params), "cluster_params": _plain(dict(clus.params)),
                  "read_options": _plain(dict(read_options or {}))}
        result = PipelineResult(scene, seg, graph, emb, clus, out_dir=Path(out) if out is not None else None)
        report = _report(result, params, seed, prof)
        result.report.update(report)
        if out is not None:
            with step("export"):
                write_outputs(result, Path(out), gpkg=gpkg)
            bar.update()
            result.report["stages"] = prof.as_dict()
            result.report["peak_memory_mb"] = round(peak_rss_mb(), 1)
            write_json_atomic(Path(out) / "report.json", result.report)
    finally:
        bar.close()
    return result


def _plain(obj: Any) -> Any:
    """JSON-friendly copy of parameters (numpy scalars and paths to plain values)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def _report(result: PipelineResult, params: dict[str, Any], seed: int, prof: Profiler) -> dict[str, Any]:
    scene, seg, graph, clus = result.scene, result.segmentation, result.graph, result.clustering
    sizes = clus.sizes()
    return {
        "s2label_version": __version__,
        "python": platform.python_version(),
        "scene": {"source": scene.source, "bands": list(scene.bands), "shape": list(scene.shape),
                  "crs": scene.crs.to_string(), "transform": list(scene.transform)[:6],
                  "valid_fraction": round(float(scene.valid.mean()), 6), "read": _plain(dict(scene.meta))},
        "params": _plain(params),
        "seed": seed,
        "stages": prof.as_dict(),
        "peak_memory_mb": round(peak_rss_mb(), 1),
        "counts": {
            "pixels": int(scene.valid.size), "valid_pixels": int(scene.valid.sum()),
            "segments": seg.n_segments, "edges": graph.num_edges, "isolated_segments": int(graph.isolated().size),
            "embedding_dim": result.embeddings.dim, "clusters": clus.n_clusters,
            "noise_segments": int((clus.labels < 0).sum()), "noise_fraction": round(clus.noise_fraction, 6),
            "largest_cluster_fraction": round(float(sizes.max() / clus.labels.size), 6) if sizes.size else 0.0,
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
