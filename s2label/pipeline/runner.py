"""The whole headless pipeline: read → segment → graph → embed → cluster → write the outputs.

The files written follow the output contract of ``s2label run`` (see the README): ``segments.tif``,
``clusters.tif``, ``clusters.geojson``, ``embeddings.npz`` and ``report.json``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from s2label._atomic import ensure_writable_dir
from s2label._dask import local_client
from s2label._json import to_jsonable
from s2label._profiling import Profiler, peak_rss_mb
from s2label._seeding import seeded_call
from s2label._version import __version__
from s2label.clustering.clusterer import Clustering, cluster, predict_clustering
from s2label.encoders.embeddings import Embeddings
from s2label.encoders.encoder import CNNConfig, GNNConfig, SegmentEncoder, fit_embed
from s2label.errors import ModelError
from s2label.io.read import read_scene
from s2label.io.scene import Scene
from s2label.pipeline.model import SavedModel, load_model, save_model
from s2label.pipeline.result import PipelineResult
from s2label.pipeline.run_folder import write_outputs, write_report
from s2label.segmentation.graph import build_graph
from s2label.segmentation.superpixels import Segmentation, segment

__all__ = ["run", "DEFAULT_WINDOW_SIZE"]


class _Stages:
    """A run's stages: a progress bar over them, and a :class:`Profiler` record of each.

    With ``step = _Stages([...])``, ``with step("segment"): ...`` times the block, samples its peak memory and
    moves the bar on (not when the block raises).
    """

    def __init__(self, names: Sequence[str], *, progress: bool) -> None:
        self.prof = Profiler()
        self.bar = tqdm(total=len(names), desc="s2label", disable=not progress, unit="stage")

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self.bar.set_postfix_str(name)
        with self.prof.stage(name):
            yield
        self.bar.update()

    def close(self) -> None:
        self.bar.close()


def _settings(model: SavedModel | None, read_options: Mapping[str, Any] | None, *, method: str,
              segment_size: int, compactness: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The read options and segmentation parameters of a run: a saved model's bands and segmentation win."""
    read_opts = dict(read_options or {})
    if model is not None and "bands" not in read_opts:
        read_opts["bands"] = list(model.bands)
    seg_params = ({"method": method, "segment_size": segment_size, "compactness": compactness}
                  if model is None else dict(model.segmentation))
    return read_opts, seg_params


