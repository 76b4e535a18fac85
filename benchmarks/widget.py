"""Kernel-side speed of the cluster explorer on a 50,000-segment scene, and find-similar over 100,000 segments.

Run:  .venv/bin/python benchmarks/widget.py [--repeats 20] [--quick]

Builds the real case (the whole default scene, SLIC to about 50,000 segments, spectral embeddings, HDBSCAN
with min_cluster_size 100 on a PCA reduction; UMAP would add minutes and not change the widget's cost),
opens a :class:`LabelSession` with autosave on and a :class:`ClusterExplorer` over it, then times each user
action with ``time.perf_counter``: the session edit plus the explorer's observer refresh (synchronous, so
timing the session call covers the whole kernel-side update: autosave, label overlay LUT + PNG data URL,
panel rows, legend, embedding view colours). Without a front end the widgets' state is still serialised for
each change (ipywidgets' dummy comm drops the message), so only the socket write is missing.

Prints a markdown table against the issue's targets: edits under 100 ms, a click under 20 ms, find-similar
over 100,000 embeddings under 200 ms. ``--quick`` runs on a 1000 x 1000 px window (smoke test).

Zoomed-in detail (issue 6, item 5): the map is moved (bounds and zoom set as the front end reports them, for a
1000 x 640 px map) to random places of the scene at a high zoom, each far from the last, so every move
computes a new detail grid and repaints the label and true-colour detail overlays; an edit is then timed with
the detail shown. ``--mosaic N`` repeats the same on an N x N mosaic of the default scene cut to a whole
Sentinel-2 tile (10980 x 10980 px; labels and three bands), through the same functions the explorer calls.

Session store (issue 14, item 4): on the same segments, a session store is filled with ``--store-edits``
(10,000) real edits (renames, recolours, hand assignments, each committed as the researcher's would be), then
an edit's write is timed with that log: the store's transaction alone (catch-up check, one row, commit with
``fsync``) against the target of 5 ms, the whole ``rename`` call (apply + write, no explorer), the same at an
empty log, and what the session file before the store cost: rewriting the whole JSON log atomically.
``--store-only`` runs just this part.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

EDIT_TARGET_MS = 100.0
CLICK_TARGET_MS = 20.0
SIMILAR_TARGET_MS = 200.0
STORE_WRITE_TARGET_MS = 5.0
QUICK_WINDOW = ((400, 1400), (400, 1400))
MAP_PX = (1000, 640)  # (width, height) of the explorer's map in screen pixels
TILE_PX = 10980       # a Sentinel-2 tile at 10 m


def _ms(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000.0


class Table:
    """Rows of (action, times in ms, target ms or None, note)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, list[float], float | None, str]] = []

    def add(self, action: str, times: list[float], target: float | None, note: str = "") -> None:
        self.rows.append((action, times, target, note))

    def print(self) -> None:
        print("| action | n | median ms | max ms | target ms | met? |")
        print("|---|---:|---:|---:|---:|---|")
        for action, times, target, note in self.rows:
            med, top = statistics.median(times), max(times)
            met = "—" if target is None else ("yes" if med < target else "**no**")
            if target is not None and med < target <= top:
                met += " (median; max over)"
            label = f"{action} ({note})" if note else action
            print(f"| {label} | {len(times)} | {med:.1f} | {top:.1f} | "
                  f"{'—' if target is None else f'{target:.0f}'} | {met} |")


def _build(scene, segment_size: int, *, clustering: bool, reduce: str, min_cluster_size: int | None = None):
    import s2label

    t0 = time.perf_counter()
    seg = s2label.segment(scene, segment_size=segment_size)
    t_seg = time.perf_counter() - t0
    graph = s2label.build_graph(seg)
    emb = s2label.embed(scene, seg, graph, encoder="spectral")
    t_emb = time.perf_counter() - t0 - t_seg
    clu = None
    t_clu = 0.0
    if clustering:
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clu = s2label.cluster(emb, reduce=reduce, min_cluster_size=min_cluster_size)
        t_clu = time.perf_counter() - t1
    return seg, emb, clu, (t_seg, t_emb, t_clu)


