"""Many scenes on Dask: throughput of 2 single-threaded workers against 1 (s2label.run_many).

Run:  .venv/bin/python benchmarks/batch.py [--scenes 4] [--size 512] [--cnn-steps 60]

The scenes are parts of the default scene (``--size`` px squares along its diagonal), each run through the
whole default ``cnn-gnn`` pipeline (with a shorter U-Net training); each worker is one process with one torch
thread. Prints wall time and scenes per minute for 1 and 2 workers, and the speed-up.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import s2label
from s2label.pipeline.batch import run_many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--cnn-steps", type=int, default=60)
    args = parser.parse_args()
    step = (1900 - args.size) // max(args.scenes - 1, 1)
    scenes = [s2label.sample_scene(window=((i * step, i * step + args.size), (i * step, i * step + args.size)))
              for i in range(args.scenes)]
    options = {"cnn": s2label.CNNConfig(steps=args.cnn_steps)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            t0 = time.perf_counter()
            runs = run_many(scenes, Path(tmp) / f"w{workers}", workers=workers, progress=False, **options)
            wall = time.perf_counter() - t0
            assert all(r.ok for r in runs), [r.error for r in runs if not r.ok]
            rows.append((workers, wall, sum(r.seconds for r in runs)))
    print(f"{args.scenes} scenes of {args.size} x {args.size} px, cnn-gnn ({args.cnn_steps} U-Net steps), "
          "1 torch thread per worker\n")
    print("| workers | wall s | scenes / min | sum of task s |")
    print("|---:|---:|---:|---:|")
    for workers, wall, busy in rows:
        print(f"| {workers} | {wall:.1f} | {60 * args.scenes / wall:.2f} | {busy:.1f} |")
    print(f"\nspeed-up with 2 workers: {rows[0][1] / rows[1][1]:.2f}x")


if __name__ == "__main__":
    main()
