"""Per-stage wall time and peak memory of the pipeline on the default scene, and the segment-graph speed-up
against ``skimage.graph.RAG``.

Run:  .venv/bin/python benchmarks/pipeline.py [--encoder cnn-gnn|cnn|spectral] [--repeats 5] [--device cpu|cuda|auto]
      [--precision float32|bfloat16]

``--device cuda`` runs the U-Net and the GNN on the GPU, and says it skips when there is none.

Prints a markdown table (the README quotes it). Peak memory is the resident set size sampled every 5 ms
while the stage runs (whole process, so it includes what earlier stages keep alive).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch
from _device import add_device_option, describe_device, resolve_device


def _time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default="cnn-gnn")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="arithmetic of the U-Net's training")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the graph timing (median)")
    parser.add_argument("--rag-repeats", type=int, default=2)
    add_device_option(parser)
    args = parser.parse_args()
    device = resolve_device(args.device)

    import s2label
    from s2label.io.datasets import sample_scene_path

    torch.set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    result = s2label.run(sample_scene_path(), encoder=args.encoder, device=device, progress=False,
                         cnn=s2label.CNNConfig(precision=args.precision))
    total = time.perf_counter() - t0
    rep = result.report
    print(f"## Pipeline on the default scene ({rep['scene']['shape'][0]} x {rep['scene']['shape'][1]} px, "
          f"{len(rep['scene']['bands'])} bands, encoder `{args.encoder}`)")
    print(f"\n{describe_device(device)}, {os.cpu_count()} CPU cores, torch threads "
          f"{torch.get_num_threads()}, python {platform.python_version()}\n")
    print("| stage | wall s | peak RSS MiB |")
    print("|---|---:|---:|")
    for name, st in rep["stages"].items():
        print(f"| {name} | {st['seconds']:.2f} | {st['peak_rss_mb']:.0f} |")
    print(f"| **total** | **{total:.2f}** | **{rep['peak_memory_mb']:.0f}** |")
    c = rep["counts"]
    print(f"\n{c['segments']} segments, {c['edges']} edges, {c['clusters']} clusters, "
          f"{c['noise_fraction']:.1%} noise.")

    from skimage.graph import RAG

    labels = result.segmentation.ids
    ours, graph = _time(lambda: s2label.build_graph(labels), args.repeats)
    theirs, rag = _time(lambda: RAG(labels, connectivity=1), args.rag_repeats)
    rag_edges = {tuple(sorted(e)) for e in rag.edges() if 0 not in e}
    same = rag_edges == {(int(a) + 1, int(b) + 1) for a, b in graph.pairs()}
    print("\n## Segment graph vs skimage.graph.RAG (same labels, 4-connectivity)\n")
    print("| method | median s | edges |")
    print("|---|---:|---:|")
    print(f"| s2label.build_graph | {ours:.3f} | {graph.num_edges} |")
    print(f"| skimage.graph.RAG | {theirs:.3f} | {len(rag_edges)} |")
    print(f"\nspeed-up: **{theirs / ours:.0f}x**; identical edge sets: {same}")
    np.testing.assert_equal(same, True)


if __name__ == "__main__":
    main()
