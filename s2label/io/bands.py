"""Sentinel-2 band names, resolutions and wavelengths: the one place band spellings are normalised.

Band names arrive spelled ``B8A``, ``B8a``, ``b08``, ``B8``, ``B1``, ``nir`` or ``swir16``; everything in s2label
uses the canonical ESA spelling (``B01`` ... ``B12``, ``B8A``) returned by :func:`normalise_band`.

Examples
--------
>>> normalise_band("b8a"), normalise_band("B8"), normalise_band("B1"), normalise_band("nir")
('B8A', 'B08', 'B01', 'B08')
>>> band_from_filename("T33UUP_20170613T101031_B8A_20m.jp2")
'B8A'
>>> RESOLUTION_M["B11"]
20
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from s2label._renamed import renamed_function
from s2label.errors import BandError

__all__ = [
    "CANONICAL_BANDS",
    "RESOLUTION_M",
    "WAVELENGTH_NM",
    "COMMON_NAMES",
    "normalise_band",
    "normalise_bands",
    "band_from_filename",
    "find_band",
    "false_colour_bands",
]

#: The 13 Sentinel-2 MSI bands in ESA order; the position is the ``band_id`` of the product metadata.
CANONICAL_BANDS: tuple[str, ...] = (
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12",
)

#: Native ground sampling distance of each band, in metres.
RESOLUTION_M: dict[str, int] = {
    "B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
    "B08": 10, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20,
}

#: Central wavelength of each band (Sentinel-2A), in nanometres.
WAVELENGTH_NM: dict[str, int] = {
    "B01": 443, "B02": 490, "B03": 560, "B04": 665, "B05": 705, "B06": 740, "B07": 783,
    "B08": 842, "B8A": 865, "B09": 945, "B10": 1375, "B11": 1610, "B12": 2190,
}

#: STAC ``eo:common_name`` and other usual names, mapped to the canonical band.
COMMON_NAMES: dict[str, str] = {
    "coastal": "B01", "aerosol": "B01", "blue": "B02", "green": "B03", "red": "B04",
    "rededge1": "B05", "rededge2": "B06", "rededge3": "B07", "nir": "B08", "nir08": "B8A",
    "narrownir": "B8A", "rededge4": "B8A", "nir09": "B09", "watervapour": "B09", "wv": "B09",
    "cirrus": "B10", "swir16": "B11", "swir1": "B11", "swir22": "B12", "swir2": "B12",
}

_BAND_RE = re.compile(r"^B?0*(\d{1,2})(A?)$", re.IGNORECASE)
# A band token inside a file name: B + 1-2 digits + optional A, not glued to other letters or digits.
_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])B(0?[1-9]|1[0-2]|8A)(?![0-9A-Za-z])", re.IGNORECASE)


def normalise_band(name: str) -> str:
    """Return the canonical spelling of one Sentinel-2 band name.

    Parameters
    ----------
    name : str
        ``B8A``, ``B8a``, ``b08``, ``B8``, ``8``, ``B1``, a STAC common name such as ``nir`` or ``swir16``.

    Returns
    -------
    str
        One of :data:`CANONICAL_BANDS`.

    Raises
    ------
    BandError
        If the name is not a Sentinel-2 band.

    Examples
    --------
    >>> [normalise_band(b) for b in ("B8A", "b8a", "B08", "B8", "B10", "red")]
    ['B8A', 'B8A', 'B08', 'B08', 'B10', 'B04']
    """
    if not isinstance(name, str):
        raise BandError(f"band name must be a string, got {name!r}")
    key = name.strip()
    common = COMMON_NAMES.get(re.sub(r"[\s_\-]", "", key).lower())
    if common is not None:
        return common
    match = _BAND_RE.match(key)
    if match:
        number, narrow = int(match.group(1)), match.group(2).upper()
        candidate = "B8A" if (number == 8 and narrow) else (f"B{number:02d}" if not narrow else "")
        if candidate in RESOLUTION_M:
            return candidate
    raise BandError(
        f"unknown band name {name!r}; expected one of {', '.join(CANONICAL_BANDS)} "
        "(or a common name such as 'red', 'nir', 'swir16')"
    )


def normalise_bands(names: Iterable[str]) -> tuple[str, ...]:
    """Normalise several band names and refuse duplicates.

    Parameters
    ----------
    names : iterable of str
        Band names in any spelling :func:`normalise_band` takes.

    Returns
    -------
    tuple of str
        Their canonical spellings, in the same order.

    Raises
    ------
    BandError
        A name that is not a Sentinel-2 band, or a band given twice (in any spelling).

    Examples
    --------
    >>> normalise_bands(["b2", "B03", "red"])
    ('B02', 'B03', 'B04')
    """
    out = tuple(normalise_band(n) for n in names)
    dupes = sorted({b for b in out if out.count(b) > 1})
    if dupes:
        raise BandError(f"band(s) given twice: {', '.join(dupes)}")
    return out


def band_from_filename(path: str | os.PathLike[str]) -> str | None:
    """Find the band a single-band file holds from its name, or ``None``.

    The last band token of the file name wins, so product prefixes do not confuse it.

    Parameters
    ----------
    path : str or path-like
        The file; only its name up to the first ``.`` is looked at.

    Returns
    -------
    str or None
        The canonical band name (see :data:`CANONICAL_BANDS`), or ``None`` when the name holds no band token.

    Examples
    --------
    >>> band_from_filename("S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_75_43_B8A.tif")
    'B8A'
    >>> band_from_filename("B1.tif"), band_from_filename("s2_B02.jp2"), band_from_filename("preview.jp2")
    ('B01', 'B02', None)
    """
    stem = os.path.basename(os.fspath(path)).split(".")[0]
    tokens = _TOKEN_RE.findall(stem)
    if not tokens:
        return None
    return normalise_band("B" + tokens[-1])


def find_band(bands: Iterable[str], *wanted: str) -> int | None:
    """Index of the first of ``wanted`` present in ``bands``, or ``None``.

    Parameters
    ----------
    bands : iterable of str
        Canonical band names, e.g. a scene's ``bands``.
    *wanted : str
        Canonical names to look for, the preferred first.

    Returns
    -------
    int or None
        Position in ``bands`` of the first ``wanted`` name found; ``None`` when none is there.

    Examples
    --------
    >>> find_band(("B02", "B03", "B04", "B8A"), "B08", "B8A")
    3
    """
    bands = tuple(bands)
    for name in wanted:
        if name in bands:
            return bands.index(name)
    return None


def false_colour_bands(bands: Iterable[str]) -> tuple[str, str, str]:
    """Red, green and blue of a colour-infrared image: NIR (B08, or B8A without B08), B04, B03.

    Parameters
    ----------
    bands : iterable of str
        Canonical names of the bands at hand.

    Returns
    -------
    (str, str, str)
        ``("B08", "B04", "B03")``, or ``("B8A", "B04", "B03")`` when only B8A is there; whether B04 and B03 are
        is not checked.

    Examples
    --------
    >>> false_colour_bands(["B03", "B04", "B08"]), false_colour_bands(["B03", "B04", "B8A"])
    (('B08', 'B04', 'B03'), ('B8A', 'B04', 'B03'))
    """
    names = set(bands)
    return ("B8A" if "B08" not in names and "B8A" in names else "B08", "B04", "B03")


normalize_band = renamed_function(normalise_band, "s2label.io.bands.normalize_band")


normalize_bands = renamed_function(normalise_bands, "s2label.io.bands.normalize_bands")
