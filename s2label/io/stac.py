"""Sentinel-2 bands of a STAC item: which asset holds which band, where it is, and how to scale it.

A STAC item (Earth Search, Microsoft Planetary Computer, a static catalogue of your own) lists one asset per
band, usually a Cloud-Optimised GeoTIFF. Assets are matched to bands by their ``eo:bands`` (or STAC 1.1
``bands``) name or common name, else by their key (``"B04"``, ``"red"``, ``"nir08"``), all through
:func:`s2label.io.bands.normalise_band`. Only single-band image assets count: GeoTIFF/COG and JPEG 2000; thumbnails,
overviews, true-colour previews and metadata are skipped. When one band comes as both a COG and a JP2 (Earth
Search's ``red`` and ``red-jp2``), the COG is used.

Reflectance is ``(DN + offset) * scale`` as everywhere in s2label; a ``raster:bands`` entry stating
``reflectance = DN * scale + offset`` is converted to that form (``offset / scale`` DN).

:func:`s2label.read_scene` accepts a ``pystac.Item`` (or the path or URL of an item JSON) and uses this module;
pystac is imported only when an item has to be loaded from a file. Items whose hrefs need signing (Microsoft
Planetary Computer) must be signed first, e.g. with ``planetary_computer.sign(item)``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard, cast
from urllib.parse import urlsplit

from s2label.errors import BandError, S2LabelWarning, SceneError
from s2label.io.bands import CANONICAL_BANDS, normalise_band

if TYPE_CHECKING:
    import pystac

__all__ = ["StacBand", "stac_bands", "load_item", "is_stac_item", "describe_item", "IMAGE_MEDIA_TYPES"]

#: Media types (prefixes) of the assets read as bands: GeoTIFF / COG and JPEG 2000.
IMAGE_MEDIA_TYPES: tuple[str, ...] = ("image/tiff", "image/geotiff", "image/vnd.stac.geotiff", "image/jp2")
_IMAGE_SUFFIXES = (".tif", ".tiff", ".jp2")
_SKIPPED_ROLES = frozenset({"thumbnail", "overview", "visual"})


@dataclass(frozen=True)
class StacBand:
    """One Sentinel-2 band held by one asset of a STAC item.

    Attributes
    ----------
    band : str
        Canonical band name (``"B04"``, ``"B8A"``).
    key : str
        The asset's key in the item (``"red"``, ``"B04"``).
    href : str
        Absolute href of the asset (URL or local path) when the item has a location, else as written.
    media_type : str or None
        The asset's media type.
    scale, offset : float or None
        From ``raster:bands``: ``reflectance = (DN + offset) * scale``; ``None`` when the item does not say
        (the reader then uses the file's metadata or its defaults).
    """

    band: str
    key: str
    href: str
    media_type: str | None = None
    scale: float | None = None
    offset: float | None = None


def is_stac_item(obj: object) -> TypeGuard[pystac.Item]:
    """True for a ``pystac.Item`` (without importing pystac when it has not been imported).

    Parameters
    ----------
    obj : object
        Anything.

    Returns
    -------
    bool
        False whenever pystac has not been imported (no item can exist then).

    Examples
    --------
    >>> is_stac_item("scene.tif")
    False
    """
    pystac = sys.modules.get("pystac")
    return pystac is not None and isinstance(obj, pystac.Item)


def describe_item(item: pystac.Item) -> str:
    """Where an item came from, for error messages: its self href, else ``STAC item 'ID'``.

    Parameters
    ----------
    item : pystac.Item

    Returns
    -------
    str
    """
    return item.get_self_href() or f"STAC item {item.id!r}"


def load_item(source: str | os.PathLike[str] | pystac.Item) -> pystac.Item:
    """Return ``source`` if it is a ``pystac.Item``, else read the item JSON at that path or URL.

    Parameters
    ----------
    source : str, path-like or pystac.Item
        An item, or the path or ``http(s)://`` URL of its JSON.

    Returns
    -------
    pystac.Item

    Raises
    ------
    SceneError
        If pystac is missing, the file cannot be read, or it is not a STAC item (e.g. a catalogue).
    """
    if is_stac_item(source):
        return source
    href = os.fspath(cast("str | os.PathLike[str]", source))
    try:
        import pystac
    except ImportError:
        raise SceneError("reading a STAC item needs pystac: pip install pystac", path=href) from None
    if not _is_url(href) and not os.path.isfile(href):
        raise SceneError("no such file", path=href)
    try:
        return pystac.Item.from_file(href)
    except pystac.STACTypeError as exc:
        raise SceneError(f"not a STAC item ({_first_line(exc)})", path=href) from None
    except Exception as exc:  # pystac raises bare Exception for HTTP errors, JSON/urllib3 errors otherwise
        cause = exc.__cause__ or exc
        raise SceneError(f"cannot read the STAC item ({_first_line(cause)})", path=href) from exc


def stac_bands(item: pystac.Item) -> list[StacBand]:
    """The Sentinel-2 bands a STAC item's assets hold, in ESA band order.

    Parameters
    ----------
    item : pystac.Item
        Assets are matched to bands by ``eo:bands`` / ``bands`` ``name`` or ``common_name``, else by key.

    Returns
    -------
    list of StacBand
        One per band found (at most 13), ordered ``B01`` ... ``B12``.

    Raises
    ------
    SceneError
        If the item has no image asset (GeoTIFF/COG or JPEG 2000) at all.
    BandError
        If no image asset is a Sentinel-2 band, or two assets of the same format hold the same band.

    Warns
    -----
    S2LabelWarning
        If the item's ``platform`` / ``constellation`` is not Sentinel-2 (its bands are still matched by name).

    Examples
    --------
    >>> import datetime, pystac
    >>> item = pystac.Item("demo", None, None, datetime.datetime(2020, 1, 1), {})
    >>> cog = pystac.MediaType.COG
    >>> item.add_asset("red", pystac.Asset("https://example.com/T33UUP/B04.tif", media_type=cog,
    ...     extra_fields={"eo:bands": [{"name": "B04", "common_name": "red"}],
    ...                   "raster:bands": [{"scale": 0.0001, "offset": -0.1}]}))
    >>> item.add_asset("nir08", pystac.Asset("https://example.com/T33UUP/B8A.tif", media_type=cog))
    >>> item.add_asset("thumbnail", pystac.Asset("https://example.com/T33UUP/L2A_PVI.jpg",
    ...                                          media_type=pystac.MediaType.JPEG))
    >>> [(b.band, b.key, b.scale, b.offset) for b in stac_bands(item)]
    [('B04', 'red', 0.0001, -1000.0), ('B8A', 'nir08', None, None)]
    """
    where = describe_item(item)
    platform = str(item.properties.get("platform") or item.properties.get("constellation") or "")
    if platform and "sentinel-2" not in platform.lower().replace("_", "-").replace(" ", "-"):
        warnings.warn(f"{where}: platform {platform!r} is not Sentinel-2; its assets are matched to Sentinel-2 "
                      "bands by name only", S2LabelWarning, stacklevel=2)
    images = {key: asset for key, asset in item.assets.items() if _is_image(asset)}
    if not images:
        listed = ", ".join(f"{k} ({a.media_type or 'no type'})" for k, a in item.assets.items()) or "none"
        raise SceneError("the STAC item has no image assets (GeoTIFF/COG or JPEG 2000) to read; "
                         f"its assets: {listed}", path=where)
    found: dict[str, tuple[tuple[int, int], StacBand]] = {}
    for key, asset in images.items():
        fields = asset.extra_fields
        if _band_entries(fields, "eo:bands") > 1 or _band_entries(fields, "bands") > 1 \
                or _band_entries(fields, "raster:bands") > 1:
            continue  # a multi-band asset (true-colour preview): not one band
        band, by_key = _asset_band(key, fields)
        if band is None:
            continue
        scale, offset = _raster_scaling(fields)
        entry = StacBand(band, key, asset.get_absolute_href() or asset.href, asset.media_type, scale, offset)
        # a COG beats a JP2 copy; an asset whose key names the band beats one matched only by eo:bands
        rank = (0 if _is_tiff(asset) else 1, 0 if by_key else 1)
        if band in found:
            if found[band][0] == rank:
                raise BandError(f"band {band} is held by two assets ({found[band][1].key} and {key}) of the "
                                "same format", path=where)
            if found[band][0] < rank:
                continue
        found[band] = (rank, entry)
    if not found:
        raise BandError(f"none of the item's image assets ({', '.join(images)}) is a Sentinel-2 band "
                        "(by eo:bands name or common name, or asset key)", path=where)
    return [found[b][1] for b in CANONICAL_BANDS if b in found]


# --- helpers ----------------------------------------------------------------------------------------

def _is_url(href: str) -> bool:
    return "://" in href[:16]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_image(asset: pystac.Asset) -> bool:
    if _SKIPPED_ROLES.intersection(asset.roles or ()):
        return False
    media = (asset.media_type or "").strip().lower()
    if media:
        return media.startswith(IMAGE_MEDIA_TYPES)
    return urlsplit(asset.href).path.lower().endswith(_IMAGE_SUFFIXES)


def _is_tiff(asset: pystac.Asset) -> bool:
    media = (asset.media_type or "").lower()
    return "tiff" in media or urlsplit(asset.href).path.lower().endswith((".tif", ".tiff"))


def _band_entries(fields: Mapping[str, Any], name: str) -> int:
    entries = fields.get(name)
    return len(entries) if isinstance(entries, Sequence) and not isinstance(entries, str) else 0


def _first_entry(fields: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    entries = fields.get(name)
    if isinstance(entries, Sequence) and not isinstance(entries, str) and entries \
            and isinstance(entries[0], Mapping):
        return entries[0]
    return {}


def _asset_band(key: str, fields: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The band an asset holds and whether its key alone says so; (None, False) when it is no band."""
    eo, bands = _first_entry(fields, "eo:bands"), _first_entry(fields, "bands")
    candidates = (eo.get("name"), eo.get("common_name"), bands.get("name"), bands.get("eo:common_name"),
                  fields.get("eo:common_name"))
    by_key = _try_band(key)
    for name in candidates:
        band = _try_band(name)
        if band is not None:
            return band, band == by_key
    return by_key, by_key is not None


def _try_band(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return normalise_band(name)
    except BandError:
        return None


def _raster_scaling(fields: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """``(scale, offset)`` with ``reflectance = (DN + offset) * scale`` from ``raster:bands`` (STAC 1.0) or
    ``raster:scale`` / ``raster:offset`` (STAC 1.1, on ``bands`` or the asset); (None, None) if absent."""
    rb, bands = _first_entry(fields, "raster:bands"), _first_entry(fields, "bands")
    scale = rb.get("scale", bands.get("raster:scale", fields.get("raster:scale")))
    offset = rb.get("offset", bands.get("raster:offset", fields.get("raster:offset")))
    if scale is None and offset is None:
        return None, None
    s = 1.0 if scale is None else float(scale)
    o = 0.0 if offset is None else float(offset)
    if s == 0:
        return None, None
    return s, o / s
