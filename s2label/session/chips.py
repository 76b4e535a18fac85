"""Training data from a labelling session: image chips and label masks on the same grid, an index of them (CSV
and a STAC ItemCollection), and a train/val/test split that is spatially blocked.

Layout of the folder :func:`export_chips` writes (the layout torchgeo's ``RasterDataset`` reads: one GeoTIFF a
chip, images and masks intersected by their footprints)::

    DIR/images/r000256_c000512.tif   (C, size, size) float32 reflectance, band names as descriptions, NaN no data
    DIR/masks/r000256_c000512.tif    (size, size) uint8 palette codes: 0 no label, a label's id + 1
    DIR/chips.csv                    one row a chip: split, window, footprint, labelled fraction, pixels a label
    DIR/chips.json                   the same as a STAC ItemCollection (WGS84 footprints, image and mask assets)
    DIR/labels.json                  code -> label id, name, colour

**The split.** Chips next to each other see the same fields and rivers, so a random split lets a model score
well on its neighbours. Here the chip grid is cut into square blocks of ``block`` × ``block`` chips, whole blocks
go to one split (shuffled with ``seed``, each to the split furthest below its share of chips), and a chip that
touches or overlaps a chip of another split is left out (``buffer`` in the index, not written): of two such
chips, the one of the bigger split gives way (a train chip beside a val or test chip, a val chip beside a test
chip), so that the small splits keep their blocks whole. No chip is in two splits, and no two chips of different
splits touch.

Examples
--------
>>> windows = chip_windows((100, 130), size=50, overlap=0)
>>> [(w.row, w.col) for w in windows]
[(0, 0), (0, 50), (50, 0), (50, 50)]
>>> blocked_split([(0, 0), (0, 1), (5, 5), (5, 6)], fractions=(0.5, 0.5, 0.0), block=2, seed=0, reach=1)
('val', 'val', 'train', 'train')
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rasterio.transform import array_bounds
from rasterio.warp import transform_geom
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from s2label.errors import S2LabelWarning, SessionError
from s2label.io.styles import NO_LABEL_CODE, category_names, label_codes
from s2label.io.write import write_label_codes, write_raster
from s2label.session.export import label_raster, label_styles

if TYPE_CHECKING:
    from s2label.session.label_session import LabelSession

__all__ = ["SPLITS", "ChipWindow", "ChipExport", "chip_windows", "blocked_split", "export_chips"]

#: The splits; of two touching chips of different splits, the one earlier here is left out.
SPLITS = ("train", "val", "test")
_BUFFER = "buffer"
_MARKER = "chips.json"


@dataclass(frozen=True)
class ChipWindow:
    """A chip's place on the scene's grid.

    Attributes
    ----------
    row, col : int
        Its top-left pixel.
    size : int
        Its height and width in pixels.
    i, j : int
        Its row and column in the chip grid.
    """

    row: int
    col: int
    size: int
    i: int
    j: int

    @property
    def name(self) -> str:
        """``r000256_c000512``: the file name of its image and mask (without ``.tif``)."""
        return f"r{self.row:06d}_c{self.col:06d}"

    def transform(self, scene_transform: Any) -> Any:
        """The chip's own grid (an Affine), from the scene's ``scene_transform``."""
        return window_transform(Window(self.col, self.row, self.size, self.size), scene_transform)

    @property
    def slices(self) -> tuple[slice, slice]:
        """The (rows, cols) slices of the chip in a scene-sized array."""
        return slice(self.row, self.row + self.size), slice(self.col, self.col + self.size)


@dataclass(frozen=True)
class ChipExport:
    """What :func:`export_chips` wrote.

    Attributes
    ----------
    folder : Path
    index_csv, index_stac, labels_json : Path
        ``chips.csv``, ``chips.json`` (STAC ItemCollection), ``labels.json``.
    counts : dict of str to int
        Chips written to each split, and those left out as ``buffer`` between splits.
    n_skipped : int
        Chips of the grid under ``min_labelled`` (not written).
    size, overlap : int
    bands : tuple of str
        The images' bands, in order.
    """

    folder: Path
    index_csv: Path
    index_stac: Path
    labels_json: Path
    counts: Mapping[str, int]
    n_skipped: int
    size: int
    overlap: int
    bands: tuple[str, ...]

    @property
    def n_chips(self) -> int:
        """Chips written (all splits)."""
        return sum(self.counts.get(split, 0) for split in SPLITS)


def chip_windows(shape: tuple[int, int], *, size: int, overlap: int = 0) -> list[ChipWindow]:
    """The chips of a grid, row by row: ``size`` × ``size`` px, ``size - overlap`` apart, wholly inside.

    Parameters
    ----------
    shape : (int, int)
        The scene's (height, width).
    size : int
        A chip's side in pixels, ``>= 1``.
    overlap : int
        Pixels shared by neighbouring chips, ``0 <= overlap < size``.

    Returns
    -------
    list of ChipWindow
        Empty when the scene is smaller than a chip.

    Raises
    ------
    SessionError
        A size or overlap out of range.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise SessionError(f"size must be a positive number of pixels, got {size!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or not 0 <= overlap < size:
        raise SessionError(f"overlap must be at least 0 and less than size ({size}), got {overlap!r}")
    stride = int(size - overlap)
    height, width = shape
    rows = range(0, max(int(height) - size, -1) + 1, stride)
    cols = range(0, max(int(width) - size, -1) + 1, stride)
    return [ChipWindow(r, c, int(size), i, j) for i, r in enumerate(rows) for j, c in enumerate(cols)]


def blocked_split(cells: Sequence[tuple[int, int]], *, fractions: Sequence[float] = (0.7, 0.15, 0.15),
                  block: int = 4, seed: int = 0, reach: int = 1) -> tuple[str, ...]:
    """Each chip's split, by blocks of the chip grid, with chips touching another split left out.

    Parameters
    ----------
    cells : sequence of (int, int)
        Each chip's (row, column) in the chip grid (only the chips to split).
    fractions : (float, float, float)
        The shares of train, val and test (normalised; a 0 leaves that split empty).
    block : int
        A block's side, in chips.
    seed : int
        Shuffles the blocks.
    reach : int
        Chips up to this many grid steps apart touch or overlap (``ceil(size / (size - overlap))``).

    Returns
    -------
    tuple of str
        ``"train"``, ``"val"``, ``"test"`` or ``"buffer"`` (left out), one per cell.

    Raises
    ------
    SessionError
        Fractions that are not three non-negative numbers with a positive sum, or a block under 1.
    """
    shares = np.asarray(fractions, dtype=float)
    if shares.shape != (3,) or not np.isfinite(shares).all() or (shares < 0).any() or shares.sum() <= 0:
        raise SessionError(f"split must be three fractions (train, val, test) >= 0 with a positive sum, got "
                           f"{tuple(fractions)!r}")
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise SessionError(f"block must be a positive number of chips, got {block!r}")
    shares = shares / shares.sum()
    blocks: dict[tuple[int, int], list[int]] = {}
    for k, (i, j) in enumerate(cells):
        blocks.setdefault((int(i) // block, int(j) // block), []).append(k)
    order = list(blocks)
    np.random.default_rng(seed).shuffle(order)
    split = [""] * len(cells)
    given = np.zeros(3)
    for key in order:  # each block to the split furthest below its share of the chips given so far
        members = blocks[key]
        deficit = shares * (given.sum() + len(members)) - given
        deficit[shares == 0] = -np.inf
        s = int(np.argmax(deficit))
        given[s] += len(members)
        for k in members:
            split[k] = SPLITS[s]
    where = {(int(i), int(j)): k for k, (i, j) in enumerate(cells)}
    rank = {name: r for r, name in enumerate(SPLITS)}
    out = list(split)
    for k, (i, j) in enumerate(cells):  # of a touching pair, the chip of the earlier (bigger) split is left out
        for di in range(-reach, reach + 1):
            for dj in range(-reach, reach + 1):
                other = where.get((int(i) + di, int(j) + dj))
                if other is not None and rank[split[other]] > rank[split[k]]:
                    out[k] = _BUFFER
    return tuple(out)


def export_chips(session: LabelSession, folder: str | os.PathLike[str], *, size: int = 256, overlap: int = 0,
                 bands: Sequence[str] | None = None, min_labelled: float = 0.5, precision: str = "segment",
                 split: Sequence[float] = (0.7, 0.15, 0.15), block: int = 4, seed: int = 0,
                 progress: bool = True, **options: Any) -> ChipExport:
    """Write a session's labels as training data: image chips, label masks, an index and a blocked split.

    Parameters
    ----------
    session : LabelSession
        With its scene's pixels (as :func:`s2label.explore` and ``LabelSession.from_result`` make it).
    folder : path-like
        Written as a whole: into a temporary folder beside it, then moved into place, replacing an earlier chip
        export there (a folder that holds anything else is refused).
    size : int
        A chip's side in pixels.
    overlap : int
        Pixels shared by neighbouring chips.
    bands : sequence of str, optional
        The images' bands, in this order (default: all the scene's).
    min_labelled : float
        A chip is written when at least this fraction of its pixels has a label (0 writes every chip).
    precision : {"segment", "pixel"}
        The masks' labels, as :func:`s2label.session.export.label_raster`.
    split : (float, float, float)
        The shares of train, val and test chips.
    block : int
        The split's blocks, in chips a side (see the module's docstring).
    seed : int
        Shuffles the blocks.
    progress : bool
        A progress bar.
    **options
        Of the pixel classifier, with ``precision="pixel"``.

    Returns
    -------
    ChipExport

    Raises
    ------
    SessionError
        No scene, a bad size, overlap, band, fraction or split, no chip to write, or a folder that is not a chip
        export.

    Warns
    -----
    S2LabelWarning
        A split asked for got no chip (too few chips, or blocks too large, for the scene).

    Examples
    --------
    >>> chips = session.export_chips("runs/sample/chips", size=128)  # doctest: +SKIP
    >>> chips.counts  # doctest: +SKIP
    {'train': 31, 'val': 6, 'test': 7, 'buffer': 12}
    """
    from tqdm.auto import tqdm

    if session.scene is None:
        raise SessionError("training chips need the scene's pixels: make the session with scene= (as "
                           "LabelSession.from_result and s2label.explore do)")
    if isinstance(min_labelled, bool) or not isinstance(min_labelled, (int, float)) or not 0 <= min_labelled <= 1:
        raise SessionError(f"min_labelled must be a fraction from 0 to 1, got {min_labelled!r}")
    scene = session.scene
    if bands is not None:
        if isinstance(bands, str) or not len(bands):
            raise SessionError(f"bands must be a list of band names, got {bands!r}")
        try:
            index = [scene.band_index(b) for b in bands]
        except Exception as exc:  # noqa: BLE001 - BandError names the band and those there are
            raise SessionError(str(exc)) from None
    else:
        index = list(range(len(scene.bands)))
    names = tuple(scene.bands[i] for i in index)
    target = Path(folder)
    _check_target(target)
    windows = chip_windows(scene.shape, size=size, overlap=overlap)
    codes = label_codes(label_raster(session, precision=precision, **options))
    labelled = [float(np.count_nonzero(codes[w.slices])) / (w.size * w.size) for w in windows]
    kept = [k for k, fraction in enumerate(labelled) if fraction >= min_labelled and fraction > 0]
    if not kept:
        raise SessionError(f"no chip of {size} px has {min_labelled:.0%} of its pixels labelled (of "
                           f"{len(windows)} chips): label more, or lower min_labelled or size")
    reach = math.ceil(size / (size - overlap))
    splits = blocked_split([(windows[k].i, windows[k].j) for k in kept], fractions=split, block=block, seed=seed,
                           reach=reach)
    styles = label_styles(session)
    when = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    rows: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=_parent(target)))
    try:
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        for k, s in tqdm(list(zip(kept, splits, strict=True)), desc="chips", unit="chip", disable=not progress):
            window = windows[k]
            grid = window.transform(scene.transform)
            row = _row(window, grid, s, labelled[k], scene.crs, codes, styles)
            rows.append(row)
            if s == _BUFFER:
                continue
            image = scene.data[:, window.slices[0], window.slices[1]][index].astype(np.float32)
            image[:, ~scene.valid[window.slices]] = np.nan
            write_raster(tmp / row["image"], image, transform=grid, crs=scene.crs, nodata=float("nan"),
                         band_names=names)
            write_label_codes(tmp / row["mask"], codes[window.slices], styles, transform=grid, crs=scene.crs)
            items.append(_stac_item(row, scene, grid, window, when))
        _write_index(tmp / "chips.csv", rows, styles)
        (tmp / "labels.json").write_text(json.dumps(
            {"codes": {str(s.value + 1): {"label": s.value, "name": s.name, "colour": s.colour} for s in styles},
             "no_label": NO_LABEL_CODE, "category_names": category_names(styles), "bands": list(names),
             "size": size, "overlap": overlap, "precision": precision, "split": list(split), "block": block,
             "seed": seed}, indent=2), encoding="utf-8")
        (tmp / _MARKER).write_text(json.dumps({"type": "FeatureCollection", "features": items}, indent=1),
                                   encoding="utf-8")
        _move_into_place(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    counts = {name: splits.count(name) for name in (*SPLITS, _BUFFER)}
    empty = [name for name, share in zip(SPLITS, split, strict=True) if share > 0 and not counts[name]]
    if empty:
        warnings.warn(f"{' and '.join(empty)} got no chip ({len(kept)} chip{'s' if len(kept) != 1 else ''} of {size} "
                      f"px, in blocks of {block} x {block} chips): a smaller size or block gives them some",
                      S2LabelWarning, stacklevel=2)
    return ChipExport(target, target / "chips.csv", target / _MARKER, target / "labels.json", counts,
                      len(windows) - len(kept), int(size), int(overlap), names)


def _parent(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.parent


def _check_target(target: Path) -> None:
    """Refuse a target that is a file, or a folder that holds something other than a chip export."""
    if target.exists() and not target.is_dir():
        raise SessionError("training chips go into a folder, and this is a file", path=target)
    if target.is_dir() and any(target.iterdir()) and not (target / _MARKER).is_file():
        raise SessionError("this folder holds other files, not an earlier chip export: choose an empty or new "
                           "folder", path=target)


def _move_into_place(tmp: Path, target: Path) -> None:
    """Put the finished folder where the target is; an earlier export there goes only once the new one is in."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(old)


def _row(window: ChipWindow, grid: Any, split: str, fraction: float, crs: Any, codes: np.ndarray,
         styles: Sequence[Any]) -> dict[str, Any]:
    """A chip's row of the index: its split, window, footprint (scene CRS), files and pixels a label."""
    west, south, east, north = array_bounds(window.size, window.size, grid)
    counts = np.bincount(codes[window.slices].ravel(), minlength=max((s.value for s in styles), default=-1) + 2)
    written = split != _BUFFER
    row = {"chip": window.name, "split": split, "row": window.row, "col": window.col, "size": window.size,
           "minx": west, "miny": south, "maxx": east, "maxy": north, "crs": crs.to_string(),
           "labelled_fraction": round(fraction, 4),
           "image": f"images/{window.name}.tif" if written else "",
           "mask": f"masks/{window.name}.tif" if written else ""}
    row.update({f"pixels:{s.name}": int(counts[s.value + 1]) for s in styles})
    return row


def _write_index(path: Path, rows: Sequence[Mapping[str, Any]], styles: Sequence[Any]) -> None:
    fields = ["chip", "split", "row", "col", "size", "minx", "miny", "maxx", "maxy", "crs", "labelled_fraction",
              "image", "mask", *(f"pixels:{s.name}" for s in styles)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _stac_item(row: Mapping[str, Any], scene: Any, grid: Any, window: ChipWindow,
               when: _dt.datetime) -> dict[str, Any]:
    """A STAC Item (1.0.0, projection extension) of a chip: WGS84 footprint, its image and mask as assets."""
    footprint = {"type": "Polygon", "coordinates": [[(row["minx"], row["miny"]), (row["maxx"], row["miny"]),
                                                     (row["maxx"], row["maxy"]), (row["minx"], row["maxy"]),
                                                     (row["minx"], row["miny"])]]}
    geometry = dict(transform_geom(scene.crs, "EPSG:4326", footprint))
    ring = np.asarray(geometry["coordinates"][0], dtype=float)
    counts = {key.split(":", 1)[1]: value for key, value in row.items() if key.startswith("pixels:")}
    acquired = scene.meta.get("datetime") if isinstance(scene.meta, Mapping) else None
    geotiff = "image/tiff; application=geotiff"
    return {
        "type": "Feature", "stac_version": "1.0.0",
        "stac_extensions": ["https://stac-extensions.github.io/projection/v2.0.0/schema.json"],
        "id": row["chip"],
        "geometry": {"type": "Polygon", "coordinates": [ring.tolist()]},
        "bbox": [float(ring[:, 0].min()), float(ring[:, 1].min()), float(ring[:, 0].max()), float(ring[:, 1].max())],
        "properties": {
            "datetime": str(acquired) if acquired else when.isoformat().replace("+00:00", "Z"),
            "s2label:split": row["split"], "s2label:labelled_fraction": row["labelled_fraction"],
            "s2label:label_pixels": counts, "s2label:window": [window.row, window.col, window.size, window.size],
            "proj:code": scene.crs.to_string(), "proj:shape": [window.size, window.size],
            "proj:transform": [grid.a, grid.b, grid.c, grid.d, grid.e, grid.f],
        },
        "assets": {
            "image": {"href": row["image"], "type": geotiff, "roles": ["data"]},
            "labels": {"href": row["mask"], "type": geotiff, "roles": ["labels"]},
        },
        "links": [],
    }
