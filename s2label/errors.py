"""Exceptions and warnings raised by s2label.

Every error a user can cause (a missing file, a raster with no CRS, an unknown band, an output folder that
cannot be written, ...) is raised as a subclass of :class:`S2LabelError` whose message names the file (when
there is one) and the problem, in one line. The command line prints that line and exits non-zero.

Examples
--------
>>> err = SceneError("no CRS; assign one with gdal_edit.py -a_srs", path="scene.tif")
>>> str(err)
'scene.tif: no CRS; assign one with gdal_edit.py -a_srs'
>>> isinstance(err, S2LabelError)
True
"""

from __future__ import annotations

import os

__all__ = [
    "S2LabelError",
    "SceneError",
    "BandError",
    "SceneTooSmallError",
    "SegmentationError",
    "ClusteringError",
    "ModelError",
    "OutputError",
    "SessionError",
    "StaleSessionError",
    "S2LabelWarning",
]


class S2LabelError(Exception):
    """Base class of all errors s2label raises for bad input.

    Parameters
    ----------
    problem : str
        What is wrong, in one line.
    path : str or os.PathLike, optional
        The file or folder the problem is about; it prefixes the message.
    """

    def __init__(self, problem: str, *, path: str | os.PathLike[str] | None = None) -> None:
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


class SceneError(S2LabelError):
    """A scene cannot be read: missing, not a raster, no CRS, all no-data, bad window."""


class BandError(S2LabelError):
    """A band name is unknown, duplicated or missing, or there are too few bands."""


class SceneTooSmallError(S2LabelError):
    """The scene (or window) holds too few valid pixels for the requested segmentation."""


class SegmentationError(S2LabelError):
    """A segmentation does not fit the scene or graph it is used with."""


class ClusteringError(S2LabelError, ValueError):
    """Embeddings cannot be clustered (too few segments, non-finite values, ...)."""


class ModelError(S2LabelError):
    """A saved model folder is missing, corrupt, or was made for other bands."""


class OutputError(S2LabelError):
    """An output file or folder cannot be written."""


class SessionError(S2LabelError):
    """A labelling-session edit is invalid, or a session file is corrupt or from another scene."""


class S2LabelWarning(UserWarning):
    """Something was assumed that the user may want to state explicitly."""


class StaleSessionError(SessionError):
    """No longer raised (kept one release for code that catches it): sessions on one store bring in each
    other's edits before every edit instead of refusing it (:mod:`s2label.session.stored`)."""
