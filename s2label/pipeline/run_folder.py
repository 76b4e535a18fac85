"""The run folder: what a run writes, under which names, where by default, and how it is read back.

A finished run (``s2label run``, :func:`s2label.run` with ``out=``, :func:`s2label.explore`, each scene of
:func:`s2label.run_many`) is a folder holding :data:`RUN_FILES`; ``report.json`` is written last, so a folder
with it holds a finished run, and :func:`load_run` rebuilds the result from it without any training. The
labelling session lives beside them (:data:`SESSION_FILE`). With no folder given, a run goes to
``s2label-output/<scene name>`` (:func:`default_folder`), whichever entry point started it.

Examples
--------
>>> default_folder("data/S2B_MSIL2A_20240101.SAFE").as_posix()
's2label-output/S2B_MSIL2A_20240101'
>>> run_name("https://example.com/items/tile 7.tif")
'tile_7'
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import rasterio

from s2label._atomic import atomic_path, ensure_writable_dir, write_json_atomic
from s2label.clustering.clusterer import clustering_from_model, predict_clustering
from s2label.display.colours import palette, to_hex
from s2label.encoders.embeddings import Embeddings
from s2label.errors import OutputError, SceneError
from s2label.io.scene import Scene
from s2label.io.write import write_raster
from s2label.pipeline.model import load_model
from s2label.pipeline.result import PipelineResult
from s2label.segmentation.export import vectorise, write_geojson, write_geopackage, write_label_raster
from s2label.segmentation.graph import build_graph
from s2label.segmentation.superpixels import Segmentation

__all__ = ["RUN_FILES", "REPORT_FILE", "SESSION_FILE", "OLD_SESSION_FILE", "DEFAULT_ROOT", "run_name",
           "default_folder", "is_finished", "write_outputs", "write_report", "load_run"]

#: The files of a finished run (``clusters.gpkg`` too when asked for).
RUN_FILES = ("segments.tif", "clusters.tif", "clusters.geojson", "embeddings.npz", "report.json", "model")
#: Written last: a folder holding it holds a finished run.
REPORT_FILE = "report.json"
#: What :func:`load_run` reads back.
_NEEDED = (REPORT_FILE, "segments.tif", "embeddings.npz", "model")
#: The session store kept in the run folder (:mod:`s2label.session.store`).
SESSION_FILE = "session.sqlite"
#: The session file of an s2label before the store: migrated into :data:`SESSION_FILE` when found alone.
OLD_SESSION_FILE = "session.json"
#: Where runs go when no folder is given (in the working folder).
DEFAULT_ROOT = "s2label-output"


def run_name(source: object) -> str:
    """A run's folder name from its scene: the file or folder name (of a URL's path too) up to its first dot,
    with anything but letters, digits, ``-`` and ``_`` replaced; ``"scene"`` when nothing is left.

    Parameters
    ----------
    source : Scene, path-like or str
        A scene (its ``source`` is used), a path or a URL.

    Returns
    -------
    str
        At most 80 characters.
    """
    text = str(source.source if isinstance(source, Scene) else source)
    name = PurePosixPath(urlsplit(text).path).name if "://" in text else Path(text).name
    stem = name.split(".")[0]
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)[:80] or "scene"


def default_folder(source: object, *, name: str | None = None) -> Path:
    """``s2label-output/<name>`` (relative to the working folder), ``name`` defaulting to :func:`run_name`.

    Parameters
    ----------
    source : Scene, path-like or str
        The scene, for :func:`run_name`.
    name : str, optional
        The folder's name instead.

    Returns
    -------
    pathlib.Path
        Relative.
    """
    return Path(DEFAULT_ROOT) / (name or run_name(source))


def is_finished(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a finished run (its report, written last).

    Parameters
    ----------
    folder : str or path-like

    Returns
    -------
    bool
        Whether ``folder/report.json`` is a file.
    """
    return (Path(folder) / REPORT_FILE).is_file()


def write_report(folder: str | os.PathLike[str], report: Mapping[str, Any]) -> Path:
    """Write ``report.json`` atomically: the last file of a run, which marks it finished.

    Parameters
    ----------
    folder : str or path-like
        The run folder.
    report : mapping
        JSON-serialisable report of the run.

    Returns
    -------
    pathlib.Path
        ``folder/report.json``.
    """
    path = Path(folder) / REPORT_FILE
    write_json_atomic(path, report)
    return path


