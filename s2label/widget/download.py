"""A browser download link for a file written on the server (labels, a GeoPackage, a GeoTIFF).

On Binder the notebook's server is not the researcher's machine: a file that an export writes there is
only reachable through the JupyterLab file browser. :func:`download_link` puts the file's bytes into an
``<a download>`` data URL instead, for an ``ipywidgets.HTML`` value, so one click saves it.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "labels.geojson"
>>> _ = path.write_text('{"type": "FeatureCollection", "features": []}')
>>> link = download_link(path)
>>> link.startswith('<a class="s2label-download" download="labels.geojson" href="data:application/geo+json;base64,')
True
>>> link.endswith(">download labels.geojson (45 B)</a>")
True
"""

from __future__ import annotations

import base64
import errno
import html
import os
import warnings
from pathlib import Path
from typing import Any

import ipywidgets as w

from s2label.errors import S2LabelWarning
from s2label.widget.layers import wrap_row

__all__ = ["MIME_TYPES", "mime_type", "human_size", "download_link", "ExportActions"]

#: Media type of a file by its suffix (lower case); any other suffix is ``application/octet-stream``.
MIME_TYPES: dict[str, str] = {
    ".geojson": "application/geo+json",
    ".gpkg": "application/geopackage+sqlite3",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".json": "application/json",
}


def mime_type(path: str | os.PathLike[str]) -> str:
    """The media type of a file from its suffix (case-insensitive), :data:`MIME_TYPES` or octet-stream.

    Parameters
    ----------
    path : path-like
        Only its suffix is read; the file need not exist.

    Returns
    -------
    str
        E.g. ``"image/tiff"``.

    Examples
    --------
    >>> mime_type("a/labels.GPKG"), mime_type("scene.tif"), mime_type("notes.txt")
    ('application/geopackage+sqlite3', 'image/tiff', 'application/octet-stream')
    """
    return MIME_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


