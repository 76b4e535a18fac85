"""Save and load what reproduces a run on another scene: networks, normalisation, segmentation settings, clusters.

A model folder holds

- ``model.json``: format version, encoder kind, bands, hyper-parameters and normalisation of the CNN and
  the GNN, segmentation settings, clusterer settings, and a SHA-256 checksum of every other file;
- ``cnn.pt`` / ``gnn.pt``: the networks' ``state_dict`` s (loaded with ``torch.load(..., weights_only=True)``);
- ``clusterer.npz``: the fitted clusterer as plain arrays (loaded with ``allow_pickle=False``).

Nothing in it is pickled code. Each file is written atomically and ``model.json`` last, so a folder whose
writing was interrupted fails its checksums with a clear error instead of loading half a model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.nn import DeepGraphInfomax

from s2label._atomic import atomic_path, ensure_writable_dir, write_json_atomic
from s2label._digest import file_sha256
from s2label._json import to_jsonable
from s2label._version import __version__
from s2label.clustering.clusterer import SegmentClusterer
from s2label.encoders.cnn import CNNConfig, CNNEncoder, UNet
from s2label.encoders.encoder import SegmentEncoder
from s2label.encoders.gnn import GNNConfig, GNNModel, GraphEncoder, dgi_summary
from s2label.errors import ClusteringError, ModelError
from s2label.io.bands import normalise_bands

__all__ = ["SavedModel", "save_model", "load_model", "MODEL_FORMAT", "MODEL_VERSION"]

MODEL_FORMAT = "s2label-model"
MODEL_VERSION = 1


@dataclass(eq=False)
class SavedModel:
    """A loaded model folder: the fitted encoder and clusterer, and the segmentation settings.

    Attributes
    ----------
    encoder : SegmentEncoder
    clusterer : SegmentClusterer
    segmentation : dict
        Keyword arguments for :func:`s2label.segment` (``method``, ``segment_size``, ``compactness``...).
    meta : dict
        The rest of ``model.json`` (version, source scene...).
    path : Path or None
    """

    encoder: SegmentEncoder
    clusterer: SegmentClusterer
    segmentation: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def bands(self) -> tuple[str, ...]:
        return self.encoder.bands


def save_model(path: str | os.PathLike[str], encoder: SegmentEncoder, clusterer: SegmentClusterer, *,
               segmentation: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Path:
    """Write a model folder (created if needed; files in it are replaced).

    Parameters
    ----------
    path : path-like
        The folder, e.g. ``DIR/model``.
    encoder : SegmentEncoder
    clusterer : SegmentClusterer
        Fitted.
    segmentation : mapping
        Keyword arguments of :func:`s2label.segment` that made the training segments.
    extra : mapping, optional
        More facts for ``model.json`` (e.g. the source scene).

    Returns
    -------
    Path
        The folder.
    """
    folder = ensure_writable_dir(path)
    files: dict[str, str] = {}
    meta: dict[str, Any] = {"format": MODEL_FORMAT, "version": MODEL_VERSION, "s2label_version": __version__,
                            "encoder": encoder.encoder, "bands": list(encoder.bands),
                            "segmentation": dict(segmentation), "clusterer": to_jsonable(clusterer.get_params()),
                            "extra": to_jsonable(dict(extra or {}))}
    if encoder.cnn is not None:
        meta["cnn"] = encoder.cnn.config_dict()
        _save_torch(folder / "cnn.pt", encoder.cnn.net.state_dict())
        files["cnn.pt"] = file_sha256(folder / "cnn.pt")
    if encoder.gnn is not None:
        meta["gnn"] = encoder.gnn.config_dict()
        _save_torch(folder / "gnn.pt", encoder.gnn.dgi.state_dict())
        files["gnn.pt"] = file_sha256(folder / "gnn.pt")
    with atomic_path(folder / "clusterer.npz") as tmp:
        np.savez_compressed(tmp, **clusterer.to_arrays())  # type: ignore[arg-type]
    files["clusterer.npz"] = file_sha256(folder / "clusterer.npz")
    meta["files"] = files
    write_json_atomic(folder / "model.json", meta)
    return folder


def _save_torch(path: Path, state: Mapping[str, torch.Tensor]) -> None:
    with atomic_path(path) as tmp:
        torch.save({k: v.detach().cpu() for k, v in state.items()}, tmp)


def load_model(path: str | os.PathLike[str], *, device: str = "auto", num_threads: int | None = None) -> SavedModel:
    """Load a model folder written by :func:`save_model` (or by ``s2label run`` into ``DIR/model``).

    Parameters
    ----------
    path : str or path-like
        The model folder (holding ``model.json``).
    device : str
        Where the encoder runs: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    num_threads : int, optional
        torch threads of the encoder.

    Returns
    -------
    SavedModel
        The encoder and clusterer, the segmentation settings and ``model.json``.

    Raises
    ------
    ModelError
        Naming the file: no such folder, not a model folder, unreadable or newer format, a file missing or
        corrupt (checksum), weights that do not fit the recorded architecture.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ModelError("no such model folder", path=folder)
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise ModelError("not an s2label model folder (no model.json)", path=folder)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"model.json is not valid JSON ({exc})", path=meta_path) from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise ModelError("model.json is not an s2label model description", path=meta_path)
    if int(meta.get("version", 0)) > MODEL_VERSION:
        raise ModelError(f"model format version {meta['version']} is newer than this s2label reads "
                         f"({MODEL_VERSION}); upgrade s2label", path=meta_path)
    for name, digest in dict(meta.get("files", {})).items():
        f = folder / name
        if not f.is_file():
            raise ModelError("file of the model is missing", path=f)
        if file_sha256(f) != digest:
            raise ModelError("file is corrupt or was changed after saving (checksum mismatch)", path=f)
    try:
        bands = normalise_bands(meta["bands"])
        kind = str(meta["encoder"])
        encoder = SegmentEncoder(kind, bands, device=device, num_threads=num_threads)
        if "cnn" in meta:
            encoder.cnn = _load_cnn(folder / "cnn.pt", meta["cnn"], bands)
        if "gnn" in meta:
            encoder.gnn = _load_gnn(folder / "gnn.pt", meta["gnn"])
        with np.load(folder / "clusterer.npz", allow_pickle=False) as arrays:
            clusterer = SegmentClusterer.from_arrays(dict(arrays), meta["clusterer"])
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, ClusteringError, OSError) as exc:
        raise ModelError(f"model cannot be loaded ({type(exc).__name__}: {exc})", path=folder) from None
    if (kind in ("cnn", "cnn-gnn") and encoder.cnn is None) or (kind == "cnn-gnn" and encoder.gnn is None):
        raise ModelError(f"model.json names encoder {kind!r} but lacks its networks", path=meta_path)
    return SavedModel(encoder, clusterer, dict(meta.get("segmentation", {})), meta, folder)


