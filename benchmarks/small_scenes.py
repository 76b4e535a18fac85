"""The learned encoder on small scenes: quality and time against the U-Net's training steps.

Run:  .venv/bin/python benchmarks/small_scenes.py [--steps 300 100] [--seeds 0 1]

The four quarters of ../shared/data/aberystwyth (real L2A, 10 bands, about 470 x 465 px each, 4 reference
classes) are each run through the default pipeline (cnn-gnn, UMAP + HDBSCAN) with each number of U-Net
steps and seed. Printed: per number of steps, the mean over quarters and seeds of the named-cluster
accuracy (noise given its nearest cluster), ARI, NMI and the number of clusters, with the spread between
seeds (mean over quarters of max - min), and the mean wall time of a run. This is how the default
scaling of the steps with the scene (``CNNConfig.passes``) was checked on scenes other than the ones it is
used on.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import s2label
from s2label.encoders.encoder import CNNConfig
from s2label.evaluation.measures import load_reference, named_cluster_accuracy
from s2label.segmentation.export import label_raster

ABER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aberystwyth"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[300, 100])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    path = ABER / "sen2_20210527_aber_10band_mosaic.tif"
    if not path.is_file():
        print(f"{ABER} not found: skipping")
        return
    torch.set_num_threads(2)
    whole = s2label.read_scene(path, scale=1e-3, progress=False)
    h, w = whole.shape
    quarters = [((r0, r1), (c0, c1)) for r0, r1 in ((0, h // 2), (h // 2, h)) for c0, c1 in ((0, w // 2), (w // 2, w))]
    rows = {}
    for steps in args.steps:
        scores: dict[tuple[int, int], tuple[float, float, float, int, float]] = {}
        for q, window in enumerate(quarters):
            scene = s2label.read_scene(path, scale=1e-3, window=window, progress=False)
            reference = load_reference(ABER / "sen2_20210527_aber_cls_aligned.tif", scene)
            for seed in args.seeds:
                t0 = time.perf_counter()
                result = s2label.run(scene, cnn=CNNConfig(steps=steps, passes=None), seed=seed, progress=False)
                seconds = time.perf_counter() - t0
                seg, clus = result.segmentation, result.clustering
                acc = named_cluster_accuracy(label_raster(seg, clus.cluster), reference,
                                             assigned=label_raster(seg, clus.cluster_noise_assigned()))
                scores[q, seed] = (acc.accuracy_assigned, acc.ari, acc.nmi, acc.n_clusters, seconds)
                print(f"steps {steps} quarter {q} seed {seed}: accuracy {acc.accuracy_assigned:.3f} ari "
                      f"{acc.ari:.3f} nmi {acc.nmi:.3f} clusters {acc.n_clusters} in {seconds:.1f} s", flush=True)
        rows[steps] = scores
    print(f"\n## Learned encoder on the four quarters of Aberystwyth ({h // 2} x {w // 2} px), seeds "
          f"{', '.join(map(str, args.seeds))}\n")
    print("| U-Net steps | accuracy | ARI | NMI | clusters | seed spread (accuracy, ARI) | wall s a run |")
    print("|---:|---:|---:|---:|---:|---|---:|")
    for steps, scores in rows.items():
        values = np.array(list(scores.values()))
        spread = [statistics.mean(max(scores[q, s][i] for s in args.seeds) - min(scores[q, s][i] for s in args.seeds)
                                  for q in range(len(quarters))) for i in (0, 1)]
        print(f"| {steps} | {values[:, 0].mean():.3f} | {values[:, 1].mean():.3f} | {values[:, 2].mean():.3f} | "
              f"{values[:, 3].mean():.1f} | {spread[0]:.3f}, {spread[1]:.3f} | {values[:, 4].mean():.1f} |")


if __name__ == "__main__":
    main()
