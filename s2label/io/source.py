"""A scene read part by part: what the tile tasks of a large scene read from (a file, ``.SAFE``, STAC item, or
a scene in memory), with the read options every part shares."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from affine import Affine

from s2label.io.read import SceneGrid, read_scene, scene_grid
from s2label.io.scene import Scene

__all__ = ["SceneSource", "open_source"]

#: Rows ``row0:row1`` and columns ``col0:col1`` of a grid.
Bounds = tuple[int, int, int, int]

#: Read options that choose the part of the scene; tiles are placed inside that part.
_PART_OPTIONS = ("window", "bbox", "bbox_crs")


@dataclass(frozen=True)
class SceneSource:
    """What tile tasks read from: a file, ``.SAFE`` or STAC item with read options, or a scene in memory.

    Attributes
    ----------
    source : Any
        Anything :func:`s2label.read_scene` takes, or a :class:`~s2label.Scene`.
    grid : SceneGrid
        The whole grid to process (of the ``window``/``bbox`` part when the read options chose one).
    read_options : Mapping
        Passed to every :func:`read_scene` of a part (bands fixed to ``grid.bands``).
    """

    source: Any
    grid: SceneGrid
    read_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.grid.shape

    @property
    def description(self) -> str:
        return self.source.source if isinstance(self.source, Scene) else os.fspath(
            self.source) if isinstance(self.source, (str, os.PathLike)) else str(getattr(self.source, "id", ""))

    def read(self, bounds: Bounds) -> Scene:
        """The part ``(row0, row1, col0, col1)`` of the grid as a :class:`~s2label.Scene` (may hold no valid pixel)."""
        r0, r1, c0, c1 = bounds
        if isinstance(self.source, Scene):
            s = self.source
            return Scene(s.data[:, r0:r1, c0:c1].copy(), s.bands, s.transform * Affine.translation(c0, r0), s.crs,
                         s.valid[r0:r1, c0:c1].copy(), s.source, dict(s.meta))
        ro, co = self.grid.offset
        return read_scene(self.source, window=((ro + r0, ro + r1), (co + c0, co + c1)), allow_empty=True,
                          **self.read_options)


def open_source(source: Any, read_options: Mapping[str, Any] | None = None) -> SceneSource:
    """A :class:`SceneSource` for a scene in memory or anything :func:`read_scene` takes (headers only).

    A :class:`SceneSource` is returned as it is.

    Parameters
    ----------
    source : Scene, SceneSource or anything :func:`read_scene` takes
        What to read from.
    read_options : mapping, optional
        Keywords of :func:`read_scene` (``bands``, ``window``, ``bbox``, ``scale``...); ignored for a scene in
        memory or a :class:`SceneSource`.

    Returns
    -------
    SceneSource
        Its ``grid`` is that of the ``window``/``bbox`` part; the other options (bands fixed to the grid's,
        ``progress`` dropped) go to every read of a part.

    Examples
    --------
    >>> from s2label.io.datasets import sample_scene_path
    >>> src = open_source(sample_scene_path(), {"bands": ["B02", "B03", "B04", "B08"],
    ...                                          "window": ((0, 300), (0, 400))})
    >>> src.shape, src.read((10, 20, 0, 5)).data.shape
    ((300, 400), (4, 10, 5))
    """
    if isinstance(source, SceneSource):
        return source
    opts = dict(read_options or {})
    if isinstance(source, Scene):
        grid = SceneGrid(source.shape, source.transform, source.crs, source.bands)
        return SceneSource(source, grid, {})
    grid = scene_grid(source, **opts)
    rest = {k: v for k, v in opts.items() if k not in _PART_OPTIONS and k != "progress"}
    rest["bands"] = list(grid.bands)
    return SceneSource(source, grid, rest)