def write_outputs(result: PipelineResult, out_dir: Path, *, names: Mapping[int, str] | None = None,
                  gpkg: bool = False) -> list[Path]:
    """Write the contract files (all but ``report.json``) of a run into ``out_dir``.

    ``clusters.tif`` keeps noise as -1; in ``clusters.geojson`` every noise segment joins the cluster of its
    nearest non-noise segment in embedding space, and each feature counts them in ``n_noise_segments``
    so they can be reviewed.

    Parameters
    ----------
    result : PipelineResult
        The run's segmentation, embeddings and clustering.
    out_dir : pathlib.Path
        The folder (made if missing).
    names : mapping of int to str, optional
        Cluster id to name, for the raster's and the polygons' names.
    gpkg : bool
        Also write ``clusters.gpkg``.

    Returns
    -------
    list of pathlib.Path
        ``segments.tif``, ``clusters.tif``, ``clusters.geojson``, (``clusters.gpkg``,) ``embeddings.npz``.
    """
    out_dir = ensure_writable_dir(out_dir)
    seg, clus, emb = result.segmentation, result.clustering, result.embeddings
    raw = clus.cluster
    assigned = clus.cluster_noise_assigned()
    written = [
        write_raster(out_dir / "segments.tif", seg.ids, transform=seg.transform, crs=seg.crs, nodata=0),
        write_label_raster(out_dir / "clusters.tif", seg, raw, names=names),
    ]
    if clus.n_clusters:
        noise_per_cluster = np.bincount(assigned[raw < 0], minlength=clus.n_clusters)
        colours = palette(clus.n_clusters)  # the explorer's colours of the clusters
        extra = {int(c): {"n_noise_segments": int(noise_per_cluster[c]), "colour": to_hex(colours[c])}
                 for c in range(clus.n_clusters)}
        polygons = vectorise(seg, assigned, names=names, extra_properties=extra, include_noise=False)
    else:  # everything is noise: export it as such rather than an empty file
        polygons = vectorise(seg, raw, names=names, include_noise=True)
    written.append(write_geojson(out_dir / "clusters.geojson", polygons))
    if gpkg:
        written.append(write_geopackage(out_dir / "clusters.gpkg", polygons, layer="clusters"))
    with atomic_path(out_dir / "embeddings.npz") as tmp:
        np.savez_compressed(tmp, vectors=emb.vectors, segment_ids=emb.segment_ids, cluster=raw,
                            cluster_assigned=assigned, probabilities=clus.probabilities,
                            outlier_scores=clus.outlier_scores, method=np.array(emb.encoder))
    written.append(out_dir / "embeddings.npz")
    return written


def load_run(out: str | os.PathLike[str], scene: Scene) -> PipelineResult:
    """Rebuild the :class:`PipelineResult` of a finished run (``s2label run SCENE --out DIR``) of ``scene``.

    Parameters
    ----------
    out : str or path-like
        The run folder.
    scene : Scene
        The scene the run was made on (its pixels are not stored in the folder).

    Returns
    -------
    PipelineResult
        Segmentation, embeddings and model read from the folder, the graph rebuilt, the clusters those of the
        saved clusterer (predicted when the run reused a model).

    Raises
    ------
    OutputError
        The folder does not hold a finished run.
    SceneError
        The run was made on another scene (another grid).
    """
    folder = Path(out)
    missing = [name for name in _NEEDED if not (folder / name).exists()]
    if missing:
        raise OutputError(f"not a finished s2label run (missing {', '.join(missing)})", path=folder)
    report = json.loads((folder / REPORT_FILE).read_text(encoding="utf-8"))
    with rasterio.open(folder / "segments.tif") as src:
        labels = src.read(1).astype(np.int32)
        transform, crs = src.transform, src.crs
    if labels.shape != scene.shape or not transform.almost_equals(scene.transform) or crs != scene.crs:
        raise SceneError(f"the run in this folder was made on another scene ({labels.shape[1]} x {labels.shape[0]} "
                         f"px); use another folder or rerun=True", path=folder)
    seg = Segmentation(labels, transform, crs, params=report.get("params", {}).get("segmentation", {}))
    with np.load(folder / "embeddings.npz", allow_pickle=False) as npz:
        emb = Embeddings(npz["vectors"], npz["segment_ids"], str(npz["method"]))
    saved = load_model(folder / "model")
    predicted = report.get("params", {}).get("model") is not None
    clus = predict_clustering(saved.clusterer, emb) if predicted else clustering_from_model(saved.clusterer, emb)
    return PipelineResult(scene, seg, build_graph(seg), emb, clus, report=report, out_dir=folder,
                          encoder=saved.encoder, segmentation_params=dict(saved.segmentation), bands=scene.bands)
