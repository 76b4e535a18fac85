"""The whole headless pipeline: read → train → segment → graph → encode → GNN → cluster → write the outputs.

The files written follow the output contract of ``s2label run`` (see the README): ``segments.tif``,
``clusters.tif``, ``clusters.geojson``, ``embeddings.npz`` and ``report.json``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import platform
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from s2label._atomic import ensure_writable_dir
from s2label._json import to_jsonable
from s2label._profiling import Profiler, peak_rss_mb
from s2label._renamed import warn_renamed
from s2label._seeding import seeded_call
from s2label._tasks import Tasks, local_client
from s2label._version import __version__
from s2label.clustering.clusterer import Clustering, cluster, predict_clustering
from s2label.encoders.embeddings import Embeddings
from s2label.encoders.encoder import SegmentEncoder
from s2label.errors import ModelError, S2LabelError
from s2label.io.scene import Scene
from s2label.pipeline.first_look import first_look_folder, first_look_options, wants_first_look
from s2label.pipeline.layouts import Tiles, WholeScene
from s2label.pipeline.model import SavedModel, load_model, save_model
from s2label.pipeline.options import DEFAULT_TILE_SIZE, RunOptions
from s2label.pipeline.result import PipelineResult
from s2label.pipeline.run_folder import write_outputs, write_report
from s2label.segmentation.graph import build_graph
from s2label.segmentation.superpixels import Segmentation

__all__ = ["run"]


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


def _model_settings(model: SavedModel | None, options: RunOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """The read options and segmentation parameters of a run: a saved model's bands and segmentation win."""
    read_opts = dict(options.read)
    if model is not None and "bands" not in read_opts:
        read_opts["bands"] = list(model.bands)
    seg_params = options.segmentation.params() if model is None else dict(model.segmentation)
    return read_opts, seg_params