def _load_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file (pickle, zip, runtime)
        raise ModelError(f"cannot read network weights ({type(exc).__name__}: {exc})", path=path) from None
    if not isinstance(state, dict):
        raise ModelError("file does not hold a state_dict", path=path)
    return state


def _load_cnn(path: Path, info: Mapping[str, Any], bands: tuple[str, ...]) -> CNNEncoder:
    cfg = CNNConfig.from_dict(info["config"])
    net = UNet(len(bands), cfg.features, cfg.width)
    try:
        net.load_state_dict(_load_state(path))
    except RuntimeError as exc:
        raise ModelError(f"weights do not fit the recorded CNN ({str(exc).splitlines()[0]})", path=path) from None
    net.eval()
    return CNNEncoder(net, bands, np.asarray(info["mean"], np.float32), np.asarray(info["std"], np.float32), cfg)


def _load_gnn(path: Path, info: Mapping[str, Any]) -> GNNModel:
    cfg = GNNConfig.from_dict(info["config"])
    encoder = GraphEncoder(int(info["in_channels"]), cfg.hidden_channels, cfg.out_channels, cfg.num_layers)
    dgi = DeepGraphInfomax(cfg.out_channels, encoder=encoder, summary=dgi_summary,
                           corruption=lambda x, edge_index: (x, edge_index))
    try:
        dgi.load_state_dict(_load_state(path))
    except RuntimeError as exc:
        raise ModelError(f"weights do not fit the recorded GNN ({str(exc).splitlines()[0]})", path=path) from None
    dgi.eval()
    return GNNModel(dgi, np.asarray(info["mean"], np.float32), np.asarray(info["std"], np.float32),
                    np.asarray(info["h_mean"], np.float32), np.asarray(info["h_std"], np.float32), cfg)
