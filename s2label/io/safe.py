"""Sentinel-2 ``.SAFE`` products (L1C and L2A): find the band files and read the radiometric metadata.

The product metadata file (``MTD_MSIL1C.xml`` or ``MTD_MSIL2A.xml``) gives the product level, the
processing baseline, the quantification value and, from processing baseline 04.00 on (2022-01-25), a per-band
additive offset (``RADIO_ADD_OFFSET`` at L1C, ``BOA_ADD_OFFSET`` at L2A; both are -1000 in practice).
Reflectance is ``(DN + offset) / quantification``; DN 0 is no data.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from s2label._frozen import Picklable
from s2label.errors import SceneError
from s2label.io.bands import CANONICAL_BANDS, band_from_filename

__all__ = ["SafeProduct", "parse_safe", "find_safe_root", "baseline_offset_default"]

_MTD_NAMES = ("MTD_MSIL1C.xml", "MTD_MSIL2A.xml")
_RES_RE = re.compile(r"_(10|20|60)m$")
#: Products from this processing baseline on carry an additive radiometric offset.
OFFSET_BASELINE = (4, 0)


@dataclass(frozen=True)
class SafeProduct(Picklable):
    """What s2label needs from a ``.SAFE`` product.

    Attributes
    ----------
    root : Path
        The ``.SAFE`` folder.
    level : {"L1C", "L2A"}
    processing_baseline : str
        As written in the metadata, e.g. ``"04.00"``; ``""`` when absent.
    quantification : float
        DN per unit reflectance (10000).
    offsets : Mapping[str, float]
        Additive offset per band, in DN (``-1000`` from baseline 04.00, else 0).
    band_files : Mapping[str, Path]
        For each band, the file at the finest resolution the product has.
    """

    root: Path
    level: str
    processing_baseline: str
    quantification: float
    offsets: Mapping[str, float] = field(default_factory=dict)
    band_files: Mapping[str, Path] = field(default_factory=dict)


def find_safe_root(path: str | os.PathLike[str]) -> Path | None:
    """Return the ``.SAFE`` folder if ``path`` is one (or its metadata file), else ``None``.

    Parameters
    ----------
    path : str or path-like
        A folder named ``*.SAFE`` or holding an ``MTD_MSIL1C.xml``/``MTD_MSIL2A.xml``, or that metadata file.

    Returns
    -------
    pathlib.Path or None
        The product's folder, or ``None`` when ``path`` is neither.
    """
    p = Path(path)
    if p.is_file() and p.name in _MTD_NAMES:
        return p.parent
    if p.is_dir() and (p.suffix.upper() == ".SAFE" or any((p / n).is_file() for n in _MTD_NAMES)):
        return p
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse_baseline(text: str) -> tuple[int, int] | None:
    m = re.match(r"^\s*0*(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def baseline_offset_default(processing_baseline: str) -> float:
    """The additive DN offset a product of this processing baseline carries when its metadata lists none.

    Parameters
    ----------
    processing_baseline : str
        The product's ``PROCESSING_BASELINE``, e.g. ``"04.00"``; an unreadable one counts as old.

    Returns
    -------
    float
        -1000.0 from baseline 04.00 on, else 0.0.

    Examples
    --------
    >>> baseline_offset_default("04.00"), baseline_offset_default("02.14"), baseline_offset_default("")
    (-1000.0, 0.0, 0.0)
    """
    parsed = _parse_baseline(processing_baseline)
    return -1000.0 if parsed is not None and parsed >= OFFSET_BASELINE else 0.0


def parse_safe(path: str | os.PathLike[str]) -> SafeProduct:
    """Read a ``.SAFE`` product's metadata and locate its band files.

    Parameters
    ----------
    path : path-like
        The ``.SAFE`` folder or its ``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml``.

    Returns
    -------
    SafeProduct

    Raises
    ------
    SceneError
        If the metadata file is missing or unreadable, or no band file is found.
    """
    root = find_safe_root(path)
    if root is None:
        raise SceneError("not a Sentinel-2 .SAFE product (no MTD_MSIL1C.xml or MTD_MSIL2A.xml)", path=path)
    mtd = next((root / n for n in _MTD_NAMES if (root / n).is_file()), None)
    if mtd is None:
        raise SceneError("product metadata MTD_MSIL1C.xml / MTD_MSIL2A.xml is missing", path=root)
    try:
        tree = ET.parse(mtd)
    except ET.ParseError as exc:
        raise SceneError(f"product metadata is not valid XML ({exc})", path=mtd) from exc

    level = "L2A" if "2A" in mtd.name else "L1C"
    baseline = ""
    quantification = 10000.0
    offsets: dict[str, float] = {}
    image_files: list[str] = []
    for el in tree.getroot().iter():
        name = _local(el.tag)
        text = (el.text or "").strip()
        if name == "PROCESSING_BASELINE" and text:
            baseline = text
        elif name in ("QUANTIFICATION_VALUE", "BOA_QUANTIFICATION_VALUE") and text:
            quantification = float(text)
        elif name in ("RADIO_ADD_OFFSET", "BOA_ADD_OFFSET") and text:
            band_id = int(el.attrib.get("band_id", "-1"))
            if 0 <= band_id < len(CANONICAL_BANDS):
                offsets[CANONICAL_BANDS[band_id]] = float(text)
        elif name == "IMAGE_FILE" and text:
            image_files.append(text)

    default = baseline_offset_default(baseline)
    offsets = {b: offsets.get(b, default if not offsets else 0.0) for b in CANONICAL_BANDS}

    candidates: list[Path] = []
    for rel in image_files:
        for ext in (".jp2", ".tif"):
            f = root / (rel + ext)
            if f.is_file():
                candidates.append(f)
                break
    if not candidates:  # metadata lists no image files (or they moved): look in the granule folder
        candidates = sorted(root.glob("GRANULE/*/IMG_DATA/**/*.jp2")) + sorted(
            root.glob("GRANULE/*/IMG_DATA/**/*.tif"))

    band_files: dict[str, tuple[int, Path]] = {}
    for f in candidates:
        stem = f.name.split(".")[0]
        if any(tag in stem for tag in ("_TCI", "_AOT", "_WVP", "_SCL", "PVI")):
            continue
        band = band_from_filename(_RES_RE.sub("", stem))
        if band is None:
            continue
        m = _RES_RE.search(stem)
        res = int(m.group(1)) if m else 0
        if band not in band_files or res < band_files[band][0]:
            band_files[band] = (res, f)
    if not band_files:
        raise SceneError("no band files found under GRANULE/*/IMG_DATA", path=root)
    ordered = {b: band_files[b][1] for b in CANONICAL_BANDS if b in band_files}
    return SafeProduct(root=root, level=level, processing_baseline=baseline, quantification=quantification,
                       offsets=MappingProxyType(offsets), band_files=MappingProxyType(ordered))