@seeded_call
def run(
    scene: Scene | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    options: RunOptions | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    model: SavedModel | str | os.PathLike[str] | None = None,
    executor: concurrent.futures.Executor | None = None,
    client: Any = None,
    workers: int | None = None,
    **keywords: Any,
) -> PipelineResult:
    """Run the pipeline on a scene and (optionally) write its outputs.

    The stages (read, train, segment, graph, encode, GNN, cluster, export) are the same whether the scene is
    held whole or processed by tiles (:mod:`s2label.pipeline.layouts`); tiles run in this process or on an
    executor.

    Parameters
    ----------
    scene : Scene or path-like or list of path-like
        A scene already read, or anything :func:`s2label.read_scene` accepts.
    options : RunOptions, optional
        Every setting of the run (:class:`~s2label.pipeline.options.RunOptions`); ``keywords`` change some of
        them. Default: the defaults.
    out : path-like, optional
        Output folder (created if needed); nothing is written when omitted. The model is saved in ``out/model``.
    model : SavedModel or path-like, optional
        A saved model (``DIR/model`` of an earlier run): its networks embed this scene without retraining, its
        segmentation settings are used, and segments are assigned to its clusters. The encoder, segmentation
        and clustering options are then ignored.
    executor : concurrent.futures.Executor, optional
        Run the tile stages (segment, stitch, encode) on it: a ``ThreadPoolExecutor``, a
        ``ProcessPoolExecutor``, or a Dask cluster's ``client.get_executor()`` (its workers need s2label
        installed and the scene's path or URL readable). Implies tiles; left open.
    client : dask.distributed.Client, optional
        The same as ``executor=client.get_executor()``.
    workers : int, optional
        Start a ``LocalCluster`` of this many single-threaded workers for the tile stages (closed before the
        GNN, so it takes no thread from it).
    **keywords
        The options as flat keywords (:meth:`RunOptions.from_keywords`):

        ``encoder`` ({"cnn-gnn", "cnn", "spectral"}, see :func:`s2label.embed`), ``cnn``, ``gnn``
        (:class:`CNNConfig`, :class:`GNNConfig`), ``device`` (``"auto"``: CUDA when present), ``num_threads``;
        ``segment_size`` (200 px), ``compactness`` (0.1), ``segmentation_method`` ("slic" or
        "felzenszwalb"); ``min_cluster_size`` (default 1 % of the segments), ``reduce`` ("umap", "pca",
        "none"), ``cluster_options`` (more arguments of :func:`s2label.clustering.clusterer.cluster`);
        ``tile_size`` (process by tiles of up to this many pixels a side, for scenes too large to hold
        whole; ``result.scene`` is then None), ``halo`` (70 px of context around each tile); ``gpkg``
        (also write ``clusters.gpkg``); ``read_options`` (for :func:`read_scene`); ``seed`` (seeds Python,
        NumPy, torch and UMAP; the caller's generators are put back afterwards); ``progress``.

    Returns
    -------
    PipelineResult

    Raises
    ------
    S2LabelError
        For a bad option (before anything is read), a scene that cannot be read, or outputs that cannot be
        written.

    Examples
    --------
    >>> from s2label.io.datasets import sample_scene
    >>> result = run(sample_scene(window=((0, 200), (0, 200))), encoder="spectral", reduce="pca", progress=False)
    >>> result.segmentation.n_segments > 100, result.clustering.cluster.shape == (result.graph.num_nodes,)
    (True, True)
    """
    if "window_size" in keywords:
        warn_renamed("run(window_size=...)", "run(tile_size=...)")
        keywords["tile_size"] = keywords.pop("window_size")
    options = (options or RunOptions()).replace(**keywords)
    if sum(x is not None for x in (executor, client, workers)) > 1:
        raise S2LabelError("give one of executor, client and workers")
    if workers is not None and workers < 1:
        raise S2LabelError(f"workers (--workers) must be positive, got {workers!r}")
    if out is not None:
        out = ensure_writable_dir(out)
    enc = options.encoder
    if model is not None and not isinstance(model, SavedModel):
        model = load_model(model, device=enc.device, num_threads=enc.num_threads)
    read_opts, seg_params = _model_settings(model, options)
    name = model.encoder.encoder if model is not None else enc.encoder
    on_executor = executor is not None or client is not None or workers is not None
    tasks = Tasks(executor) if executor is not None else Tasks.for_client(client) if client is not None else None
    layout: WholeScene | Tiles
    if options.tiled or on_executor:
        layout = Tiles(scene, read_opts, size=options.tiles.size or DEFAULT_TILE_SIZE, halo=options.tiles.halo,
                       segment_size=float(seg_params.get("segment_size", options.segmentation.segment_size)),
                       model_bands=model.bands if model is not None else None, cnn=name != "spectral",
                       workers=workers or (tasks.n_workers if tasks is not None else 1), seed=options.seed)
    else:
        layout = WholeScene(scene, read_opts, model_bands=model.bands if model is not None else None)
    return _run(layout, options, read_opts, seg_params, name, model=model, out=out, tasks=tasks, workers=workers)


