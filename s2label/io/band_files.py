"""Find a scene's band files (a folder, a .SAFE product, a stacked raster, a STAC item) and open them, locally or
over HTTP.

:func:`s2label.read_scene` turns what the user passed into a list of band sources, one per band, and opens each
here; remote files (``http(s)://``) go through GDAL's ``/vsicurl/`` with a few retries.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import urlsplit
from urllib.request import url2pathname

import rasterio
from rasterio.errors import RasterioIOError

from s2label.errors import BandError, S2LabelWarning, SceneError
from s2label.io.bands import CANONICAL_BANDS, band_from_filename, normalise_band, normalise_bands
from s2label.io.safe import baseline_offset_default, find_safe_root, parse_safe
from s2label.io.stac import describe_item, is_stac_item, stac_bands

if TYPE_CHECKING:
    import pystac

__all__ = ["RASTER_SUFFIXES"]


#: File endings read as rasters when a folder is given.
RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".img")


# GDAL options for reading COGs over HTTP (/vsicurl/), set only while a remote file is open and only where the
# user has not set them (environment variable or an enclosing rasterio.Env).
_HTTP_GDAL_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no directory listing, no probing for sidecar files
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",  # one request for adjacent tiles
    "GDAL_HTTP_MAX_RETRY": "2",  # GDAL retries 429 / 5xx / reset connections itself ...
    "GDAL_HTTP_RETRY_DELAY": "0.5",  # ... after this many seconds (growing)
    "GDAL_HTTP_CONNECTTIMEOUT": "10",
    "GDAL_HTTP_TIMEOUT": "30",
}


#: Opening a remote file that cannot be reached (connection refused, time-out, DNS) is tried this often ...
_HTTP_OPEN_ATTEMPTS = 3


#: ... this many seconds apart. HTTP errors are not retried here: 4xx are final, and GDAL retried 5xx already.
_HTTP_RETRY_DELAY = 0.5


_UNREACHABLE = ("could not connect", "couldn't connect", "failed to connect", "connection refused",
                "could not resolve", "timed out", "connection reset", "does not exist in the file system")


@dataclass(frozen=True)
class _BandSource:
    band: str
    path: Path | str  # str: a URL (http(s)://, s3://, /vsi...), opened by GDAL directly
    index: int  # 1-based band index inside the file
    scale: float | None = None  # None: decided from the file's metadata or data type
    offset: float | None = None
    asset: str | None = None  # key of the STAC asset holding the band


@contextlib.contextmanager
def _open(path: Path | str, asset: str | None = None) -> Iterator[rasterio.DatasetReader]:
    """Open a raster for the duration of a ``with`` block; read errors become :class:`SceneError` naming the
    file (and the STAC asset). Remote files are read with the HTTP options of :func:`_remote_env`."""
    of_asset = f" (asset {asset!r})" if asset else ""
    with _remote_env(path):
        if isinstance(path, str):
            ds = _open_url(path, asset)
        else:
            if not path.exists():
                raise SceneError(f"no such file or folder{of_asset}", path=path)
            try:
                ds = rasterio.open(path)
            except RasterioIOError as exc:
                raise SceneError(f"not a readable raster{of_asset} ({_reason(exc)})", path=path) from None
        with ds:
            try:
                yield ds
            except RasterioIOError as exc:
                raise SceneError(f"reading failed{of_asset} ({_reason(exc)})", path=path) from None


def _open_url(href: str, asset: str | None) -> rasterio.DatasetReader:
    """Open a URL with GDAL, retrying (uncached) a few times when the server could not be reached."""
    what = f"asset {asset!r}" if asset else "remote file"
    for attempt in range(1, _HTTP_OPEN_ATTEMPTS + 1):
        # GDAL caches a failed open; a retry must go to the server again
        nocache = rasterio.Env(CPL_VSIL_CURL_NON_CACHED=_vsi_path(href)) if attempt > 1 else contextlib.nullcontext()
        try:
            with nocache:
                return rasterio.open(href)
        except RasterioIOError as exc:
            reason = _reason(exc).removeprefix("CURL error: ")
        if not any(r in reason.lower() for r in _UNREACHABLE) or attempt == _HTTP_OPEN_ATTEMPTS:
            break
        time.sleep(_HTTP_RETRY_DELAY)
    tries = f"; gave up after {attempt} attempts" if attempt > 1 else ""
    raise SceneError(f"{what} cannot be read ({reason}{tries})", path=href)


def _reason(exc: Exception) -> str:
    return str(exc).split("\n")[0]


def _vsi_path(href: str) -> str:
    return href if href.startswith("/vsi") else f"/vsicurl/{href}"


def _is_http(path: Path | str) -> bool:
    return isinstance(path, str) and path.lower().startswith(("http://", "https://", "/vsicurl/"))


def _remote_env(path: Path | str) -> contextlib.AbstractContextManager[Any]:
    """``rasterio.Env`` with the GDAL options for efficient, bounded HTTP range reads of ``path``, or a no-op
    for a local file. Options the user has set (as environment variables or in an enclosing
    ``rasterio.Env``) are left alone."""
    if not _is_http(path):
        return contextlib.nullcontext()
    options = dict(_HTTP_GDAL_OPTIONS)
    suffix = os.path.splitext(urlsplit(str(path)).path)[1]
    if suffix:  # only the file itself: no .aux.xml / .ovr / .msk requests
        options["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"] = suffix
    current = rasterio.env.getenv() if rasterio.env.hasenv() else {}
    return rasterio.Env(**{k: v for k, v in options.items() if k not in os.environ and k not in current})


def _grid(path: Path | str, asset: str | None = None) -> dict[str, Any]:
    with _open(path, asset) as ds:
        if ds.crs is None:
            raise SceneError("raster has no CRS (georeference it, e.g. gdal_edit.py -a_srs EPSG:32633)",
                             path=path)
        if ds.transform.is_identity:
            raise SceneError("raster has no geotransform", path=path)
        return {"transform": ds.transform, "crs": ds.crs, "shape": (ds.height, ds.width),
                "res": max(abs(ds.transform.a), abs(ds.transform.e))}


def _resolve_sources(source: PathLike | Sequence[PathLike] | pystac.Item,
                     band_names: Sequence[str] | None) -> tuple[list[_BandSource], dict[str, Any]]:
    if is_stac_item(source):
        return _stac_sources(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise SceneError("no such file or folder", path=path)
        safe_root = find_safe_root(path)
        if safe_root is not None:
            return _safe_sources(safe_root)
        if path.is_dir():
            return _folder_sources(path)
        return _file_sources(path, band_names), {"format": "raster"}
    paths = [Path(p) for p in cast(Sequence[PathLike], source)]
    if not paths:
        raise SceneError("empty list of files")
    out: list[_BandSource] = []
    for p in paths:
        out.extend(_file_sources(p, None, single_band_name_required=True))
    _check_unique(out, _describe(source))
    return out, {"format": "files"}


def _is_stac_source(source: object) -> bool:
    """A ``pystac.Item``, a path ending in ``.json``, or an http(s) URL that does not name a raster file."""
    if is_stac_item(source):
        return True
    if not isinstance(source, (str, os.PathLike)):
        return False
    text = os.fspath(source)
    if not isinstance(text, str):
        return False
    if text.lower().startswith(("http://", "https://")):
        return not urlsplit(text).path.lower().endswith(RASTER_SUFFIXES)
    return text.lower().endswith(".json")


def _stac_sources(item: pystac.Item) -> tuple[list[_BandSource], dict[str, Any]]:
    found = stac_bands(item)
    srcs = [_BandSource(b.band, _href_path(b.href), 1, b.scale, b.offset, asset=b.key) for b in found]
    return srcs, {"format": "stac", "item": item.id, "assets": {b.band: b.key for b in found}}


def _href_path(href: str) -> Path | str:
    """A local file as a Path (``file://`` URLs included); any other URL stays a string for GDAL."""
    parts = urlsplit(href)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    if "://" in href or href.startswith("/vsi"):
        return href
    return Path(href)


def _safe_sources(root: Path) -> tuple[list[_BandSource], dict[str, Any]]:
    product = parse_safe(root)
    srcs = [_BandSource(b, f, 1, 1.0 / product.quantification, product.offsets.get(b, 0.0))
            for b, f in product.band_files.items()]
    return srcs, {"format": "safe", "level": product.level,
                  "processing_baseline": product.processing_baseline}


def _folder_sources(folder: Path) -> tuple[list[_BandSource], dict[str, Any]]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES)
    out: list[_BandSource] = []
    ignored: list[str] = []
    for f in files:
        found = _file_sources(f, None, single_band_name_required=False)
        if found:
            out.extend(found)
        else:
            ignored.append(f.name)
    if not out:
        raise BandError("no band files found (expected names like *_B02.tif or B8A.jp2, "
                        "or single-band rasters with band descriptions)", path=folder)
    _check_unique(out, folder)
    order = {b: i for i, b in enumerate(CANONICAL_BANDS)}
    out.sort(key=lambda s: order[s.band])
    return out, {"format": "folder", "ignored": ignored}


