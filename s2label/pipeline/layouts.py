"""The two ways a run holds its scene: whole in memory, or by tiles read one at a time.

:func:`s2label.run` writes the pipeline's stages once (:mod:`s2label.pipeline.runner`); what differs between a
scene in memory and one too large to hold whole is only *how* three stages touch the pixels, and that is
what a layout does:

=======  ===================================  ======================================================
stage    :class:`WholeScene`                  :class:`Tiles`
=======  ===================================  ======================================================
read     the scene                            the grid from the headers, a sample of blocks
train    the U-Net on the scene               the U-Net on the sample
segment  SLIC on the scene                    SLIC tile by tile, stitched (:mod:`~s2label.segmentation.stitch`)
encode   features pooled over each segment    pooled tile by tile and summed (:mod:`~s2label.encoders.pooled`)
=======  ===================================  ======================================================

Tile tasks run where a :class:`s2label._tasks.Tasks` sends them: in this process or on an executor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from s2label._tasks import Tasks
from s2label.encoders.embeddings import Embeddings
from s2label.encoders.encoder import SegmentEncoder
from s2label.encoders.spectral import spectral_features
from s2label.io.read import read_scene
from s2label.io.scene import Scene
from s2label.segmentation.superpixels import Segmentation, segment

__all__ = ["WholeScene", "Tiles"]


def _model_bands(scene: Any, bands: tuple[str, ...] | None) -> Any:
    """A scene in memory narrowed to a saved model's bands when it has them all (else as it is)."""
    if isinstance(scene, Scene) and bands is not None and set(bands) <= set(scene.bands):
        return scene.select(list(bands))
    return scene


class WholeScene:
    """The scene read whole and held in memory.

    Parameters
    ----------
    source : Scene or anything :func:`s2label.read_scene` takes
    read_options : mapping
        For :func:`read_scene`.
    model_bands : tuple of str, optional
        A saved model's bands (a scene in memory is narrowed to them).
    """

    tiled = False

    def __init__(self, source: Any, read_options: Mapping[str, Any], *,
                 model_bands: tuple[str, ...] | None = None) -> None:
        self._source, self._read_options, self._model_bands = source, dict(read_options), model_bands
        self.scene: Scene | None = None

    def open(self, *, progress: bool = False) -> None:
        """Read the scene."""
        scene = self._source
        if not isinstance(scene, Scene):
            scene = read_scene(scene, progress=progress, **self._read_options)
        self.scene = _model_bands(scene, self._model_bands)

    @property
    def bands(self) -> tuple[str, ...]:
        assert self.scene is not None
        return tuple(self.scene.bands)

    @property
    def description(self) -> str:
        assert self.scene is not None
        return self.scene.source

    def training_scene(self) -> Scene:
        """What the U-Net trains on: the scene itself."""
        assert self.scene is not None
        return self.scene

    def trained(self) -> None:
        """The U-Net has trained (nothing to let go of: the scene is held for the later stages)."""

    def segment(self, params: Mapping[str, Any], tasks: Tasks, *, progress: bool = False) -> Segmentation:
        assert self.scene is not None
        return segment(self.scene, **params)

    def cnn_features(self, encoder: SegmentEncoder, segmentation: Segmentation, tasks: Tasks, *,
                     num_threads: int | None, progress: bool = False) -> np.ndarray:
        assert self.scene is not None
        return encoder.cnn_features(self.scene, segmentation, progress=progress)

    def spectral_embeddings(self, bands: tuple[str, ...], segmentation: Segmentation, tasks: Tasks, *,
                            progress: bool = False) -> Embeddings:
        assert self.scene is not None
        return spectral_features(self.scene.select(list(bands)), segmentation)

    @property
    def spectra(self) -> np.ndarray | None:
        """Mean band values of each segment when the layout pooled them (None: read from the scene)."""
        return None

    def report(self) -> dict[str, Any]:
        """``report.json``'s ``scene.read`` and the layout's ``params`` entries."""
        assert self.scene is not None
        return {"read": dict(self.scene.meta), "params": {}}