def _run(layout: WholeScene | Tiles, options: RunOptions, read_opts: dict[str, Any], seg_params: dict[str, Any],
         name: str, *, model: SavedModel | None, out: Path | None, tasks: Tasks | None,
         workers: int | None) -> PipelineResult:
    """The stages, once for both layouts; ``name`` is the encoder (the saved model's when there is one)."""
    enc, seed, progress = options.encoder, options.seed, options.progress
    train = model is None and name != "spectral"
    start_workers = tasks is not None or workers is not None
    look = wants_first_look(options, encoder=name, writes=out is not None, tiled=isinstance(layout, Tiles),
                            model=model is not None)
    # with a first look the segments come first (SLIC uses no random numbers: the same segments either way)
    step = _Stages(["read"] + ["train"] * (train and not look) + ["start workers"] * start_workers
                   + ["segment", "graph"] + ["first look"] * look + ["train"] * (train and look)
                   + ["encode"] + ["gnn"] * (name == "cnn-gnn") + ["cluster"] + ["export"] * (out is not None),
                   progress=progress)
    # torch in the tile tasks: one thread each when they run side by side, unless told otherwise
    task_threads = enc.num_threads if enc.num_threads is not None or not start_workers else 1
    workers_stack = contextlib.ExitStack()
    try:
        with step("read"):
            layout.open(progress=progress)
            if model is not None:
                _check_model_bands(model, layout.bands)
        fitted = model.encoder if model is not None else SegmentEncoder(name, layout.bands, device=enc.device,
                                                                          num_threads=enc.num_threads)


        def train_cnn() -> None:
            with step("train"):  # the U-Net, on the scene or on a sample of its blocks
                fitted.fit_cnn(layout.training_scene(), config=enc.cnn, seed=seed, progress=progress)
            layout.trained()

        if train and not look:
            train_cnn()
        if start_workers:
            with step("start workers"):  # a LocalCluster if asked for; every worker imports what the tasks need
                if tasks is None:
                    tasks = Tasks.for_client(workers_stack.enter_context(local_client(int(workers or 1))))
                tasks.start()
        tasks = tasks or Tasks()
        n_workers = tasks.n_workers if tasks.distributed else 0  # before the workers are closed
        with step("segment"):
            seg = layout.segment(seg_params, tasks, progress=progress)
        with step("graph"):
            graph = build_graph(seg)
        if look:
            assert out is not None
            with step("first look"):
                _first_look(layout, seg, graph, seg_params, read_opts, options, step.prof, first_look_folder(out),
                            tasks)
        if train and look:
            train_cnn()
        with step("encode"):
            if name == "spectral":
                emb = layout.spectral_embeddings(fitted.bands, seg, tasks, progress=progress)
            else:
                x = layout.cnn_features(fitted, seg, tasks, num_threads=task_threads, progress=progress)
                if name == "cnn":
                    emb = fitted.embeddings_from_cnn(x, seg, graph)
        workers_stack.close()  # the GNN and the clustering get every thread
        if name == "cnn-gnn":
            with step("gnn"):  # the GNN over the whole scene's graph, and the embeddings
                if fitted.gnn is None:
                    fitted.fit_gnn(x, graph, config=enc.gnn, seed=seed, progress=progress)
                emb = fitted.embeddings_from_cnn(x, seg, graph)
        with step("cluster"):
            clus = _cluster_stage(emb, model, options)
        laid = layout.report()
        params = _params(fitted, seg, seg_params, emb, clus, read_opts, model)
        params.update(laid["params"])
        if "tiles" in params:
            params["tiles"]["workers"] = n_workers
        result = PipelineResult(layout.scene, seg, graph, emb, clus, out_dir=out, encoder=fitted,
                                segmentation_params=seg_params, spectra=layout.spectra, bands=layout.bands)
        result.report.update(_report(result, params, seed, step.prof, source=layout.description, read=laid["read"]))
        _finish(result, out, step, gpkg=options.output.gpkg, seed=seed, model=model, source=layout.description)
    finally:
        workers_stack.close()
        step.close()
    return result


def _first_look(layout: WholeScene | Tiles, seg: Segmentation, graph: Any, seg_params: dict[str, Any],
                read_opts: dict[str, Any], options: RunOptions, prof: Profiler, folder: Path, tasks: Tasks) -> None:
    """Write the spectral clusters of the run's segments to ``folder`` (:mod:`s2label.pipeline.first_look`)."""
    look = first_look_options(options)
    fitted = SegmentEncoder("spectral", layout.bands)
    inner = Profiler()  # its stages follow the run's so far in its report, as in a spectral run's
    with inner.stage("encode"):
        emb = layout.spectral_embeddings(fitted.bands, seg, tasks)
    with inner.stage("cluster"):
        clus = cluster(emb, **look.clustering.params(look.seed))
    result = PipelineResult(layout.scene, seg, graph, emb, clus, out_dir=folder, encoder=fitted,
                            segmentation_params=seg_params, spectra=layout.spectra, bands=layout.bands)
    laid = layout.report()
    params = _params(fitted, seg, seg_params, emb, clus, read_opts, None)
    params.update(laid["params"])
    params["first_look_of"] = options.encoder.encoder
    result.report.update(_report(result, params, look.seed, prof, source=layout.description, read=laid["read"]))
    with inner.stage("export"):
        _write_run(result, ensure_writable_dir(folder), gpkg=options.output.gpkg, seed=look.seed, model=None,
                   source=layout.description)
    result.report["stages"] = {**prof.as_dict(), **inner.as_dict()}
    result.report["peak_memory_mb"] = round(peak_rss_mb(), 1)
    write_report(folder, result.report)
    if options.progress:
        tqdm.write(f"s2label: first look (spectral clusters) in {folder}; now the {options.encoder.encoder} encoder")


