"""Cluster quality of s2label against baselines, side by side (s2label.evaluation.compare).

Run:  .venv/bin/python benchmarks/quality.py [--scene aberystwyth|sample|both] [--cnn-steps N] [--precision P]
      [--plot PNG]

On ../shared/data/aberystwyth (real L2A scene with a 4-class land-cover map: Forest, Grass, Urban, Water)
all measures; on the default scene (no reference) the measures that need none. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import s2label
from s2label.encoders.encoder import CNNConfig
from s2label.evaluation.compare import compare_methods, to_markdown
from s2label.evaluation.measures import load_reference

ABER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "aberystwyth"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene", choices=("aberystwyth", "sample", "both"), default="both")
    parser.add_argument("--cnn-steps", type=int, default=None)
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="arithmetic of the U-Net's training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--plot", type=Path, default=None,
                        help="also draw the reference scene's scores (evaluation.plot.plot_scores) into this PNG")
    args = parser.parse_args()
    torch.set_num_threads(2)
    cnn = CNNConfig(**({"steps": args.cnn_steps} if args.cnn_steps else {}), precision=args.precision)
    results = {}
    if args.scene in ("aberystwyth", "both"):
        if not (ABER / "sen2_20210527_aber_10band_mosaic.tif").is_file():
            print(f"{ABER} not found: skipping the reference scene")
        else:
            scene = s2label.read_scene(ABER / "sen2_20210527_aber_10band_mosaic.tif", scale=1e-3)
            reference = load_reference(ABER / "sen2_20210527_aber_cls_aligned.tif", scene)
            t0 = time.perf_counter()
            scores = compare_methods(scene, reference=reference, seed=args.seed, cnn=cnn, progress=True)
            print(f"\n## Aberystwyth (L2A, 10 bands, {scene.height} x {scene.width} px, 4 reference classes), "
                  f"seed {args.seed}, {time.perf_counter() - t0:.0f} s\n")
            print(to_markdown(scores))
            results["aberystwyth"] = [s.to_dict() for s in scores]
            if args.plot:
                import matplotlib

                matplotlib.use("Agg")
                from s2label.evaluation.plot import plot_scores

                fig = plot_scores(scores)
                fig.suptitle(f"Aberystwyth, {scene.height} x {scene.width} px, seed {args.seed}", fontsize="small")
                fig.savefig(args.plot, dpi=110)
    if args.scene in ("sample", "both"):
        scene = s2label.sample_scene()
        t0 = time.perf_counter()
        scores = compare_methods(scene, seed=args.seed, cnn=cnn, progress=True)
        print(f"\n## Default scene (Virginia L1C, 13 bands, {scene.height} x {scene.width} px, no reference), "
              f"seed {args.seed}, {time.perf_counter() - t0:.0f} s\n")
        print(to_markdown(scores))
        results["sample"] = [s.to_dict() for s in scores]
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
