"""Time one label propagation (:meth:`s2label.session.LabelSession.propagate`) on the default scene.

The default scene's default segmentation (18,679 segments), spectral embeddings, PCA + HDBSCAN; three hand
labels in each of up to four clusters; the segment graph built first (once per session), then the
propagation timed alone (median of ``--repeats``)::

    .venv/bin/python benchmarks/propagate.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import s2label
from s2label.session import LabelSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    scene = s2label.sample_scene()
    seg = s2label.segment(scene)
    emb = s2label.embed(scene, seg, s2label.build_graph(seg), encoder="spectral")
    clu = s2label.cluster(emb, reduce="pca")
    session = LabelSession(seg, emb, clu)
    labels = np.asarray(clu.labels)
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


if __name__ == "__main__":
    main()