def _file_sources(path: Path, band_names: Sequence[str] | None, *,
                  single_band_name_required: bool | None = None) -> list[_BandSource]:
    """Bands held by one file. ``single_band_name_required``: None for a lone stack, True for a listed
    file (a name must be found), False for a folder member (unnamed files are skipped)."""
    with _open(path) as ds:
        count = ds.count
        descriptions = ds.descriptions
        tags = ds.tags()
        gdal_scales, gdal_offsets = ds.scales, ds.offsets
    if single_band_name_required is not None and count == 1:
        name = band_from_filename(path) or _try_normalize(descriptions[0])
        if name is None:
            if single_band_name_required:
                raise BandError("cannot tell which band this file holds from its name or description",
                                path=path)
            return []
        return [_BandSource(name, path, 1, *_tag_scaling(tags, name, gdal_scales[0], gdal_offsets[0]))]
    if single_band_name_required is False and count > 1 and not all(_try_normalize(d) for d in descriptions):
        return []  # e.g. a preview image sitting beside the band files
    names = _stack_names(path, count, descriptions, band_names)
    return [_BandSource(n, path, i + 1, *_tag_scaling(tags, n, gdal_scales[i], gdal_offsets[i]))
            for i, n in enumerate(names)]


def _stack_names(path: Path, count: int, descriptions: Sequence[str | None],
                 band_names: Sequence[str] | None) -> tuple[str, ...]:
    if band_names is not None:
        names = normalise_bands(band_names)
        if len(names) != count:
            raise BandError(f"band_names (--band-names) has {len(names)} names for {count} bands", path=path)
        return names
    parsed = [_try_normalize(d) for d in descriptions]
    if all(parsed):
        try:
            return normalise_bands(parsed)  # type: ignore[arg-type]
        except BandError as exc:
            raise BandError(exc.problem, path=path) from None
    if count in (13, 12):
        names = CANONICAL_BANDS if count == 13 else tuple(b for b in CANONICAL_BANDS if b != "B10")
        warnings.warn(f"{path}: {count} bands without descriptions; assuming the ESA order "
                      f"{', '.join(names)} (pass band_names=, or --band-names on the command line, to state it)",
                      S2LabelWarning, stacklevel=4)
        return names
    raise BandError(f"{count} band(s) without recognisable names (descriptions: {list(descriptions)}); "
                    "pass band_names=[...] in file order (on the command line: --band-names B02,B03,B04,B08)",
                    path=path)


