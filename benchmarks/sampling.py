"""Clustering on a sample of the segments against clustering all of them (s2label.evaluation.measures.sample_agreement).

Run:  .venv/bin/python benchmarks/sampling.py [--segment-size 64] [--samples 5000,10000,20000] [--reduce umap]

The whole default scene is cut into small segments (about 58,000 at 64 px) and described by spectral features;
UMAP + HDBSCAN are fitted on all of them once and on seeded samples of each size, the rest assigned by the
fitted model's nearest-neighbour vote. Prints a markdown table: agreement (ARI with noise as a label and with
noise assigned, NMI), clusters and noise of both, and the wall time of each.
"""

from __future__ import annotations

import argparse
import time

import torch

import s2label
from s2label.evaluation.measures import sample_agreement


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segment-size", type=int, default=64)
    parser.add_argument("--samples", default="5000,10000,20000")
    parser.add_argument("--reduce", default="umap", choices=("umap", "pca"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    scene = s2label.sample_scene()
    seg = s2label.segment(scene, segment_size=args.segment_size)
    emb = s2label.embed(scene, seg, encoder="spectral")
    print(f"default scene, {seg.n_segments} segments of ~{args.segment_size} px, spectral features, "
          f"{args.reduce} + HDBSCAN\n")
    print("| sample | ARI | ARI noise assigned | NMI | clusters full / sample | noise full / sample "
          "| full fit s | sampled fit s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    t0 = time.perf_counter()
    full = s2label.cluster(emb, reduce=args.reduce, sample=None)
    full_seconds = time.perf_counter() - t0
    for n in (int(v) for v in args.samples.split(",")):
        a = sample_agreement(emb, n, full=full, reduce=args.reduce)
        print(f"| {a.fit_rows:,} | {a.ari:.3f} | {a.ari_assigned:.3f} | {a.nmi:.3f} | {a.clusters_full} / "
              f"{a.clusters_sampled} | {a.noise_full:.1%} / {a.noise_sampled:.1%} | {full_seconds:.1f} | "
              f"{a.seconds_sampled:.1f} |", flush=True)


if __name__ == "__main__":
    main()