class Tiles:
    """The scene read tile by tile, never whole: memory follows the tile size, not the scene.

    Parameters
    ----------
    source : Scene or anything :func:`s2label.read_scene` takes
    read_options : mapping
    size, halo : int
        Tile side and context (:func:`s2label.segmentation.stitch.plan_segment_tiles`).
    segment_size : float
        Rounds the tiles to SLIC's seed step.
    model_bands : tuple of str, optional
    cnn : bool
        Whether a U-Net will run on the tiles (for the memory check).
    workers : int
        Tile tasks at once (for the memory check).
    seed : int
        Draws the training sample.
    """

    tiled = True

    def __init__(self, source: Any, read_options: Mapping[str, Any], *, size: int, halo: int, segment_size: float,
                 model_bands: tuple[str, ...] | None = None, cnn: bool = True, workers: int = 1,
                 seed: int = 0) -> None:
        self._source, self._read_options, self._model_bands = source, dict(read_options), model_bands
        self._size, self._halo, self._segment_size = size, halo, segment_size
        self._cnn, self._workers, self._seed = cnn, workers, seed
        self._sample: Scene | None = None
        self._spectra: np.ndarray | None = None
        self.scene: Scene | None = None  # never the whole scene

    def open(self, *, progress: bool = False) -> None:
        """The grid from the headers, checked to fit in memory, and a sample of blocks to train on."""
        from s2label.encoders.pooled import training_sample
        from s2label.io.source import open_source
        from s2label.pipeline.memory import check_tile_memory
        from s2label.segmentation.stitch import plan_segment_tiles
        from s2label.segmentation.superpixels import band_stats

        self.src = open_source(_model_bands(self._source, self._model_bands), self._read_options)
        self.grid = plan_segment_tiles(self.src.shape, self._segment_size, size=self._size, halo=self._halo)
        check_tile_memory(self.grid, len(self.src.grid.bands), cnn=self._cnn, workers=self._workers)
        self._sample = training_sample(self.src, seed=self._seed)
        self.stats = band_stats(self._sample)

    @property
    def bands(self) -> tuple[str, ...]:
        return tuple(self.src.grid.bands)

    @property
    def description(self) -> str:
        return self.src.description

    def training_scene(self) -> Scene:
        """What the U-Net trains on: blocks sampled from all over the scene."""
        assert self._sample is not None
        return self._sample

    def trained(self) -> None:
        """The U-Net has trained: its sample (already standardised with) is not needed any more."""
        self._sample = None

    def segment(self, params: Mapping[str, Any], tasks: Tasks, *, progress: bool = False) -> Segmentation:
        from s2label.segmentation.stitch import segment_tiles

        return segment_tiles(self.src, self.grid, params=params, stats=self.stats, tasks=tasks, progress=progress)

    def _pool(self, segmentation: Segmentation, tasks: Tasks, *, cnn: Any, device: str,
              num_threads: int | None, progress: bool) -> Any:
        from s2label.encoders.pooled import pool_tiles

        pooled = pool_tiles(self.src, self.grid, segmentation, cnn=cnn, device=device, num_threads=num_threads,
                            std=bool(cnn is not None and cnn.config.pool_std), tasks=tasks, progress=progress)
        self._spectra = pooled.bands
        return pooled

    def cnn_features(self, encoder: SegmentEncoder, segmentation: Segmentation, tasks: Tasks, *,
                     num_threads: int | None, progress: bool = False) -> np.ndarray:
        return self._pool(segmentation, tasks, cnn=encoder.cnn, device=encoder.device, num_threads=num_threads,
                          progress=progress).features

    def spectral_embeddings(self, bands: tuple[str, ...], segmentation: Segmentation, tasks: Tasks, *,
                            progress: bool = False) -> Embeddings:
        pooled = self._pool(segmentation, tasks, cnn=None, device="cpu", num_threads=None, progress=progress)
        return Embeddings(pooled.features, segmentation.segment_ids, "spectral",
                          {"std": True, "indices": True, "bands": list(self.bands)},
                          feature_names=pooled.feature_names)

    @property
    def spectra(self) -> np.ndarray | None:
        return self._spectra

    def report(self) -> dict[str, Any]:
        return {"read": {"offset": list(self.src.grid.offset), "tiled": True},
                "params": {"tiles": {"size": self.grid.size, "halo": self.grid.halo, "count": len(self.grid)}}}
