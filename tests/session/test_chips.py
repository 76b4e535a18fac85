"""Training chips of a session (s2label/session/chips.py): the grid and the blocked split on synthetic grids
whose answer is known, the files on the real crop of the default scene, read back with rasterio and pystac."""

import csv
import itertools
import json

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from s2label.errors import S2LabelWarning, SessionError
from s2label.io.styles import label_codes
from s2label.session.chips import SPLITS, blocked_split, chip_windows, export_chips
from s2label.session.label_session import LabelSession


@pytest.fixture
def crop_session(crop_result, tmp_path):
    return LabelSession.from_result(crop_result, autosave=tmp_path / "session.sqlite")


def _touching(a, b):
    """Whether two chips' pixel squares overlap or share an edge or a corner."""
    return (a["row"] <= b["row"] + b["size"] and b["row"] <= a["row"] + a["size"]
            and a["col"] <= b["col"] + b["size"] and b["col"] <= a["col"] + a["size"])


def test_the_chip_grid_lies_wholly_inside_the_scene():
    windows = chip_windows((100, 130), size=50, overlap=10)
    assert [(w.row, w.col, w.i, w.j) for w in windows] == [(0, 0, 0, 0), (0, 40, 0, 1), (0, 80, 0, 2),
                                                          (40, 0, 1, 0), (40, 40, 1, 1), (40, 80, 1, 2)]
    assert all(w.row + 50 <= 100 and w.col + 50 <= 130 for w in windows)
    assert chip_windows((40, 40), size=50) == [] and len(chip_windows((50, 50), size=50)) == 1
    assert windows[4].name == "r000040_c000040" and windows[4].slices == (slice(40, 90), slice(40, 90))
    for size, overlap in [(0, 0), (50, 50), (50, -1), (True, 0), (50, 2.5)]:
        with pytest.raises(SessionError, match="size|overlap"):
            chip_windows((100, 100), size=size, overlap=overlap)


