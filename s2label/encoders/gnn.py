"""A graph neural network over the segment adjacency graph, trained without labels (Deep Graph Infomax).

Two ``SAGEConv`` layers (2 hops) aggregate each segment's neighbours as a set — a mean, so the result does
not depend on their order or on the scene's orientation. The output keeps the segment's own features beside
the aggregated neighbourhood (concatenation), as the paper does: context is added, identity is not lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import DeepGraphInfomax, SAGEConv
from tqdm.auto import tqdm

from s2label._renamed import renamed_function
from s2label._seeding import keeps_torch_rng
from s2label._standardise import flat_to_one, spread, standardise
from s2label.encoders.cnn import resolve_device, torch_threads
from s2label.errors import S2LabelError
from s2label.segmentation.graph import SegmentGraph

__all__ = ["GraphEncoder", "GNNConfig", "GNNModel", "train_gnn", "training_nodes", "standardise_columns", "dgi_summary"]


class GraphEncoder(nn.Module):
    """``num_layers`` SAGEConv layers with PReLU: (N, in_channels) → (N, out_channels).

    Examples
    --------
    >>> enc = GraphEncoder(in_channels=3, hidden_channels=8, out_channels=4)
    >>> x = torch.zeros(4, 3); edge_index = torch.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    >>> tuple(enc(x, edge_index).shape)
    (4, 4)
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64, out_channels: int = 32,
                 num_layers: int = 2) -> None:
        super().__init__()
        dims = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(SAGEConv(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.acts = nn.ModuleList(nn.PReLU(b) for b in dims[1:])

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        for conv, act in zip(self.convs, self.acts, strict=True):
            x = act(conv(x, edge_index))
        return x


@dataclass(frozen=True)
class GNNConfig:
    """Hyper-parameters of the graph stage (saved with the model).

    Attributes
    ----------
    hidden_channels, out_channels, num_layers : int
    epochs : int
        Full-graph DGI training steps (fixed, so runs are reproducible).
    max_train_nodes : int
        Larger graphs are trained on the subgraph of a seeded sample of whole regions of the scene holding about
        this many segments (the layers are inductive: the whole graph is then embedded with them). Full-batch
        training slows down faster than the graph grows (200 epochs: 13 s at 20,000 segments, 462 s at 324,000).
    lr : float
    self_weight : float
        Scale of the segment's own (standardised) features in the output, against the GNN part.
    """

    hidden_channels: int = 64
    out_channels: int = 32
    num_layers: int = 2
    epochs: int = 200
    max_train_nodes: int = 100_000
    lr: float = 1e-3
    self_weight: float = 1.0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GNNConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def standardise_columns(x: np.ndarray, mean: np.ndarray | None = None,
                        std: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-mean, unit-variance columns (with the statistics used, to apply them to another scene).

    Parameters
    ----------
    x : ndarray (N, D)
        Rows to standardise, e.g. node features.
    mean, std : ndarray (D,), optional
        Statistics to use (e.g. another scene's); default those of ``x``'s columns. A standard deviation of
        (about) zero is taken as 1, so a flat column is only centred.

    Returns
    -------
    x : ndarray (N, D) float32
        Standardised.
    mean, std : ndarray (D,) float32
        The statistics used.
    """
    if mean is None or std is None:
        own_mean, own_std = spread(x, axis=0)
        mean = own_mean if mean is None else mean
        std = own_std if std is None else std
    std = flat_to_one(std)
    return standardise(x, mean, std), np.asarray(mean, np.float32), std.astype(np.float32)


def dgi_summary(z: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Deep Graph Infomax's read-out: the sigmoid of the mean node embedding.

    Parameters
    ----------
    z : torch.Tensor (N, D)
        Node embeddings.
    *args, **kwargs
        The encoder's inputs, which :class:`torch_geometric.nn.DeepGraphInfomax` also passes; ignored.

    Returns
    -------
    torch.Tensor (D,)
    """
    return torch.sigmoid(z.mean(dim=0))


def _corruption(x: torch.Tensor, edge_index: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    return x[torch.randperm(x.size(0), generator=generator)], edge_index


@dataclass(eq=False)
class GNNModel:
    """A trained graph encoder and the input standardisation it expects.

    Attributes
    ----------
    dgi : DeepGraphInfomax
        Holds the encoder (``dgi.encoder``) and the discriminator weight.
    mean, std : ndarray (D,)
        Standardisation of the input node features.
    h_mean, h_std : ndarray (out_channels,)
        Standardisation of the GNN output, fixed on the training graph (so other scenes get the same scale).
    config : GNNConfig
    losses : list of float
    """

    dgi: DeepGraphInfomax
    mean: np.ndarray
    std: np.ndarray
    h_mean: np.ndarray
    h_std: np.ndarray
    config: GNNConfig = field(default_factory=GNNConfig)
    losses: list[float] = field(default_factory=list)

    @torch.no_grad()
    def transform(self, x: np.ndarray, graph: SegmentGraph, *, device: str | torch.device | None = "auto",
                  num_threads: int | None = None) -> np.ndarray:
        """Embed nodes: ``[self_weight * standardised x, GNN(x)]``, (N, D + out_channels) float32."""
        if x.shape[1] != self.mean.shape[0]:
            raise S2LabelError(f"node features have {x.shape[1]} columns; the graph model expects "
                               f"{self.mean.shape[0]}")
        if x.shape[0] != graph.num_nodes:
            raise S2LabelError(f"{x.shape[0]} node feature rows for a graph of {graph.num_nodes} segments")
        xs, _, _ = standardise_columns(x, self.mean, self.std)
        h, _, _ = standardise_columns(self._encode(xs, graph, device, num_threads), self.h_mean, self.h_std)
        return np.hstack([self.config.self_weight * xs, h]).astype(np.float32)

    @torch.no_grad()
    def _encode(self, xs: np.ndarray, graph: SegmentGraph, device: str | torch.device | None,
                num_threads: int | None) -> np.ndarray:
        dev = resolve_device(device)
        self.dgi.eval().to(dev)
        with torch_threads(num_threads):
            h = self.dgi.encoder(torch.from_numpy(xs).to(dev), torch.from_numpy(graph.edge_index).to(dev))
        return h.cpu().numpy()

    def config_dict(self) -> dict[str, Any]:
        return {"config": asdict(self.config), "mean": self.mean.tolist(), "std": self.std.tolist(),
                "h_mean": self.h_mean.tolist(), "h_std": self.h_std.tolist(), "in_channels": int(self.mean.shape[0])}


def training_nodes(graph: SegmentGraph, n: int, *, seed: int = 0, cells: int = 8) -> np.ndarray:
    """About ``n`` nodes making whole regions of the scene: the segments of randomly drawn (seeded) square
    cells, each holding about ``n / cells`` of them, so most nodes keep their neighbours.

    Parameters
    ----------
    graph : SegmentGraph
        Its node centroids place the cells.
    n : int
        Number of nodes wanted (at least).
    seed : int
        Seeds the order in which cells are drawn.
    cells : int
        About how many cells make up the ``n`` nodes (sets the cell size).

    Returns
    -------
    ndarray (K,) int64
        Sorted node indices, K >= n (all nodes when the graph has no more than ``n``).

    Examples
    --------
    >>> from s2label.segmentation.graph import build_graph
    >>> g = build_graph(np.arange(1, 10001, dtype=np.int32).reshape(100, 100).repeat(4, 0).repeat(4, 1))
    >>> nodes = training_nodes(g, 2000, seed=0)
    >>> 2000 <= nodes.size < 2600, bool(g.subgraph(nodes).degree().mean() > 3.5)
    (True, True)
    """
    if graph.num_nodes <= n:
        return np.arange(graph.num_nodes, dtype=np.int64)
    cen = np.nan_to_num(graph.centroids)
    lo, hi = cen.min(axis=0), cen.max(axis=0) + 1
    side = max(float(np.sqrt((hi - lo).prod() * (n / cells) / graph.num_nodes)), 1.0)
    cell = ((cen - lo) // side).astype(np.int64)
    key = cell[:, 0] * (int((hi[1] - lo[1]) // side) + 1) + cell[:, 1]
    cells_found, counts = np.unique(key, return_counts=True)
    order = np.random.default_rng(seed).permutation(cells_found.size)
    enough = int(np.searchsorted(np.cumsum(counts[order]), n)) + 1   # the first cells that hold n segments
    return np.flatnonzero(np.isin(key, cells_found[order[:enough]])).astype(np.int64)


@keeps_torch_rng
def train_gnn(x: np.ndarray, graph: SegmentGraph, *, config: GNNConfig | None = None, seed: int = 0,
              device: str | torch.device | None = "auto", num_threads: int | None = None,
              progress: bool = False) -> GNNModel:
    """Train the graph encoder with PyG's :class:`~torch_geometric.nn.DeepGraphInfomax` on the whole graph.

    Parameters
    ----------
    x : ndarray (N, D)
        Node (segment) features, e.g. pooled CNN features.
    graph : SegmentGraph
        Isolated segments are fine: they keep their own features and a neighbour-free GNN part.
    config : GNNConfig, optional
    seed : int
    device, num_threads, progress
        As for :func:`s2label.encoders.cnn.train_cnn`.

    Returns
    -------
    GNNModel

    Notes
    -----
    A graph of more than ``config.max_train_nodes`` segments is trained on the subgraph of whole regions holding
    about that many (:func:`training_nodes`); the output standardisation is then fixed on the whole graph.
    """
    cfg = config or GNNConfig()
    if x.ndim != 2 or x.shape[0] != graph.num_nodes:
        raise S2LabelError(f"node features of shape {x.shape} do not fit a graph of {graph.num_nodes} segments")
    if not np.isfinite(x).all():
        raise S2LabelError("node features contain NaN or infinity")
    dev = resolve_device(device)
    xs, mean, std = standardise_columns(x)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    encoder = GraphEncoder(x.shape[1], cfg.hidden_channels, cfg.out_channels, cfg.num_layers)
    dgi = DeepGraphInfomax(cfg.out_channels, encoder=encoder, summary=dgi_summary,
                           corruption=lambda a, b: _corruption(a, b, gen)).to(dev)
    out = np.zeros(cfg.out_channels, np.float32)
    model = GNNModel(dgi, mean, std, out, np.ones_like(out), cfg)
    train_graph, train_x = graph, xs
    if graph.num_nodes > cfg.max_train_nodes:
        nodes = training_nodes(graph, cfg.max_train_nodes, seed=seed)
        train_graph, train_x = graph.subgraph(nodes), xs[nodes]
    xt, ei = torch.from_numpy(train_x).to(dev), torch.from_numpy(train_graph.edge_index).to(dev)
    opt = torch.optim.Adam(dgi.parameters(), lr=cfg.lr)
    dgi.train()
    with torch_threads(num_threads):
        for _ in tqdm(range(cfg.epochs), desc="train gnn", disable=not progress, leave=False):
            opt.zero_grad(set_to_none=True)
            pos, neg, summary = dgi(xt, ei)
            loss = dgi.loss(pos, neg, summary)
            loss.backward()
            opt.step()
            model.losses.append(float(loss.detach()))
    dgi.eval()
    _, model.h_mean, model.h_std = standardise_columns(model._encode(xs, graph, device, num_threads))
    return model


standardize_columns = renamed_function(standardise_columns, "s2label.encoders.gnn.standardize_columns")
