"""Cluster quality of s2label against baselines, side by side (s2label.evaluation.compare).

Run:  .venv/bin/python benchmarks/quality.py [--scene aberystwyth|sample|both] [--cnn-steps N] [--precision P]
      [--methods cnn,cnn-gnn] [--seeds 0,1,2] [--plot PNG]

On ../shared/data/aberystwyth (real L2A scene with a 4-class land-cover map: Forest, Grass, Urban, Water)
all measures; on the default scene (no reference) the measures that need none. Prints markdown tables; with
several ``--seeds``, one per seed and then each measure's mean and standard deviation over the seeds (the
seed-to-seed spread that a change to the pipeline is judged against).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import s2label
from s2label.encoders.encoder import CNNConfig
from s2label.evaluation.compare import METHODS, MethodScores, compare_methods, to_markdown
from s2label.evaluation.measures import load_reference

ABER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aberystwyth"
SPREAD = ("n_clusters", "noise_fraction", "accuracy_strict", "accuracy_assigned", "ari", "nmi", "fragmentation",
          "rotation_ari", "rotation_ari_retrain", "seconds")


def spread_table(runs: Sequence[Sequence[MethodScores]]) -> str:
    """Markdown: each method's measures as mean ± standard deviation (ddof=1) over the seeds' ``runs``."""
    rows = ["| method | seeds | " + " | ".join(SPREAD) + " |", "|---|---:|" + "---:|" * len(SPREAD)]
    for method in dict.fromkeys(s.method for run in runs for s in run):
        scores = [s for run in runs for s in run if s.method == method]
        cells = []
        for name in SPREAD:
            values = np.array([getattr(s, name) for s in scores], float)
            sd = values.std(ddof=1) if len(values) > 1 else float("nan")
            cells.append(f"{values.mean():.3f} ± {sd:.3f}")
        rows.append(f"| {method} | {len(scores)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _over_seeds(seeds: list[int], name: str, title: str, score: Any) -> list[list[Any]]:
    """``score(seed)`` for each seed, each table printed as it comes, then the spread table over seeds."""
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        scores = score(seed)
        print(f"\n## {title}, seed {seed}, {time.perf_counter() - t0:.0f} s\n")
        print(to_markdown(scores))
        runs.append(scores)
    if len(seeds) > 1:
        print(f"\n## {name}, mean ± sd over seeds {', '.join(map(str, seeds))}\n")
        print(spread_table(runs))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", choices=("aberystwyth", "sample", "both"), default="both")
    parser.add_argument("--cnn-steps", type=int, default=None)
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="arithmetic of the U-Net's training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (overrides --seed): adds a spread table")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated, of {', '.join(METHODS)} (cnn-gnn always runs: it sets K)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--plot", type=Path, default=None,
                        help="also draw the reference scene's scores (evaluation.plot.plot_scores) into this PNG")
    args = parser.parse_args()
    torch.set_num_threads(2)
    seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else [args.seed]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    cnn = CNNConfig(**({"steps": args.cnn_steps} if args.cnn_steps else {}), precision=args.precision)
    results = {}
    if args.scene in ("aberystwyth", "both"):
        if not (ABER / "sen2_20210527_aber_10band_mosaic.tif").is_file():
            print(f"{ABER} not found: skipping the reference scene")
        else:
            scene = s2label.read_scene(ABER / "sen2_20210527_aber_10band_mosaic.tif", scale=1e-3)
            reference = load_reference(ABER / "sen2_20210527_aber_cls_aligned.tif", scene)
            title = f"Aberystwyth (L2A, 10 bands, {scene.height} x {scene.width} px, 4 reference classes)"
            runs = _over_seeds(seeds, "Aberystwyth", title,
                               lambda seed: compare_methods(scene, reference=reference, seed=seed, cnn=cnn,
                                                            methods=methods, progress=True))
            scores = runs[-1]
            results["aberystwyth"] = [s.to_dict() for run in runs for s in run]
            if args.plot:
                import matplotlib

                matplotlib.use("Agg")
                from s2label.evaluation.plot import plot_scores

                fig = plot_scores(scores)
                fig.suptitle(f"Aberystwyth, {scene.height} x {scene.width} px, seed {seeds[-1]}", fontsize="small")
                fig.savefig(args.plot, dpi=110)
    if args.scene in ("sample", "both"):
        scene = s2label.sample_scene()
        title = f"Default scene (Virginia L1C, 13 bands, {scene.height} x {scene.width} px, no reference)"
        runs = _over_seeds(seeds, "Default scene", title,
                           lambda seed: compare_methods(scene, seed=seed, cnn=cnn, methods=methods, progress=True))
        results["sample"] = [s.to_dict() for run in runs for s in run]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