@pytest.mark.parametrize("reach", [1, 2])
def test_the_split_keeps_blocks_whole_and_splits_apart(reach):
    cells = [(i, j) for i in range(16) for j in range(16)]
    split = blocked_split(cells, block=4, seed=3, reach=reach)
    assert split == blocked_split(cells, block=4, seed=3, reach=reach)  # the seed decides
    assert split != blocked_split(cells, block=4, seed=4, reach=reach)
    kept = {cell: s for cell, s in zip(cells, split, strict=True) if s != "buffer"}
    assert {s for s in kept.values()} == set(SPLITS)
    for (a, sa), (b, sb) in itertools.combinations(kept.items(), 2):
        if max(abs(a[0] - b[0]), abs(a[1] - b[1])) <= reach:
            assert sa == sb, (a, sa, b, sb)  # no two chips of different splits within reach
    blocks = {}
    for cell, s in zip(cells, split, strict=True):
        blocks.setdefault((cell[0] // 4, cell[1] // 4), set()).add(s)
    assert all(len(kinds - {"buffer"}) <= 1 for kinds in blocks.values())  # a block is in one split at most
    # the bigger split gives way: test keeps its blocks whole, val gives way to test only, train to both
    n = {s: split.count(s) for s in (*SPLITS, "buffer")}
    assert n["test"] % 16 == 0 and n["test"] > 0 and n["val"] > 0 and n["train"] > n["val"] + n["test"]
    for cell, s in zip(cells, split, strict=True):
        if s == "buffer":  # left out only beside a chip of a smaller split
            near = {kept.get((cell[0] + di, cell[1] + dj)) for di in range(-reach, reach + 1)
                    for dj in range(-reach, reach + 1)}
            assert near & {"val", "test"}, cell
    assert set(blocked_split(cells, fractions=(1, 0, 0), block=4)) == {"train"}
    with pytest.raises(SessionError, match="three fractions"):
        blocked_split(cells, fractions=(0.8, 0.2))
    with pytest.raises(SessionError, match="block"):
        blocked_split(cells, block=0)


def test_chips_of_the_real_crop_line_up_with_the_scene_and_the_labels(crop_session, crop_result, tmp_path):
    session, scene = crop_session, crop_result.scene
    session.rename(session.labels[0].id, "water")
    bands = ["B04", "B03", "B02", "B08"]
    out = export_chips(session, tmp_path / "chips", size=32, bands=bands, min_labelled=0.5, block=2,
                       progress=False)
    codes = label_codes(session.label_raster())
    with open(out.index_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) + out.n_skipped == (256 // 32) ** 2
    written = [r for r in rows if r["split"] != "buffer"]
    assert {r["split"] for r in written} == set(SPLITS) and out.n_chips == len(written)
    assert out.counts == {s: sum(r["split"] == s for r in rows) for s in (*SPLITS, "buffer")}
    assert sorted(p.name for p in (tmp_path / "chips" / "images").iterdir()) == sorted(
        f"{r['chip']}.tif" for r in written)
    for r in written:
        row, col, size = int(r["row"]), int(r["col"]), int(r["size"])
        grid = window_transform(Window(col, row, size, size), scene.transform)
        with rasterio.open(out.folder / r["image"]) as image, rasterio.open(out.folder / r["mask"]) as mask:
            assert image.transform == mask.transform == grid and image.crs == mask.crs == scene.crs
            assert image.shape == mask.shape == (size, size) and image.descriptions == tuple(bands)
            np.testing.assert_array_equal(image.read(), scene.select(bands).data[:, row:row + size, col:col + size])
            truth = codes[row:row + size, col:col + size]
            np.testing.assert_array_equal(mask.read(1), truth)
            assert mask.colormap(1)[session.labels[0].id + 1][:3] == tuple(
                int(session.labels[0].colour[k:k + 2], 16) for k in (1, 3, 5))
        fraction = float(r["labelled_fraction"])
        assert fraction == pytest.approx(np.count_nonzero(truth) / size**2, abs=1e-4) and fraction >= 0.5
        assert int(r["pixels:water"]) == int((truth == session.labels[0].id + 1).sum())
    for a, b in itertools.combinations(written, 2):
        assert a["split"] == b["split"] or not _touching(
            *({k: int(x[k]) for k in ("row", "col", "size")} for x in (a, b)))

    items = pystac.ItemCollection.from_dict(json.loads(out.index_stac.read_text()))
    assert sorted(item.id for item in items) == sorted(r["chip"] for r in written)
    item = next(iter(items))
    assert item.properties["s2label:split"] in SPLITS and item.assets["labels"].href.startswith("masks/")
    west, south, east, north = item.bbox  # WGS84, inside the scene's footprint
    s_west, s_south, s_east, s_north = transform_bounds(scene.crs, "EPSG:4326", *scene.bounds)
    assert s_west <= west < east <= s_east and s_south <= south < north <= s_north
    labels = json.loads(out.labels_json.read_text())
    assert labels["codes"][str(session.labels[0].id + 1)]["name"] == "water" and labels["bands"] == bands

    # again into the same folder: the earlier export is replaced as a whole
    with pytest.warns(S2LabelWarning, match="val and test got no chip"):  # 16 chips, all in one block
        again = export_chips(session, tmp_path / "chips", size=64, min_labelled=0.0, block=4, progress=False)
    assert again.counts == {"train": 16, "val": 0, "test": 0, "buffer": 0}
    assert again.n_skipped == 0 and len(list((tmp_path / "chips" / "images").iterdir())) == again.n_chips
    with rasterio.open(next((tmp_path / "chips" / "images").iterdir())) as image:
        assert image.count == len(scene.bands) and image.shape == (64, 64)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".chips")]  # no temporary folder left


def test_chips_refuse_what_they_cannot_do(crop_session, crop_result, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    with pytest.raises(SessionError, match="holds other files"):
        crop_session.export_chips(tmp_path / "notes", size=32, progress=False)
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"
    with pytest.raises(SessionError, match="unknown band name 'B99'"):
        crop_session.export_chips(tmp_path / "c", bands=["B99"], progress=False)
    with pytest.raises(SessionError, match="min_labelled"):
        crop_session.export_chips(tmp_path / "c", min_labelled=1.5, progress=False)
    with pytest.raises(SessionError, match="no chip of 512 px"):
        crop_session.export_chips(tmp_path / "c", size=512, progress=False)
    bare = LabelSession.from_result(crop_result)
    bare.scene = None
    with pytest.raises(SessionError, match="need the scene's pixels"):
        bare.export_chips(tmp_path / "c", progress=False)
    assert not (tmp_path / "c").exists()


def test_an_export_that_fails_half_way_leaves_the_earlier_one_whole(crop_session, tmp_path, monkeypatch):
    import s2label.session.chips as chips

    first = export_chips(crop_session, tmp_path / "chips", size=64, min_labelled=0.0, block=1, progress=False,
                         split=(1, 0, 0))
    before = sorted((p.relative_to(first.folder), p.stat().st_size) for p in first.folder.rglob("*") if p.is_file())
    written = []

    def fail_on_the_fifth(*args, **kwargs):  # a full disk, or a kill, in the middle of the new export
        written.append(args[0])
        if len(written) == 5:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    real = chips.write_raster
    monkeypatch.setattr(chips, "write_raster", fail_on_the_fifth)
    with pytest.raises(OSError, match="No space left"):
        export_chips(crop_session, tmp_path / "chips", size=32, min_labelled=0.0, block=1, progress=False,
                     split=(1, 0, 0))
    after = sorted((p.relative_to(first.folder), p.stat().st_size) for p in first.folder.rglob("*") if p.is_file())
    assert after == before and len(written) == 5  # the earlier export, untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".chips")] == []  # no half-written folder