def human_size(n_bytes: int) -> str:
    """A byte count in decimal (SI) units: whole bytes below 1 kB, one decimal above.

    Parameters
    ----------
    n_bytes : int
        ``>= 0``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        A negative count.

    Examples
    --------
    >>> human_size(512), human_size(12_345), human_size(999_999), human_size(3_200_000_000)
    ('512 B', '12.3 kB', '1.0 MB', '3.2 GB')
    """
    if n_bytes < 0:
        raise ValueError(f"a size cannot be negative, got {n_bytes}")
    if n_bytes < 1000:
        return f"{int(n_bytes)} B"
    value = float(n_bytes)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if round(value, 1) < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def download_link(path: str | os.PathLike[str], *, text: str | None = None, max_bytes: int = 50_000_000) -> str:
    """An HTML link that saves a server-side file in the browser: ``<a download="NAME" href="data:...">``.

    Parameters
    ----------
    path : str or path-like
        The file on the server (the kernel's machine).
    text : str, optional
        The link's text, as plain text (it is escaped); default ``"download NAME (SIZE)"``.
    max_bytes : int
        Largest file put in a link (>= 0). The data URL is a third larger than the file and goes to the
        browser whole with the widget's state, so a larger file gets a note naming its path instead.

    Returns
    -------
    str
        The ``<a class="s2label-download">`` element, its media type from the suffix (:func:`mime_type`);
        or, for a file over ``max_bytes``, a ``<span class="s2label-download-too-large">`` note. Every name,
        text and path in it is escaped with ``html.escape(quote=True)``.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path`` (its ``filename`` is the path).
    IsADirectoryError
        If ``path`` is a directory.
    ValueError
        If ``max_bytes`` is negative.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scene.tif"
    >>> _ = path.write_bytes(bytes(2000))
    >>> download_link(path, text="the scene")[-14:]
    '>the scene</a>'
    >>> download_link(path, max_bytes=1000).startswith('<span class="s2label-download-too-large">scene.tif (2.0 kB)')
    True
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"max_bytes must be an integer >= 0, got {max_bytes!r}")
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(errno.ENOENT, f"no file to download at {os.fspath(path)}", os.fspath(path))
    if file.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"cannot download a directory: {os.fspath(path)}", os.fspath(path))
    name = file.name
    size = file.stat().st_size
    esc = lambda s: html.escape(s, quote=True)
    if size > max_bytes:
        return (f'<span class="s2label-download-too-large">{esc(name)} ({human_size(size)}) is too large for a '
                f'download link (over {human_size(max_bytes)}); it is on the server at '
                f'<code>{esc(os.fspath(path))}</code></span>')
    content = file.read_bytes()
    data = base64.b64encode(content).decode("ascii")
    label = f"download {name} ({human_size(len(content))})" if text is None else text
    return (f'<a class="s2label-download" download="{esc(name)}" href="data:{mime_type(file)};base64,{data}">'
            f'{esc(label)}</a>')


class ExportActions:
    """The explorer's export buttons (a mixin of :class:`~s2label.widget.ClusterExplorer`, which builds the
    Export tab's widgets and provides ``session``, ``say`` and ``_run``)."""

    session: Any
    export_dir: Path
    export_name: Any
    export_hidden: Any
    export_precision: Any
    export_info: Any
    say: Any
    _run: Any

    def _build_export_tab(self) -> None:
        """The Export tab: file name, hidden labels, precision and preview, one button per format."""
        self.export_name = w.Text(value="labels", description="file name")
        self.export_hidden = w.Checkbox(value=True, description="include hidden labels", indent=False)
        self.export_buttons = {fmt: w.Button(description=fmt, icon="download", layout=w.Layout(width="auto"))
                               for fmt in ("GeoJSON", "GeoPackage", "GeoTIFF")}
        for fmt, button in self.export_buttons.items():
            button.on_click(lambda _, fmt=fmt: self.export(fmt))
        self.chips_button = w.Button(description="training chips", icon="th", layout=w.Layout(width="auto"),
                                     tooltip="256 px image chips and label masks, an index (CSV, STAC) and a "
                                             "spatially blocked train/val/test split, into a folder")
        self.chips_button.on_click(lambda _: self.export_chips())
        self.export_info = w.HTML("")
        self.export_info.add_class("s2label-export-info")
        self.export_tab = w.VBox([self.export_name, self.export_hidden,
                                  wrap_row(self.export_precision, self.pixel_preview),
                                  wrap_row(*self.export_buttons.values(), self.chips_button), self.export_info])

    def export(self, fmt: str) -> Path | None:
        """Write the labels as ``GeoJSON``, ``GeoPackage`` or ``GeoTIFF`` into :attr:`export_dir`, and offer
        the file as a download in the browser (for Binder and other remote servers)."""
        suffix = {"GeoJSON": ".geojson", "GeoPackage": ".gpkg", "GeoTIFF": ".tif"}[fmt]
        stem = Path(self.export_name.value.strip() or "labels").name
        path = self._run(self.session.export, self.export_dir / f"{stem}{suffix}",
                         include_hidden=self.export_hidden.value, precision=self.export_precision.value)
        if path is None or path is True:
            return None
        self.export_info.value = (f"wrote <code>{html.escape(str(path))}</code><br>"
                                  f"{download_link(path)}")
        self.say(f"exported {path.name}")
        return path

    def export_chips(self) -> Any:
        """Write training chips of the labels (:meth:`LabelSession.export_chips`, 256 px, at the chosen precision)
        into the folder ``NAME-chips`` of :attr:`export_dir`, and say how many went to each split.

        Returns
        -------
        ChipExport or None
            ``None`` when the session refused (the status line says why).
        """
        stem = Path(self.export_name.value.strip() or "labels").name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", S2LabelWarning)
            chips = self._run(self.session.export_chips, self.export_dir / f"{stem}-chips",
                              precision=self.export_precision.value, progress=False)
        if chips is None or chips is True:
            return None
        counts = ", ".join(f"{chips.counts[s]} {s}" for s in ("train", "val", "test"))
        what = f"{chips.n_chips} training chip{'s' if chips.n_chips != 1 else ''}"
        notes = "".join(f"<br><b>note</b>: {html.escape(str(w.message))}" for w in caught
                        if issubclass(w.category, S2LabelWarning))
        self.export_info.value = (f"wrote {what} ({counts}; {chips.counts['buffer']} left out between splits, "
                                  f"{chips.n_skipped} under half labelled) into "
                                  f"<code>{html.escape(str(chips.folder))}</code>: images/, masks/, chips.csv, "
                                  f"chips.json (STAC){notes}")
        self.say(f"wrote {what}")
        return chips
