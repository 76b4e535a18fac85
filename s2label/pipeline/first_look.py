"""The first look: the spectral clusters of a run's segments, ready in seconds, before a learned encoder trains.

Training the default ``cnn-gnn`` encoder takes minutes on a laptop; its segments and their mean spectra take
seconds. A run with a learned encoder that writes a folder therefore writes, before training, the *first look*
to ``out/spectral/``: a finished run folder of its own (same files, ``report.json`` last), made of the same
segments (SLIC uses no random numbers: the segments are the ones the learned run ends with), clustered on the
spectral features with PCA before HDBSCAN (a second or two, where UMAP's compilation alone takes about ten).
:func:`s2label.explore` shows it at once and swaps in the learned clusters when they are ready.

Examples
--------
>>> from s2label.pipeline.options import RunOptions
>>> options = first_look_options(RunOptions())
>>> options.encoder.encoder, options.clustering.reduce, options.output.first_look
('spectral', 'pca', False)
>>> wants_first_look(RunOptions(), encoder="cnn-gnn", writes=True, tiled=False, model=False)
True
>>> wants_first_look(RunOptions(), encoder="cnn-gnn", writes=True, tiled=True, model=False)
False
"""

from __future__ import annotations

from pathlib import Path

from s2label.errors import S2LabelError
from s2label.pipeline.options import RunOptions

__all__ = ["FIRST_LOOK_DIR", "first_look_options", "first_look_folder", "wants_first_look"]

#: The first look's folder inside a run folder.
FIRST_LOOK_DIR = "spectral"


def first_look_options(options: RunOptions) -> RunOptions:
    """The options of a run's first look: the same segmentation, read options and seed; the spectral encoder,
    PCA before HDBSCAN; no first look of its own.

    Parameters
    ----------
    options : RunOptions
        The learned run's options.

    Returns
    -------
    RunOptions
        A copy with ``encoder="spectral"``, ``reduce="pca"`` and ``first_look=False``.
    """
    return options.replace(encoder="spectral", reduce="pca", first_look=False)


def first_look_folder(out: str | Path) -> Path:
    """Where the first look of the run folder ``out`` lies: ``out/spectral``.

    Parameters
    ----------
    out : str or pathlib.Path
        The run folder.

    Returns
    -------
    pathlib.Path
    """
    return Path(out) / FIRST_LOOK_DIR


def wants_first_look(options: RunOptions, *, encoder: str, writes: bool, tiled: bool, model: bool) -> bool:
    """Whether a run writes a first look: it trains a learned encoder, writes a folder, and ``first_look`` is on
    (``None``: on for a scene held whole, off by tiles).

    Parameters
    ----------
    options : RunOptions
        Its ``output.first_look`` (``True``, ``False`` or ``None``) is what was asked.
    encoder : str
        The run's encoder (``"cnn-gnn"``, ``"cnn"`` or ``"spectral"``).
    writes : bool
        Whether the run writes an output folder.
    tiled : bool
        Whether the run goes by tiles.
    model : bool
        Whether the run reuses a saved model (no training).

    Returns
    -------
    bool

    Raises
    ------
    S2LabelError
        ``first_look=True`` for a run that writes nothing, uses the spectral encoder or reuses a model.
    """
    asked = options.output.first_look
    learned = encoder != "spectral" and not model
    if asked and not (learned and writes):
        raise S2LabelError("first_look (--first-look) needs a run that trains a learned encoder (cnn or cnn-gnn, "
                           "no saved model) "
                           "and writes an output folder")
    return bool(learned and writes and (asked if asked is not None else not tiled))