def _cluster_stage(emb: Embeddings, model: SavedModel | None, options: RunOptions) -> Clustering:
    """HDBSCAN on the embeddings, or, with a saved model, its clusters predicted for them."""
    if model is not None:
        return predict_clustering(model.clusterer, emb)
    return cluster(emb, **options.clustering.params(options.seed))


def _params(fitted: SegmentEncoder, seg: Segmentation, seg_params: Mapping[str, Any], emb: Embeddings,
            clus: Clustering, read_opts: Mapping[str, Any], model: SavedModel | None) -> dict[str, Any]:
    """The ``params`` of ``report.json``."""
    return {"encoder": fitted.encoder, "segmentation": dict(seg.params), "segment_size": seg_params.get("segment_size"),
            "encoder_params": to_jsonable(dict(emb.params)), "cluster_params": to_jsonable(dict(clus.params)),
            "read_options": to_jsonable(dict(read_opts)), "model": str(model.path) if model is not None else None,
            "train_seconds": {k: round(v, 3) for k, v in fitted.timings.items()},
            "cnn_steps": len(fitted.cnn.losses) if fitted.cnn is not None and model is None else None}


def _finish(result: PipelineResult, out: Path | None, step: _Stages, *, gpkg: bool, seed: int,
            model: SavedModel | None, source: str) -> None:
    """Write the outputs and the model (``report.json`` last: a folder with it holds a finished run)."""
    if out is None:
        return
    with step("export"):
        _write_run(result, out, gpkg=gpkg, seed=seed, model=model, source=source)
    result.report["stages"] = step.prof.as_dict()
    result.report["peak_memory_mb"] = round(peak_rss_mb(), 1)
    write_report(out, result.report)


def _write_run(result: PipelineResult, out: Path, *, gpkg: bool, seed: int, model: SavedModel | None,
               source: str) -> None:
    """Every file of a run folder but ``report.json``: the outputs and the model."""
    assert result.encoder is not None and result.clustering.model is not None
    write_outputs(result, out, gpkg=gpkg)
    save_model(out / "model", result.encoder, result.clustering.model, segmentation=result.segmentation_params,
               extra={"trained_on": source, "seed": seed,
                      "reused_from": str(model.path) if model is not None else None})


def _check_model_bands(model: SavedModel, bands: tuple[str, ...]) -> None:
    if tuple(bands) != tuple(model.bands):
        raise ModelError(f"the model was trained on bands {', '.join(model.bands)}; the scene has "
                         f"{', '.join(bands)}", path=model.path)


def _report(result: PipelineResult, params: dict[str, Any], seed: int, prof: Profiler, *, source: str,
            read: Mapping[str, Any]) -> dict[str, Any]:
    scene, seg, graph, clus = result.scene, result.segmentation, result.graph, result.clustering
    valid = seg.ids > 0 if scene is None else scene.valid  # segments cover every valid pixel
    return {
        "s2label_version": __version__,
        "python": platform.python_version(),
        "scene": {"source": source, "bands": list(result.bands),
                  "shape": list(seg.shape), "crs": seg.crs.to_string(), "transform": list(seg.transform)[:6],
                  "valid_fraction": round(float(valid.mean()), 6),
                  "read": to_jsonable(dict(read))},
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