@seeded_call
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
    window_size: int | None = None,
    halo: int = 70,
    client: Any = None,
    workers: int | None = None,
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
        More keyword arguments of :func:`s2label.clustering.clusterer.cluster`.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    num_threads : int, optional
        torch threads.
    gpkg : bool
        Also write ``clusters.gpkg`` (scene CRS).
    progress : bool
        Show a progress bar over the stages (and inside long stages).
    window_size : int, optional
        Process the scene by windows of up to this many pixels a side (rounded up to SLIC's seed step), all
        of one size (:func:`s2label.segmentation.stitch.plan_segment_windows`), for scenes
        too large to hold whole: memory then follows the window, not the scene. The U-Net is trained on
        blocks sampled from all over the scene; windows are segmented with ``halo`` px of context and stitched
        into one seamless segmentation; features are pooled window by window. ``result.scene`` is then None.
        Default: the whole scene at once, unless ``client`` or ``workers`` is given (then 2048).
    halo : int
        Context around each window in pixels (windowed runs).
    client : dask.distributed.Client, optional
        Run the window stages (segment, stitch, encode) as Dask tasks on this cluster (any: its workers need
        s2label installed and the scene's path or URL readable). The cluster is left open.
    workers : int, optional
        Without ``client``: a ``LocalCluster`` of this many single-threaded workers for the window stages.

    Returns
    -------
    PipelineResult

    Examples
    --------
    >>> from s2label.io.datasets import sample_scene
    >>> result = run(sample_scene(window=((0, 200), (0, 200))), encoder="spectral", reduce="pca", progress=False)
    >>> result.segmentation.n_segments > 100, result.clustering.cluster.shape == (result.graph.num_nodes,)
    (True, True)
    """
    if out is not None:
        out = ensure_writable_dir(out)
    if model is not None and not isinstance(model, SavedModel):
        model = load_model(model, device=device, num_threads=num_threads)
    if window_size is not None or client is not None or workers is not None:
        windowed: dict[str, Any] = dict(
                       out=out, encoder=encoder, model=model, segment_size=segment_size, compactness=compactness,
                       segmentation_method=segmentation_method, min_cluster_size=min_cluster_size, reduce=reduce,
                       seed=seed, read_options=read_options, cnn=cnn, gnn=gnn, cluster_options=cluster_options,
                       device=device, num_threads=num_threads, gpkg=gpkg, progress=progress,
                       window_size=window_size or DEFAULT_WINDOW_SIZE, halo=halo)
        return _run_windowed(scene, client=client, workers=workers, **windowed)
    step = _Stages(["read", "segment", "graph", "train" if model is None else "embed", "cluster"]
                   + (["export"] if out is not None else []), progress=progress)
    read_opts, seg_params = _settings(model, read_options, method=segmentation_method, segment_size=segment_size,
                                      compactness=compactness)
    try:
        with step("read"):
            if not isinstance(scene, Scene):
                scene = read_scene(scene, progress=progress, **read_opts)
            elif model is not None:
                scene = scene.select(model.bands) if set(model.bands) <= set(scene.bands) else scene
        with step("segment"):
            seg = segment(scene, **seg_params)
        with step("graph"):
            graph = build_graph(seg)
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
        with step("cluster"):
            clus = _cluster_stage(emb, model, min_cluster_size=min_cluster_size, reduce=reduce, seed=seed,
                                  cluster_options=cluster_options)
        params = _params(fitted, seg, seg_params, emb, clus, read_opts, model)
        result = PipelineResult(scene, seg, graph, emb, clus, out_dir=Path(out) if out is not None else None,
                                encoder=fitted, segmentation_params=seg_params, bands=scene.bands)
        result.report.update(_report(result, params, seed, step.prof))
        _finish(result, out, step, gpkg=gpkg, seed=seed, model=model, source=scene.source)
    finally:
        step.close()
    return result


def _cluster_stage(emb: Embeddings, model: SavedModel | None, *, min_cluster_size: int | None, reduce: str,
                   seed: int, cluster_options: Mapping[str, Any] | None) -> Clustering:
    """HDBSCAN on the embeddings, or, with a saved model, its clusters predicted for them."""
    if model is not None:
        return predict_clustering(model.clusterer, emb)
    options: dict[str, Any] = {"min_cluster_size": min_cluster_size, "reduce": reduce, "random_state": seed}
    options.update(cluster_options or {})
    return cluster(emb, **options)


def _params(fitted: SegmentEncoder, seg: Segmentation, seg_params: Mapping[str, Any], emb: Embeddings,
            clus: Clustering, read_opts: Mapping[str, Any], model: SavedModel | None) -> dict[str, Any]:
    """The ``params`` of ``report.json``."""
    return {"encoder": fitted.encoder, "segmentation": dict(seg.params), "segment_size": seg_params.get("segment_size"),
            "encoder_params": to_jsonable(dict(emb.params)), "cluster_params": to_jsonable(dict(clus.params)),
            "read_options": to_jsonable(dict(read_opts)), "model": str(model.path) if model is not None else None,
            "train_seconds": {k: round(v, 3) for k, v in fitted.timings.items()}}


def _finish(result: PipelineResult, out: Any, step: _Stages, *, gpkg: bool, seed: int,
            model: SavedModel | None, source: str) -> None:
    """Write the outputs and the model (``report.json`` last: a folder with it holds a finished run)."""
    if out is None:
        return
    assert result.encoder is not None and result.clustering.model is not None
    with step("export"):
        write_outputs(result, Path(out), gpkg=gpkg)
        save_model(Path(out) / "model", result.encoder, result.clustering.model,
                   segmentation=result.segmentation_params,
                   extra={"trained_on": source, "seed": seed,
                          "reused_from": str(model.path) if model is not None else None})
    result.report["stages"] = step.prof.as_dict()
    result.report["peak_memory_mb"] = round(peak_rss_mb(), 1)
    write_report(out, result.report)


#: Window side of a windowed run when none is given (about 4 Mpx a window).
DEFAULT_WINDOW_SIZE = 2048


def _run_windowed(source: Any, *, out: Any, encoder: str, model: SavedModel | None, segment_size: int,
                  compactness: float, segmentation_method: str, min_cluster_size: int | None, reduce: str,
                  seed: int, read_options: Mapping[str, Any] | None, cnn: CNNConfig | None, gnn: GNNConfig | None,
                  cluster_options: Mapping[str, Any] | None, device: str, num_threads: int | None, gpkg: bool,
                  progress: bool, window_size: int, halo: int, client: Any, workers: int | None) -> PipelineResult:
    """:func:`run` by windows (:mod:`s2label.segmentation.stitch`); the window stages run on ``client`` if given, or on
    a ``LocalCluster`` of ``workers`` made for them (and closed before the GNN, so it takes no thread from it)."""
    from s2label._dask import Tasks
    from s2label.encoders.cnn import train_cnn
    from s2label.encoders.gnn import train_gnn
    from s2label.encoders.pooled import pool_windows, training_sample
    from s2label.io.source import open_windowed
    from s2label.pipeline.memory import check_window_memory
    from s2label.segmentation.stitch import plan_segment_windows, segment_windows
    from s2label.segmentation.superpixels import band_stats

    if encoder not in ("cnn-gnn", "cnn", "spectral"):
        raise ModelError(f"unknown encoder {encoder!r}; use one of cnn-gnn, cnn, spectral")
    stack = contextlib.ExitStack()
    task_threads = num_threads if num_threads is not None or (client is None and workers is None) else 1
    step = _Stages(["read", "train" if model is None else "embed"]
                   + (["start workers"] if client is not None or workers is not None else [])
                   + ["segment", "graph", "encode", "gnn", "cluster"] + (["export"] if out is not None else []),
                   progress=progress)
    read_opts, seg_params = _settings(model, read_options, method=segmentation_method, segment_size=segment_size,
                                      compactness=compactness)
    try:
        with step("read"):  # the grid from the headers, and a sample of blocks to train and standardise on
            if isinstance(source, Scene) and model is not None and set(model.bands) <= set(source.bands):
                source = source.select(model.bands)
            src = open_windowed(source, read_opts)
            grid = plan_segment_windows(src.shape, float(seg_params.get("segment_size", segment_size)),
                                        size=window_size, halo=halo)
            check_window_memory(grid, len(src.grid.bands), cnn=encoder != "spectral" or model is not None,
                                workers=workers or (len(client.scheduler_info()["workers"]) if client else 1))
            sample = training_sample(src, seed=seed)
            stats = band_stats(sample)
        with step("train" if model is None else "embed"):
            if model is None:
                fitted = SegmentEncoder(encoder, sample.bands, device=device, num_threads=num_threads)
                if encoder != "spectral":
                    t0 = time.perf_counter()
                    fitted.cnn = train_cnn(sample, config=cnn, seed=seed, device=device, num_threads=num_threads,
                                           progress=progress)
                    fitted.timings["train_cnn"] = time.perf_counter() - t0
            else:
                fitted = model.encoder
                if tuple(src.grid.bands) != tuple(model.bands):
                    raise ModelError(f"the model was trained on bands {', '.join(model.bands)}; the scene has "
                                     f"{', '.join(src.grid.bands)}", path=model.path)
        del sample
        tasks, n_workers = Tasks(), 0
        if client is not None or workers is not None:
            with step("start workers"):  # a LocalCluster if asked for; every worker imports what the tasks need
                if client is None:
                    client = stack.enter_context(local_client(int(workers or 1)))
                n_workers = len(client.scheduler_info()["workers"])
                tasks = Tasks(client)
                tasks.start()
        with step("segment"):
            seg = segment_windows(src, grid, params=seg_params, stats=stats, tasks=tasks, progress=progress)
        with step("graph"):
            graph = build_graph(seg)
        with step("encode"):
            pooled = pool_windows(src, grid, seg, cnn=fitted.cnn, device=device, num_threads=task_threads,
                                  std=bool(fitted.cnn is not None and fitted.cnn.config.pool_std), tasks=tasks,
                                  progress=progress)
        stack.close()
        with step("gnn"):  # the GNN over the whole scene's graph (for cnn-gnn), and the embeddings
            if fitted.encoder == "spectral":
                emb = Embeddings(pooled.features, seg.segment_ids, "spectral",
                                 {"std": True, "indices": True, "bands": list(src.grid.bands)},
                                 feature_names=pooled.feature_names)
            else:
                if fitted.encoder == "cnn-gnn" and fitted.gnn is None:
                    t0 = time.perf_counter()
                    fitted.gnn = train_gnn(pooled.features, graph, config=gnn, seed=seed, device=device,
                                           num_threads=num_threads, progress=progress)
                    fitted.timings["train_gnn"] = time.perf_counter() - t0
                emb = fitted.embeddings_from_cnn(pooled.features, seg, graph)
        with step("cluster"):
            clus = _cluster_stage(emb, model, min_cluster_size=min_cluster_size, reduce=reduce, seed=seed,
                                  cluster_options=cluster_options)
        params = _params(fitted, seg, seg_params, emb, clus, read_opts, model)
        params["windows"] = {"size": grid.size, "halo": grid.halo, "count": len(grid), "dask_workers": n_workers}
        result = PipelineResult(None, seg, graph, emb, clus, out_dir=Path(out) if out is not None else None,
                                encoder=fitted, segmentation_params=seg_params, spectra=pooled.bands,
                                bands=tuple(src.grid.bands))
        result.report.update(_report(result, params, seed, step.prof, source=src.description, grid=src.grid))
        _finish(result, out, step, gpkg=gpkg, seed=seed, model=model, source=src.description)
    finally:
        stack.close()
        step.close()
    return result


def _check_model_bands(model: SavedModel, scene: Scene) -> None:
    if tuple(scene.bands) != tuple(model.bands):
        raise ModelError(f"the model was trained on bands {', '.join(model.bands)}; the scene has "
                         f"{', '.join(scene.bands)}", path=model.path)


def _report(result: PipelineResult, params: dict[str, Any], seed: int, prof: Profiler, *, source: str = "",
            grid: Any = None) -> dict[str, Any]:
    scene, seg, graph, clus = result.scene, result.segmentation, result.graph, result.clustering
    valid = seg.ids > 0 if scene is None else scene.valid  # segments cover every valid pixel
    return {
        "s2label_version": __version__,
        "python": platform.python_version(),
        "scene": {"source": scene.source if scene is not None else source, "bands": list(result.bands),
                  "shape": list(seg.shape), "crs": seg.crs.to_string(), "transform": list(seg.transform)[:6],
                  "valid_fraction": round(float(valid.mean()), 6),
                  "read": to_jsonable(dict(scene.meta) if scene is not None else
                                      {"offset": list(grid.offset), "windowed": True})},
        "params": to_jsonable(params),
        "seed": seed,
        "stages": prof.as_dict(),
        "peak_memory_mb": round(peak_rss_mb(), 1),
        "counts": {
            "pixels": int(valid.size), "valid_pixels": int(valid.sum()),
            "segments": seg.n_segments, "edges": graph.num_edges, "isolated_segments": int(graph.isolated().size),
            "embedding_dim": result.embeddings.dim, "noise_segments": int((clus.cluster < 0).sum()),
            **clus.summary(),
        },
    }