def _try_normalize(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return normalise_band(name)
    except BandError:
        return band_from_filename(name)


def _check_unique(sources: Sequence[_BandSource], where: PathLike) -> None:
    seen: dict[str, Path | str] = {}
    for s in sources:
        if s.band in seen:
            raise BandError(f"band {s.band} found twice ({Path(seen[s.band]).name} and {Path(s.path).name}); "
                            "pass a list of files instead", path=where)
        seen[s.band] = s.path


PathLike: TypeAlias = str | os.PathLike


def _describe(source: PathLike | Sequence[PathLike] | pystac.Item) -> str:
    if is_stac_item(source):
        return describe_item(source)
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    items = [os.fspath(s) for s in cast(Sequence[PathLike], source)]
    return os.path.commonpath(items) if len(items) > 1 else (items[0] if items else "<no files>")


def _tag_scaling(tags: Mapping[str, str], band: str, gdal_scale: float,
                 gdal_offset: float) -> tuple[float | None, float | None]:
    """Scale and offset that a file's own metadata states, or (None, None)."""
    quant = tags.get("QUANTIFICATION_VALUE") or tags.get("BOA_QUANTIFICATION_VALUE")
    off = None
    for key in ("BOA_ADD_OFFSET", "RADIO_ADD_OFFSET", f"BOA_ADD_OFFSET_{band}", f"RADIO_ADD_OFFSET_{band}"):
        if key in tags:
            off = float(tags[key])
    if quant is None and off is None and "PROCESSING_BASELINE" in tags:
        off = baseline_offset_default(tags["PROCESSING_BASELINE"])
    if quant is not None or off is not None:
        return (1.0 / float(quant) if quant else _DEFAULT_INT_SCALE), (off or 0.0)
    if (gdal_scale, gdal_offset) != (1.0, 0.0) and gdal_scale:
        return gdal_scale, gdal_offset / gdal_scale
    return None, None


_DEFAULT_INT_SCALE = 1e-4  # Sentinel-2 DN per unit reflectance is 10000 (L1C and L2A)
