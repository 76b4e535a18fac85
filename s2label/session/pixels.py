"""The pixel-level part of a labelling session (a mixin of :class:`~s2label.session.LabelSession`):
pixel-exact polygons (the ``assign_pixels`` edit) and the label raster at segment or pixel precision.

Uses the session's ``segmentation``, ``scene``, ``_edit``, ``_rules`` and current state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from s2label.display.locate import pixels_in_polygon
from s2label.session.export import label_raster as session_label_raster
from s2label.session.export import scene_geometry

__all__ = ["PixelLabelling"]


class PixelLabelling:
    """Pixel-exact polygons and pixel-precise label rasters of a session."""

    segmentation: Any
    scene: Any
    _rules: Any
    _states: list[Any]
    _position: int
    _edit: Any

    def assign_pixels(self, polygon: Any, label_id: int, *, crs: Any = None) -> None:
        """Put the pixels inside a polygon in a label, exactly, whatever their segments (a pixel-exact polygon).

        The polygon is stored in the edit log (undo, replay), its pixels rasterised on the scene's grid (pixel
        centres inside, no-data left out, ``rasterio.features.rasterize``); they take the label in
        :meth:`label_raster` and every export, over the segment labels and later propagations. Segment counts
        and areas in the panel stay per segment. ``label_id=-1`` unlabels the pixels.

        Parameters
        ----------
        polygon : GeoJSON mapping or object with ``__geo_interface__``
            ``Polygon`` or ``MultiPolygon`` (or a ``Feature`` of one).
        label_id : int
        crs : optional
            CRS of the coordinates (anything ``rasterio.crs.CRS.from_user_input`` reads); default the scene's.

        Raises
        ------
        SessionError
            Not a polygon, self-intersecting, outside the scene, or covering no pixel with data.
        """
        self._edit({"op": "assign_pixels", "label": label_id,
                    "geometry": scene_geometry(polygon, crs, self.segmentation.crs)})

    def _pixels_in(self, geometry: Mapping[str, Any]) -> np.ndarray:
        return pixels_in_polygon(self.segmentation, None if self.scene is None else self.scene.valid, geometry)

    def pixel_overrides(self) -> list[tuple[np.ndarray, int]]:
        """The pixel-exact polygons now in force, in order: (flat pixel indices, label id)."""
        return self._rules.pixel_labels(self._states[self._position])

    def label_raster(self, *, precision: str = "segment", **options: Any) -> np.ndarray:
        """(H, W) int32 label id of every pixel (:func:`s2label.session.export.label_raster`):
        ``precision="pixel"`` re-decides pixels with a classifier trained on confidently labelled segments
        (``options`` of :func:`s2label.session.pixel_labels.refine_pixels`); pixel-exact polygons win in both."""
        return session_label_raster(self, precision=precision, **options)

