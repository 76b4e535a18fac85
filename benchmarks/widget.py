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
QUICK_WINDOW = ((400, 1400), (400, 1400))


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


def _bench_explorer(scene, args, segment_size: int, rng: np.random.Generator, table: Table) -> Path:
    """Build the explorer case, print its header and time the edits, clicks, polygons and find-similar."""
    from s2label.session import LabelSession
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
    session = LabelSession(seg, emb, clustering, autosave=tmp / "session.json")
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
    rows, cols = np.nonzero(seg.labels > 0)
    pick = rng.choice(rows.size, size=n, replace=False)
    points = [explorer.locator.latlon(int(rows[k]), int(cols[k])) for k in pick]
    locate = [_ms(lambda p=p: explorer.locator.locate(*p)) for p in points]
    assert all(explorer.locator.locate(*p) == seg.labels[rows[k], cols[k]] for p, k in zip(points, pick, strict=True))
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
    return session.autosave_path


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
    args = parser.parse_args()

    import s2label
    from s2label._profiling import peak_rss_mb
    from s2label.similar import SimilarityIndex

    rng = np.random.default_rng(args.seed)
    n = args.repeats
    window = QUICK_WINDOW if args.quick else None
    scene = s2label.sample_scene(window=window)
    n_valid = int(scene.valid.sum())
    segment_size = args.segment_size if not args.quick else 200
    target_similar = args.similar_segments if not args.quick else min(args.similar_segments, 10_000)

    table = Table()
    autosave = _bench_explorer(scene, args, segment_size, rng, table)
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

    table.print()
    if sim_line:
        print(f"\n{sim_line}")
    print(f"\npeak RSS: {rss_explorer:.0f} MiB after the explorer benchmarks, {peak_rss_mb():.0f} MiB at the end")
    print(f"autosave file after the explorer benchmarks: {autosave.stat().st_size / 1024:.0f} KiB ({autosave})")


if __name__ == "__main__":
    main()