def _view_at(frame, fx: float, fy: float, zoom: float):
    """The MapView of a MAP_PX map centred at fractions (fx west to east, fy north to south) of a frame."""
    from pyproj import Transformer

    from s2label.display.detail import MapView, screen_pixel_size

    left, bottom, right, top = frame.mercator_bounds
    cx, cy = left + fx * (right - left), top - fy * (top - bottom)
    half_w, half_h = (n * screen_pixel_size(zoom) / 2 for n in MAP_PX)
    (west, east), (south, north) = Transformer.from_crs(3857, 4326, always_xy=True).transform(
        [cx - half_w, cx + half_w], [cy - half_h, cy + half_h])
    return MapView(south, west, north, east, zoom)


def _set_view(explorer, view) -> None:
    """Move the explorer's map as the front end does (bounds and zoom in one message)."""
    m = explorer.map
    with m.hold_trait_notifications():
        m.zoom = view.zoom
        for name in ("south", "west", "north", "east"):
            m.set_trait(name, getattr(view, name))


def _places(rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    """n centres (fractions of the scene) well inside it, alternating between its halves (each far from the last)."""
    return [(float(rng.uniform(0.15, 0.45) + 0.4 * (i % 2)), float(rng.uniform(0.15, 0.85))) for i in range(n)]


def _bench_detail(explorer, rng: np.random.Generator, table: Table, repeats: int) -> None:
    """Detail overlays of the explorer on the whole scene: moves at high zooms, an edit with the detail shown."""
    frame, overview = explorer.detail.frame, explorer.detail.overview_pixel_size
    print(f"detail: overview pixel {overview:.1f} m (coarsest overview), data pixel {frame.pixel_size:.1f} m "
          f"(Web-Mercator metres); map {MAP_PX[0]} x {MAP_PX[1]} px\n")
    if overview < 1.1 * frame.pixel_size:
        print("(the overviews are at the data's resolution: no detail to time on this scene)\n")
        return
    out = _view_at(frame, 0.5, 0.5, 9)
    for zoom in (14, 16):
        times, shapes = [], []
        for fx, fy in _places(rng, repeats):
            _set_view(explorer, out)  # no detail: the next view computes a new one
            times.append(_ms(lambda fx=fx, fy=fy, zoom=zoom: _set_view(explorer, _view_at(frame, fx, fy, zoom))))
            assert explorer.detail_grid is not None and explorer.details["labels"].layer.visible
            shapes.append(explorer.detail_grid.shape)
        h, w = shapes[-1]
        table.add(f"detail: zoom in to a place, zoom {zoom}", times, None,
                  f"{h} x {w} px at {explorer.detail_grid.pixel_size:.1f} m: ids + labels PNG + true colour WebP")
    # the parts of one refresh at zoom 14 (the largest detail grid)
    from s2label.display.images import png_data_url
    from s2label.display.mercator import reproject_segments
    from s2label.display.overlays import colour_segments

    fx, fy = _places(rng, 1)[0]
    view = _view_at(frame, fx, fy, 14)
    _set_view(explorer, view)
    grid = explorer.detail_grid
    lut = explorer.segment_lut()
    note = f"zoom 14, {grid.shape[0]} x {grid.shape[1]} px"
    table.add("detail: segment ids (windowed reprojection)",
              [_ms(lambda: reproject_segments(explorer.session.segmentation, grid.spec,
                                              n_segments=explorer.session.n_segments))
               for _ in range(repeats)], None, note)
    table.add("detail: labels LUT + PNG", [_ms(lambda: png_data_url(colour_segments(grid, lut)))
                                           for _ in range(repeats)], None, note)
    table.add("detail: true colour render + WebP", [_ms(explorer.details["true colour"].redraw)
                                                    for _ in range(repeats)], None, note)
    small = _view_at(frame, fx + 0.1 * MAP_PX[0] * view.pixel_size / (frame.mercator_bounds[2]
                                                                         - frame.mercator_bounds[0]), fy, 14)
    table.add("detail: small pan inside the margin", [_ms(lambda v=v: _set_view(explorer, v))
                                                      for v in [small, view] * (repeats // 2)], None,
              "nothing recomputed")
    a = explorer.session.labels[0].id
    colours = ["#112233", "#aabbcc"]
    table.add("recolour with the detail shown", [_ms(lambda i=i: explorer.session.set_colour(a, colours[i % 2]))
                                                 for i in range(repeats)], EDIT_TARGET_MS,
              "overview + detail repainted")
    table.add("detail: zoom out (hide)", [_ms(lambda: _set_view(explorer, out))], None)
    assert explorer.detail_grid is None


def _bench_mosaic(scene, seg, tiles: int, rng: np.random.Generator, table: Table, repeats: int) -> None:
    """Detail refresh on a whole-tile mosaic of the default scene, through the functions the explorer calls."""
    from s2label.display.detail import DetailTracker
    from s2label.display.imagery import band_limits, render_bands
    from s2label.display.images import png_data_url, webp_data_url
    from s2label.display.mercator import display_grid
    from s2label.display.overlays import colour_segments
    from s2label.io.scene import Scene
    from s2label.segmentation.superpixels import Segmentation

    side = min(TILE_PX, tiles * min(scene.shape))
    t0 = time.perf_counter()
    h, w = seg.shape
    n = seg.n_segments
    offsets = (np.arange(tiles * tiles, dtype=np.int32) * n).reshape(tiles, tiles)
    labels = np.tile(seg.ids, (tiles, tiles))[:side, :side]
    labels += np.where(labels > 0, np.repeat(np.repeat(offsets, h, 0), w, 1)[:side, :side], 0)
    bands = ("B04", "B03", "B02")
    data = np.stack([np.tile(scene.band(b), (tiles, tiles))[:side, :side] for b in bands])
    valid = np.tile(scene.valid, (tiles, tiles))[:side, :side]
    big_seg = Segmentation(labels, seg.transform, seg.crs)
    big = Scene(data, bands, scene.transform, scene.crs, valid, source="mosaic")
    n_big = big_seg.n_segments
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    overview = display_grid(big_seg, max_size=1600)
    t_overview = time.perf_counter() - t0
    photo = display_grid(big_seg, max_size=1200)
    limits = band_limits(big, bands)
    lut = np.zeros((n_big + 1, 4), np.uint8)
    lut[1:] = rng.integers(0, 256, (n_big, 4), dtype=np.uint8)
    tracker = DetailTracker(big_seg, overview_pixel_size=photo.pixel_size, n_segments=n_big)
    frame = tracker.frame
    print(f"\nmosaic: {tiles} x {tiles} default scenes cut to {side} x {side} px, {n_big} segments, 3 bands "
          f"(built in {t_build:.1f} s); overview {overview.shape[0]} x {overview.shape[1]} px at "
          f"{overview.pixel_size:.1f} m, true colour overview at {photo.pixel_size:.1f} m, data "
          f"{frame.pixel_size:.1f} m; display_grid of the whole mosaic {t_overview:.1f} s")

    for zoom in (12, 14, 16):
        if tracker.plan(_view_at(frame, 0.5, 0.5, zoom)) is None:
            print(f"(zoom {zoom}: the overview is enough, no detail)")
            continue
        parts: list[list[float]] = [[], [], []]
        for fx, fy in _places(rng, repeats):
            tracker.update(None)  # zoomed out: the next view computes a new detail
            view = _view_at(frame, fx, fy, zoom)
            parts[0].append(_ms(lambda view=view: tracker.update(view)))
            parts[1].append(_ms(lambda: png_data_url(colour_segments(tracker.grid, lut))))
            parts[2].append(_ms(lambda: webp_data_url(render_bands(big, tracker.grid, bands, limits=limits),
                                                      method=2)))
        gh, gw = tracker.grid.shape
        ids, labs, photo = (statistics.median(t) for t in parts)
        totals = [a + b + c for a, b, c in zip(*parts, strict=True)]
        table.add(f"mosaic {side} px: detail at a new place, zoom {zoom}", totals, None,
                  f"{gh} x {gw} px at {tracker.grid.pixel_size:.1f} m, overview {overview.pixel_size:.0f} m; "
                  f"ids {ids:.0f} + labels {labs:.0f} + true colour {photo:.0f} ms")


def _bench_store(seg, emb, clustering, table: Table, repeats: int, n_log: int) -> None:
    """Time an edit's write with ``n_log`` edits in the store's log (see the module docstring)."""
    from s2label._atomic import write_json_atomic
    from s2label.session.label_session import LabelSession

    tmp = Path(tempfile.mkdtemp(prefix="s2label-store-bench-"))
    session = LabelSession(seg, emb, clustering, autosave=tmp / "session.sqlite", annotator="bench")
    ids = [lab.id for lab in session.labels]
    rng = np.random.default_rng(0)
    empty = [_ms(lambda i=i: session.rename(ids[0], f"empty log {i}")) for i in range(repeats)]
    t0 = time.perf_counter()
    for i in range(n_log - repeats):
        kind = i % 3
        if kind == 0:
            session.rename(ids[i % len(ids)], f"name {i}")
        elif kind == 1:
            session.set_colour(ids[i % len(ids)], f"#{int(rng.integers(0, 1 << 24)):06x}")
        else:
            session.assign([int(s) for s in rng.integers(1, seg.n_segments + 1, size=3)], ids[i % len(ids)])
    t_fill = time.perf_counter() - t0
    n = len(session.edits)
    full = [_ms(lambda i=i: session.rename(ids[0], f"full log {i}")) for i in range(repeats)]
    store = session._store
    edit, record = session.edits[-1], session.annotations[-1]

    def raw_write() -> None:  # what the store does for an edit: the transaction, nothing else
        with store.transaction() as txn:
            txn.read_after([], txn.revision)
            txn.write(dropped=[], new=[(edit, record)], position=n)

    raw = [_ms(raw_write) for _ in range(repeats)]
    doc = session.to_dict()
    rewrite = [_ms(lambda: write_json_atomic(tmp / "session.json", doc, indent=None)) for _ in range(repeats)]
    size_kib = (tmp / "session.json").stat().st_size / 1024
    print(f"\nsession store: {n} edits committed in {t_fill:.0f} s ({t_fill / max(n, 1) * 1000:.1f} ms each, apply "
          f"included), store {(tmp / 'session.sqlite').stat().st_size / 1024:.0f} KiB; the same log as JSON "
          f"{size_kib:.0f} KiB\n")
    table.add(f"store write of an edit, {n} edits in the log", raw, STORE_WRITE_TARGET_MS,
              "transaction: catch-up check, one row, commit (fsync)")
    table.add(f"rename, {n} edits in the log (no explorer)", full, None, "apply + store write")
    table.add("rename, empty log (no explorer)", empty, None, "apply + store write")
    table.add(f"before the store: rewrite the whole JSON log, {n} edits", rewrite, None, "what each edit cost then")


def _splittable(session) -> int | None:
    """Id of a label whose hierarchy nodes have children (largest first), or None."""
    h = session.hierarchy
    if h.flat:
        return None
    counts = session.counts()
    for lab in sorted(session.labels, key=lambda lab: -counts.get(lab.id, 0)):
        if lab.nodes and sum(len(h.children(n)) or 1 for n in lab.nodes) >= 2:
            return lab.id
    return None


def _polygon(locator, r0: int, c0: int, side: int) -> dict:
    corners = [(r0, c0), (r0, c0 + side), (r0 + side, c0 + side), (r0 + side, c0), (r0, c0)]
    ring = [list(locator.latlon(r, c)[::-1]) for r, c in corners]  # GeoJSON is (lon, lat)
    return {"type": "Polygon", "coordinates": [ring]}


def _bench_explorer(scene, args, segment_size: int, rng: np.random.Generator, table: Table) -> tuple[Path, tuple]:
    """Build the explorer case, print its header and time the edits, clicks, polygons and find-similar."""
    from s2label.session.label_session import LabelSession
    from s2label.widget import ClusterExplorer

    n = args.repeats
    window = QUICK_WINDOW if args.quick else None
    h, w = scene.shape
    n_valid = int(scene.valid.sum())
    mcs = None if args.quick else args.min_cluster_size
    seg, emb, clustering, (t_seg, t_emb, t_clu) = _build(
        scene, segment_size, clustering=True, reduce=args.reduce, min_cluster_size=mcs)
    tmp = Path(tempfile.mkdtemp(prefix="s2label-bench-"))
    t0 = time.perf_counter()
    session = LabelSession(seg, emb, clustering, autosave=tmp / "session.sqlite")
    t_session = time.perf_counter() - t0
    t0 = time.perf_counter()
    explorer = ClusterExplorer(session, scene)  # default max_size=1600
    t_explorer = time.perf_counter() - t0
    explorer.mode.value = "inspect"
    gh, gw = explorer.grid.shape

    print(f"## Cluster explorer, kernel side ({'quick: ' if args.quick else ''}default scene "
          f"{'window ' + str(window) + ', ' if window else ''}{h} x {w} px, {len(scene.bands)} bands)")
    print(f"\n{seg.n_segments} segments (SLIC, segment_size {segment_size} px over {n_valid} valid px), "
          f"{clustering.n_clusters} HDBSCAN clusters ({args.reduce} reduction, spectral embeddings, "
          f"min_cluster_size {mcs or 'default'}), "
          f"{clustering.noise_fraction:.1%} noise, {len(session.granularity_levels())} granularity levels; "
          f"label overlay {gh} x {gw} display px (max_size 1600); autosave on")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), "
          f"python {platform.python_version()}, {n} repeats per action")
    print(f"\nsetup: segment {t_seg:.1f} s, graph + spectral embed {t_emb:.1f} s, cluster {t_clu:.1f} s, "
          f"LabelSession {t_session * 1000:.0f} ms, ClusterExplorer {t_explorer:.1f} s\n")

    labels = [lab.id for lab in session.labels]
    a = labels[0]
    colours = ["#112233", "#aabbcc"]

    table.add("rename", [_ms(lambda i=i: session.rename(a, f"bench name {i}")) for i in range(n)], EDIT_TARGET_MS)
    table.add("recolour (set_colour)", [_ms(lambda i=i: session.set_colour(a, colours[i % 2])) for i in range(n)],
              EDIT_TARGET_MS)
    hide, show = [], []
    for _ in range(n):
        hide.append(_ms(lambda: session.hide(a)))
        show.append(_ms(lambda: session.show(a)))
    table.add("hide", hide, EDIT_TARGET_MS)
    table.add("show", show, EDIT_TARGET_MS)

    merge, undo, redo = [], [], []
    for i in range(n):
        x, y = labels[i % len(labels)], labels[(i + 1) % len(labels)]
        merge.append(_ms(lambda x=x, y=y: session.merge([x, y])))
        undo.append(_ms(session.undo))
        redo.append(_ms(session.redo))
        session.undo()
    table.add("merge two labels", merge, EDIT_TARGET_MS)
    table.add("undo (of a merge)", undo, EDIT_TARGET_MS)
    table.add("redo (of a merge)", redo, EDIT_TARGET_MS)

    split_id = _splittable(session)
    if split_id is not None:
        split = []
        for _ in range(n):
            split.append(_ms(lambda: session.split(split_id)))
            session.undo()
        table.add("split a label", split, EDIT_TARGET_MS, f"label {split_id}")
    else:
        print("(no splittable label: split not timed)\n")

    levels = session.granularity_levels()
    current = explorer.granularity.value
    others = [k for k in range(len(levels)) if levels[k] != len(session.labels) and k != current]
    if others:
        recut, recut_undo = [], []
        chosen = sorted({others[len(others) // 2], others[-1]})
        for i in range(n):
            level = chosen[i % len(chosen)]
            recut.append(_ms(lambda level=level: session.recut(level)))
            recut_undo.append(_ms(session.undo))
        note = ", ".join(f"level {k}: {levels[k]} labels" for k in chosen)
        table.add("recut granularity", recut, EDIT_TARGET_MS, note)
        table.add("undo (of a recut)", recut_undo, EDIT_TARGET_MS)

    ids = rng.integers(1, seg.n_segments + 1, size=n)
    table.add("assign 1 segment by hand",
              [_ms(lambda i=i: session.assign([int(ids[i])], labels[i % len(labels)])) for i in range(n)],
              EDIT_TARGET_MS)
    create = []
    for i in range(n):
        chunk = rng.integers(1, seg.n_segments + 1, size=50)
        create.append(_ms(lambda i=i, chunk=chunk: session.create_label(f"bench new {i}", chunk.tolist())))
        session.undo()
    table.add("new label from 50 segments", create, EDIT_TARGET_MS)

    # clicks at random valid pixels (seeded)
    rows, cols = np.nonzero(seg.ids > 0)
    pick = rng.choice(rows.size, size=n, replace=False)
    points = [explorer.locator.latlon(int(rows[k]), int(cols[k])) for k in pick]
    locate = [_ms(lambda p=p: explorer.locator.locate(*p)) for p in points]
    assert all(explorer.locator.locate(*p) == seg.ids[rows[k], cols[k]] for p, k in zip(points, pick, strict=True))
    table.add("click: handle_click (inspect)", [_ms(lambda p=p: explorer.handle_click(*p)) for p in points],
              CLICK_TARGET_MS, "info panel + selection overlay")
    table.add("click: locator.locate", locate, CLICK_TARGET_MS, "raw lookup")

    side = int(round(0.1 * min(h, w)))  # 10% x 10% = 1% of the scene
    poly, n_sel = [], []
    for _ in range(max(3, n // 4)):
        r0, c0 = int(rng.integers(0, h - side)), int(rng.integers(0, w - side))
        geo = _polygon(explorer.locator, r0, c0, side)
        t0 = time.perf_counter()
        sel = explorer.handle_polygon(geo)
        poly.append((time.perf_counter() - t0) * 1000.0)
        n_sel.append(sel.size)
    table.add("polygon selection, 1% of scene", poly, None,
              f"{side} x {side} px, median {int(statistics.median(n_sel))} segments")

    pos = [int(s) for s in rng.integers(1, seg.n_segments + 1, size=3)]
    neg = [int(s) for s in rng.integers(1, seg.n_segments + 1, size=1) if s not in pos]
    first = _ms(lambda: session.similar(pos, neg))
    table.add(f"session.similar, {seg.n_segments} segments", [_ms(lambda: session.similar(pos, neg))
                                                               for _ in range(n)], SIMILAR_TARGET_MS,
              f"first call with index build {first:.0f} ms")
    explorer.mode.value = "similar"
    table.add("find-similar click (similar mode)", [_ms(lambda p=p: explorer.handle_click(*p)) for p in points[:5]],
              None, "query + similarity overlay")
    explorer.mode.value = "inspect"
    explorer.select_segments(np.zeros(0, np.int64))
    _bench_detail(explorer, rng, table, n)
    return session.autosave_path, (seg, emb, clustering)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="repeats of each action (median and max)")
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_WINDOW} px window (smoke test)")
    parser.add_argument("--segment-size", type=int, default=68,
                        help="SLIC segment size of the explorer case (68 px: 57,969 segments; SLIC's grid jumps from "
                             "45,674 segments at 72 and 75 px to 57,969 at 68 px; 68 covers 50,000)")
    parser.add_argument("--min-cluster-size", type=int, default=100,
                        help="HDBSCAN min_cluster_size of the explorer case (the package default, 1%% of the "
                             "segments, gives only 2 clusters of spectral embeddings: too few labels to split)")
    parser.add_argument("--similar-segments", type=int, default=100_000,
                        help="target segments of the find-similar case (0: skip it)")
    parser.add_argument("--reduce", default="pca", choices=("pca", "umap"), help="reduction before HDBSCAN")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store-edits", type=int, default=10_000,
                        help="edits in the session store's log when an edit's write is timed (0: skip)")
    parser.add_argument("--store-only", action="store_true", help="only the session store's write")
    parser.add_argument("--mosaic", type=int, default=6,
                        help="N: time the detail overlay on an N x N mosaic of the scene cut to a whole Sentinel-2 "
                             "tile, 10980 x 10980 px (0: skip; --quick: 2)")
    args = parser.parse_args()

    import s2label
    from s2label._profiling import peak_rss_mb
    from s2label.clustering.similar import SimilarityIndex

    rng = np.random.default_rng(args.seed)
    n = args.repeats
    window = QUICK_WINDOW if args.quick else None
    scene = s2label.sample_scene(window=window)
    n_valid = int(scene.valid.sum())
    segment_size = args.segment_size if not args.quick else 200
    target_similar = args.similar_segments if not args.quick else min(args.similar_segments, 10_000)

    table = Table()
    if args.store_only:
        seg, emb, clustering, _ = _build(scene, segment_size, clustering=True, reduce=args.reduce,
                                         min_cluster_size=None if args.quick else args.min_cluster_size)
        print(f"## Session store ({seg.n_segments} segments, {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores)")
        _bench_store(seg, emb, clustering, table, n, args.store_edits)
        table.print()
        return
    autosave, session_parts = _bench_explorer(scene, args, segment_size, rng, table)
    seg = session_parts[0]
    rss_explorer = peak_rss_mb()
    sim_line = ""
    if target_similar:
        seg2, emb2, _, (t_seg2, t_emb2, _) = _build(
            scene, max(1, round(n_valid / target_similar)), clustering=False, reduce=args.reduce)
        t0 = time.perf_counter()
        index = SimilarityIndex(emb2)
        t_index = (time.perf_counter() - t0) * 1000.0
        pos = [int(s) for s in rng.integers(1, seg2.n_segments + 1, size=3)]
        neg = [int(s) for s in rng.integers(1, seg2.n_segments + 1, size=1) if s not in pos]
        table.add(f"SimilarityIndex build, {emb2.n} embeddings", [t_index], None, "once")
        table.add(f"SimilarityIndex.query, {emb2.n} embeddings",
                  [_ms(lambda: index.query(pos, neg)) for _ in range(n)], SIMILAR_TARGET_MS,
                  "3 positives, 1 negative")
        sim_line = (f"find-similar case: {seg2.n_segments} segments (segment_size "
                    f"{round(n_valid / target_similar)} px, {emb2.vectors.shape[1]}-d spectral embeddings); "
                    f"segment {t_seg2:.1f} s, graph + embed {t_emb2:.1f} s")

    if args.store_edits:
        _bench_store(session_parts[0], session_parts[1], session_parts[2], table, n, args.store_edits)

    mosaic = min(args.mosaic, 2) if args.quick else args.mosaic
    if mosaic:
        _bench_mosaic(scene, seg, mosaic, rng, table, max(5, n // 2))

    table.print()
    if sim_line:
        print(f"\n{sim_line}")
    print(f"\npeak RSS: {rss_explorer:.0f} MiB after the explorer benchmarks, {peak_rss_mb():.0f} MiB at the end")
    print(f"session store after the explorer benchmarks: {autosave.stat().st_size / 1024:.0f} KiB ({autosave})")


if __name__ == "__main__":
    main()
