"""Time one label propagation (:meth:`s2label.session.LabelSession.propagate`) on the default scene.

The default scene's default segmentation (18,679 segments), spectral embeddings, PCA + HDBSCAN; three hand
labels in each of up to four clusters; the segment graph built first (once per session), then the
propagation timed alone (median of ``--repeats``)::

    .venv/bin/python benchmarks/propagate.py

``--copies 33`` also times :func:`s2label.session.propagate.propagate_labels` (what the edit runs) on the default
scene's segment graph and clustering space repeated 33 times side by side (616,407 segments, the size of the
whole-tile run's 606,405; copies are joined along one edge each, and the space is jittered so that no two
segments coincide), with the same examples in every copy::

    .venv/bin/python benchmarks/propagate.py --copies 33

``--pixel`` also times one pixel-precise label map (``LabelSession.label_raster(precision="pixel")``: the random
forest trained and applied to every labelled pixel of the scene) after the propagation.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import s2label
from s2label.session.label_session import LabelSession
from s2label.session.propagate import propagate_labels
from s2label.session.rules import WEAK_EXAMPLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--copies", type=int, default=0, help="also time the graph repeated this many times")
    parser.add_argument("--pixel", action="store_true", help="also time a pixel-precise label map")
    args = parser.parse_args()
    scene = s2label.sample_scene()
    seg = s2label.segment(scene)
    emb = s2label.embed(scene, seg, s2label.build_graph(seg), encoder="spectral")
    clu = s2label.cluster(emb, reduce="pca")
    session = LabelSession(seg, emb, clu, scene=scene)
    labels = np.asarray(clu.cluster)
    for k in range(max(2, min(4, clu.n_clusters))):
        session.create_label(f"class {k}", (np.flatnonzero(labels == k)[:3] + 1).tolist())
    t = time.perf_counter()
    session._evidence()  # the segment graph, built once per session
    graph_s = time.perf_counter() - t
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        session.propagate()
        times.append(time.perf_counter() - t)
        session.undo()
    print(f"{seg.n_segments} segments: segment graph {graph_s:.2f} s (once), propagation median "
          f"{statistics.median(times):.2f} s, max {max(times):.2f} s over {args.repeats}")
    if args.pixel:
        session.propagate()
        t = time.perf_counter()
        raster = session.label_raster(precision="pixel", progress=False)
        print(f"pixel-precise map of {raster.size / 1e6:.2f} Mpx ({int((raster >= 0).sum()) / 1e6:.2f} Mpx labelled): "
              f"{time.perf_counter() - t:.1f} s")
    if args.copies > 1:
        edge_index, edge_weight, space = session._evidence()
        n, c = seg.n_segments, args.copies
        offsets = np.repeat(np.arange(c) * n, edge_index.shape[1])
        joins = np.array([[k * n, (k + 1) * n] for k in range(c - 1)]).T  # one edge from each copy to the next
        big_edges = np.concatenate([np.tile(edge_index, c) + offsets, joins, joins[::-1]], axis=1)
        big_weight = np.concatenate([np.tile(edge_weight, c), np.ones(2 * (c - 1))])
        rng = np.random.default_rng(0)
        spread = np.asarray(space).std(axis=0)
        big_space = np.tile(space, (c, 1)) + rng.normal(0, 1e-3, (n * c, space.shape[1])) * spread
        examples = np.full(n, -1)
        for k in range(max(2, min(4, clu.n_clusters))):
            examples[np.flatnonzero(labels == k)[:3]] = k
        weights = np.where(examples >= 0, 1.0, 0.0)
        weak = (examples < 0) & (labels >= 0) & (labels < 4)  # the named clusters' weak examples
        examples, weights = np.where(weak, labels, examples), np.where(weak, WEAK_EXAMPLE, weights)
        big_examples, big_weights = np.tile(examples, c), np.tile(weights, c)
        big_times = []
        for _ in range(max(1, args.repeats // 2)):
            t = time.perf_counter()
            result = propagate_labels(big_edges, big_weight, big_space, big_examples, big_weights)
            big_times.append(time.perf_counter() - t)
        print(f"{n * c} segments ({c} copies): propagation median {statistics.median(big_times):.1f} s, max "
              f"{max(big_times):.1f} s over {len(big_times)} ({result.iterations} iterations)")


if __name__ == "__main__":
    main()
