"""Time to the first map: ``s2label.explore`` on the default scene in a fresh process, and, with ``--wait``,
until the learned clusters are on the explorer.

Run:  .venv/bin/python benchmarks/first_look.py [--wait] [--window ROW,COL,HEIGHT,WIDTH]

A child process (a new kernel, as a researcher's first cell) imports s2label and calls
``s2label.explore(path, out=<empty folder>)``: the scene is read, segmented, its spectral clusters written to
``out/spectral`` and the explorer built, while the cnn-gnn encoder starts training in the background. The
table gives the import, the ``explore`` call (from the path: reading included) and the first look's stages
(from ``out/spectral/report.json``); ``--wait`` adds the time until the explorer switched to the learned
clusters. What the browser then takes to draw the widget is not included (see ``benchmarks/widget.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import s2label
    from s2label.io.datasets import sample_scene_path
    t1 = time.perf_counter()
    window = json.loads(sys.argv[3])
    scene = sample_scene_path() if window is None else s2label.sample_scene(window=window)
    t2 = time.perf_counter()
    ex = s2label.explore(scene, out=sys.argv[1], progress=False)
    t3 = time.perf_counter()
    out = {"import_s": t1 - t0, "explore_s": t3 - t2, "encoder_first": ex.session.embeddings.encoder,
           "segments": ex.session.n_segments, "clusters": len(ex.session.labels)}
    if sys.argv[2] == "wait":
        ex.wait_for_learned()
        out["learned_s"] = time.perf_counter() - t2
        out["encoder_then"] = ex.session.embeddings.encoder
        out["learned_state"] = ex.learned.state if ex.learned is not None else "finished"
    ex.close()
    print(json.dumps(out))
""")


def _window(text: str) -> list[list[int]]:
    row, col, height, width = (int(v) for v in text.split(","))
    return [[row, row + height], [col, col + width]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wait", action="store_true", help="also time the switch to the learned clusters")
    parser.add_argument("--window", type=_window, default=None, help="a part of the default scene instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-c", CHILD, tmp, "wait" if args.wait else "no",
                               json.dumps(args.window)], capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.exit(proc.stderr)
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
        stages = json.loads((Path(tmp) / "spectral" / "report.json").read_text())["stages"]
    where = "the default scene" if args.window is None else f"window {args.window} of the default scene"
    print(f"## First look on {where} ({figures['segments']} segments, {figures['clusters']} spectral clusters), "
          f"{os.cpu_count()} CPU cores\n")
    print("| step | wall s |")
    print("|---|---:|")
    print(f"| `import s2label` | {figures['import_s']:.1f} |")
    for name, stage in stages.items():
        print(f"| &nbsp;&nbsp;{name} | {stage['seconds']:.1f} |")
    print(f"| **`explore(path)` to the first map** (read, segment, spectral clusters, explorer) | "
          f"**{figures['explore_s']:.1f}** |")
    if "learned_s" in figures:
        print(f"| `explore(path)` to the learned clusters ({figures['learned_state']}: "
              f"{figures['encoder_then']}) | {figures['learned_s']:.1f} |")


if __name__ == "__main__":
    main()
