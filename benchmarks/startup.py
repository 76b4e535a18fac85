"""Start-up cost: ``import s2label``, ``s2label --help``, and the first use of each layer, in fresh processes.

Run:  .venv/bin/python benchmarks/startup.py [--repeats 5]

Each figure is the median wall time of ``--repeats`` fresh Python processes (nothing cached in memory but the
operating system's file cache; the first, cold run is left out). Prints a markdown table: what was timed, the
median and the spread (min-max), and which heavy libraries the step loaded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("torch", "torch_geometric", "dask", "ipyleaflet", "ipywidgets", "hdbscan", "sklearn", "rasterio",
         "matplotlib", "umap", "numba")

#: (what, Python code timed inside the process)
STEPS = [
    ("import s2label", "import s2label"),
    ("s2label.read_scene (io)", "import s2label; s2label.read_scene"),
    ("s2label.segment (segmentation)", "import s2label; s2label.segment"),
    ("s2label.embed (encoders: torch, PyG)", "import s2label; s2label.embed"),
    ("s2label.cluster (clustering: hdbscan, sklearn)", "import s2label; s2label.cluster"),
    ("s2label.explore (pipeline + widget)", "import s2label; s2label.explore; import s2label.widget.explorer"),
]

_PROBE = """
import json, sys, time
t = time.perf_counter()
exec(compile({code!r}, "<step>", "exec"))
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "heavy": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


def _time_step(code: str, repeats: int) -> tuple[list[float], list[str]]:
    times, heavy = [], []
    for i in range(repeats + 1):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(code=code, heavy=HEAVY)], check=True,
                             capture_output=True, text=True).stdout
        probe = json.loads(out.strip().splitlines()[-1])
        if i or not repeats:  # the first run warms the file cache
            times.append(probe["seconds"])
        heavy = probe["heavy"]
    return times, heavy


def _time_cli(repeats: int) -> list[float]:
    cli = shutil.which("s2label", path=str(Path(sys.executable).parent)) or "s2label"
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run([cli, "--help"], check=True, capture_output=True)
        if i:
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for what, code in STEPS:
        times, heavy = _time_step(code, args.repeats)
        rows.append((what, times, ", ".join(heavy) or "none"))
    _, help_heavy = _time_step("from s2label.pipeline.cli import build_parser; build_parser().format_help()", 0)
    rows.insert(1, ("`s2label --help` (whole process)", _time_cli(args.repeats), ", ".join(help_heavy) or "none"))
    print("| step | median s | min-max s | heavy libraries loaded |")
    print("|---|---:|---:|---|")
    for what, times, heavy in rows:
        print(f"| {what} | {statistics.median(times):.3f} | {min(times):.3f}-{max(times):.3f} | {heavy} |")


if __name__ == "__main__":
    main()
