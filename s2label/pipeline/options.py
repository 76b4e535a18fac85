"""The settings of a run, in one frozen object shared by :func:`s2label.run`, ``s2label run`` and
:func:`s2label.run_many`.

:class:`RunOptions` groups them by stage (segmentation, encoder, clustering, tiles, output) and checks them
when made, so a bad value fails at once with one clear error, before anything is read. The same options
given as flat keywords (``run(scene, segment_size=400, encoder="cnn")``) build the same object
(:meth:`RunOptions.from_keywords`).

Examples
--------
>>> options = RunOptions.from_keywords(encoder="spectral", segment_size=400)
>>> options.encoder.encoder, options.segmentation.segment_size, options.clustering.reduce
('spectral', 400, 'umap')
>>> options.replace(reduce="pca").clustering.reduce
'pca'
>>> RunOptions.from_keywords(encoder="resnet")
Traceback (most recent call last):
...
s2label.errors.S2LabelError: unknown encoder (--encoder) 'resnet'; use one of cnn-gnn, cnn, spectral
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from s2label.errors import S2LabelError

if TYPE_CHECKING:
    from s2label.encoders.cnn import CNNConfig
    from s2label.encoders.gnn import GNNConfig

__all__ = ["RunOptions", "SegmentationOptions", "EncoderOptions", "ClusteringOptions", "TileOptions",
           "OutputOptions", "DEFAULT_TILE_SIZE"]

#: Tile side of a tiled run when none is given (about 4 Mpx a tile).
DEFAULT_TILE_SIZE = 2048

_ENCODERS = ("cnn-gnn", "cnn", "spectral")  # s2label.encoders.encoder.ENCODERS, without importing torch
_SEGMENTATION_METHODS = ("slic", "felzenszwalb")
_REDUCTIONS = ("umap", "pca", "none")


def _named(what: str, argument: str) -> str:
    """``what`` with the command-line option of the Python ``argument``, where ``s2label run`` has one."""
    from s2label.pipeline.cli import CLI_OPTIONS  # imports nothing heavy

    return f"{what} ({CLI_OPTIONS[argument]})" if argument in CLI_OPTIONS else what


def _one_of(value: str, allowed: tuple[str, ...], what: str, argument: str) -> None:
    if value not in allowed:
        raise S2LabelError(f"unknown {_named(what, argument)} {value!r}; use one of {', '.join(allowed)}")


def _positive(value: float | None, what: str, *, zero: bool = False) -> None:
    if value is not None and not (value >= 0 if zero else value > 0):
        raise S2LabelError(f"{_named(what, what)} must be {'at least 0' if zero else 'positive'}, got {value!r}")


@dataclass(frozen=True)
class SegmentationOptions:
    """How the scene is cut into segments (:func:`s2label.segment`).

    Attributes
    ----------
    method : {"slic", "felzenszwalb"}
    segment_size : int
        Target segment size in pixels.
    compactness : float
        SLIC compactness on standardised bands.
    """

    method: str = "slic"
    segment_size: int = 200
    compactness: float = 0.1

    def __post_init__(self) -> None:
        _one_of(self.method, _SEGMENTATION_METHODS, "segmentation method", "segmentation_method")
        _positive(self.segment_size, "segment_size")
        _positive(self.compactness, "compactness")

    def params(self) -> dict[str, Any]:
        """The keyword arguments of :func:`s2label.segment`."""
        return {"method": self.method, "segment_size": self.segment_size, "compactness": self.compactness}


@dataclass(frozen=True)
class EncoderOptions:
    """Which encoder embeds the segments, and where it runs.

    Attributes
    ----------
    encoder : {"cnn-gnn", "cnn", "spectral"}
        See :func:`s2label.embed`.
    cnn, gnn : CNNConfig, GNNConfig, optional
        The networks' hyper-parameters (their defaults when None).
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    num_threads : int, optional
        torch threads.
    """

    encoder: str = "cnn-gnn"
    cnn: CNNConfig | None = None
    gnn: GNNConfig | None = None
    device: str = "auto"
    num_threads: int | None = None

    def __post_init__(self) -> None:
        _one_of(self.encoder, _ENCODERS, "encoder", "encoder")
        _positive(self.num_threads, "num_threads")


@dataclass(frozen=True)
class ClusteringOptions:
    """How the embeddings are clustered (:func:`s2label.clustering.clusterer.cluster`).

    Attributes
    ----------
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster (default: 1 % of the segments).
    reduce : {"umap", "pca", "none"}
        Reduction before HDBSCAN.
    extra : mapping
        More keyword arguments of :func:`~s2label.clustering.clusterer.cluster` (``n_components``...).
    """

    min_cluster_size: int | None = None
    reduce: str = "umap"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _one_of(self.reduce, _REDUCTIONS, "reduction", "reduce")
        _positive(self.min_cluster_size, "min_cluster_size")
        object.__setattr__(self, "extra", dict(self.extra))  # a copy: the caller's dict may change later

    def params(self, seed: int) -> dict[str, Any]:
        """The keyword arguments of :func:`~s2label.clustering.clusterer.cluster`."""
        return {"min_cluster_size": self.min_cluster_size, "reduce": self.reduce, "random_state": seed,
                **self.extra}


@dataclass(frozen=True)
class TileOptions:
    """Whether the scene is processed whole or by tiles (for scenes too large to hold whole).

    Attributes
    ----------
    size : int, optional
        Tiles of up to this many pixels a side (rounded up to SLIC's seed step), all of one size
        (:func:`s2label.segmentation.stitch.plan_segment_tiles`): memory then follows the tile, not the scene.
        None: the whole scene at once, unless an executor, ``client`` or ``workers`` is given (then
        :data:`DEFAULT_TILE_SIZE`).
    halo : int
        Context around each tile in pixels.
    """

    size: int | None = None
    halo: int = 70

    def __post_init__(self) -> None:
        _positive(self.size, "tile_size")
        _positive(self.halo, "halo", zero=True)


@dataclass(frozen=True)
class OutputOptions:
    """What is written besides the run folder's files.

    Attributes
    ----------
    gpkg : bool
        Also write ``clusters.gpkg`` (scene CRS).
    first_look : bool or None
        Before training a learned encoder, write the spectral clusters of the same segments to
        ``out/spectral/`` (a finished run folder of its own, :func:`s2label.pipeline.first_look.first_look_options`),
        so there is a map to look at within seconds. ``None`` (the default): for a scene held whole, not for a
        run by tiles (where it would read every tile once more).
    """

    gpkg: bool = False
    first_look: bool | None = None


#: The flat keywords of :func:`s2label.run`: keyword → (group, field); ``None`` as group: a field of RunOptions.
_KEYWORDS: dict[str, tuple[str | None, str]] = {
    "segmentation_method": ("segmentation", "method"), "segment_size": ("segmentation", "segment_size"),
    "compactness": ("segmentation", "compactness"),
    "encoder": ("encoder", "encoder"), "cnn": ("encoder", "cnn"), "gnn": ("encoder", "gnn"),
    "device": ("encoder", "device"), "num_threads": ("encoder", "num_threads"),
    "min_cluster_size": ("clustering", "min_cluster_size"), "reduce": ("clustering", "reduce"),
    "cluster_options": ("clustering", "extra"),
    "tile_size": ("tiles", "size"), "halo": ("tiles", "halo"),
    "gpkg": ("output", "gpkg"), "first_look": ("output", "first_look"),
    "read_options": (None, "read"), "seed": (None, "seed"), "progress": (None, "progress"),
}


@dataclass(frozen=True)
class RunOptions:
    """Every setting of a run, grouped by stage; checked when made.

    Attributes
    ----------
    segmentation : SegmentationOptions
    encoder : EncoderOptions
    clustering : ClusteringOptions
    tiles : TileOptions
    output : OutputOptions
    read : mapping
        Passed to :func:`s2label.read_scene` (``bands``, ``window``, ``bbox``, ``scale``...).
    seed : int
        Seeds Python, NumPy, torch and UMAP.
    progress : bool
        Progress bars over the stages (and inside long stages).

    Examples
    --------
    >>> options = RunOptions(encoder=EncoderOptions("cnn"), tiles=TileOptions(size=1024))
    >>> options.as_keywords()["tile_size"], options.tiled
    (1024, True)
    """

    segmentation: SegmentationOptions = field(default_factory=SegmentationOptions)
    encoder: EncoderOptions = field(default_factory=EncoderOptions)
    clustering: ClusteringOptions = field(default_factory=ClusteringOptions)
    tiles: TileOptions = field(default_factory=TileOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    read: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "read", dict(self.read or {}))

    @property
    def tiled(self) -> bool:
        """Whether a tile size is set (an executor, ``client`` or ``workers`` also makes a run tiled)."""
        return self.tiles.size is not None

    @classmethod
    def from_keywords(cls, **keywords: Any) -> RunOptions:
        """The options from :func:`s2label.run`'s flat keywords (``segment_size=400``, ``encoder="cnn"``...)."""
        return cls().replace(**keywords)

    def replace(self, **keywords: Any) -> RunOptions:
        """A copy with some flat keywords changed (the names of :meth:`as_keywords`).

        Raises
        ------
        TypeError
            For a keyword :func:`s2label.run` does not take.
        """
        unknown = sorted(set(keywords) - set(_KEYWORDS))
        if unknown:
            raise TypeError(f"unknown run option(s) {', '.join(unknown)}; the options are "
                            f"{', '.join(_KEYWORDS)}")
        groups: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in keywords.items():
            group, name = _KEYWORDS[key]
            if group is None:
                top[name] = value if key != "read_options" else dict(value or {})
            else:
                groups.setdefault(group, {})[name] = value if key != "cluster_options" else dict(value or {})
        changed = {g: dataclasses.replace(getattr(self, g), **fields) for g, fields in groups.items()}
        return dataclasses.replace(self, **changed, **top)

    def as_keywords(self) -> dict[str, Any]:
        """The flat keywords of :func:`s2label.run` that give these options."""
        return {key: getattr(self if group is None else getattr(self, group), name)
                for key, (group, name) in _KEYWORDS.items()}
