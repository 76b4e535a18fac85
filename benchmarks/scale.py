"""Whole-tile scale: time and peak memory per stage of a tiled ``cnn-gnn`` run at 4, 16, 64 and 120 Mpx,
and the Dask speed-up of the tile stages with 2 workers against 1.

The scene: the bundled default scene (real Sentinel-2 L1C, Virginia, 1947 x 1933 px at 10 m), bands B02, B03,
B04, B08, mosaicked to a full tile of 10,980 x 10,980 px (120.6 Mpx) by repeating it with every other copy
mirrored (so copies meet along continuous edges), written once as a tiled GeoTIFF of 10,000 x reflectance.
Smaller sizes are square windows of it from the top-left corner.

Run:  .venv/bin/python benchmarks/scale.py [--sizes 4,16,64,120] [--dask-size 16] [--plot docs/images/scale.png]

Each run is a fresh ``python`` process (``s2label.run(..., tile_size=2048)`` in-process, 2 torch threads)
whose ``report.json`` gives the seconds and peak RSS of every stage; the peak is the whole process's, which does
all the work. The Dask runs use ``workers=1`` and ``workers=2`` (single-threaded workers); their speed-up is
that of the tile stages (segment + encode), the stages Dask runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _device import add_device_option, describe_device, resolve_device

TILE = 10980
BANDS = ["B02", "B03", "B04", "B08"]
TILE_STAGES = ("segment", "encode")

RUN = """
import json, sys, time
import s2label
size, path, out, workers, device = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
t0 = time.perf_counter()
r = s2label.run(path, out=out, read_options={"window": ((0, size), (0, size))}, tile_size=2048,
                workers=int(workers) if workers != "0" else None, device=device, progress=False)
r.report["wall_seconds"] = time.perf_counter() - t0
print(json.dumps(r.report))
"""


def mirror_index(n: int, period: int) -> np.ndarray:
    """Indices 0..n-1 folded into 0..period-1 back and forth (0, 1, ..., p-1, p-1, ..., 0, 0, 1, ...)."""
    i = np.arange(n) % (2 * period)
    return np.where(i < period, i, 2 * period - 1 - i)


def build_mosaic(path: Path) -> Path:
    """The 10,980 px mosaic of the default scene (see the module docstring), written once."""
    if path.exists():
        return path
    import rasterio

    import s2label
    from s2label.io.datasets import sample_scene_path

    scene = s2label.read_scene(sample_scene_path(), bands=BANDS)
    h, w = scene.shape
    rows, cols = mirror_index(TILE, h), mirror_index(TILE, w)
    dn = np.where(scene.valid, np.clip(np.round(scene.data * 10000), 1, 65535), 0).astype(np.uint16)
    profile = {"driver": "GTiff", "width": TILE, "height": TILE, "count": len(BANDS), "dtype": "uint16",
               "crs": scene.crs, "transform": scene.transform, "nodata": 0, "tiled": True, "blockxsize": 512,
               "blockysize": 512, "BIGTIFF": "IF_SAFER"}
    tmp = path.with_suffix(".partial.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for b, name in enumerate(BANDS, start=1):
            dst.set_band_description(b, name)
        for r0 in range(0, TILE, 1024):
            block = dn[:, rows[r0:r0 + 1024]][:, :, cols]
            dst.write(block, window=rasterio.windows.Window(0, r0, TILE, block.shape[1]))
    os.replace(tmp, path)
    return path


def run_one(mpx: float, path: Path, workers: int, device: str = "cpu") -> dict:
    size = min(TILE, int(round(math.sqrt(mpx * 1e6))))
    with tempfile.TemporaryDirectory(prefix="s2label-scale-") as out:
        done = subprocess.run([sys.executable, "-c", RUN, str(size), str(path), out, str(workers), device],
                              capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["side_px"] = size
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4,16,64,120", help="Mpx, comma-separated (120 = the whole tile; '' = none)")
    parser.add_argument("--dask-size", type=float, default=16, help="Mpx of the Dask 1-vs-2 comparison (0: skip)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "s2label-scale")
    parser.add_argument("--json", type=Path, default=None, help="write every report here")
    parser.add_argument("--plot", type=Path, default=None, help="PNG of time and memory against size")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None,
                        help="print (and plot) earlier --json results, merged, instead of running")
    add_device_option(parser)
    args = parser.parse_args()
    device = resolve_device(args.device)
    if args.from_json:
        merged: dict[str, list[dict]] = {"sizes": [], "dask": []}
        for p in args.from_json:
            part = json.loads(p.read_text())
            merged["sizes"] += part["sizes"]
            merged["dask"] += part["dask"]
        merged["sizes"].sort(key=lambda r: r["side_px"])
        print_tables(merged)
        if args.plot:
            plot(merged, args.plot)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    path = build_mosaic(args.work / "mosaic-10980.tif")
    print(f"mosaic: {path} ({path.stat().st_size / 2**30:.2f} GiB, {time.perf_counter() - t0:.0f} s)", flush=True)

    results: dict[str, list[dict]] = {"sizes": [], "dask": []}
    for mpx in [float(v) for v in args.sizes.split(",") if v.strip()]:
        rep = run_one(mpx, path, 0, device)
        rep["device"] = describe_device(device)
        results["sizes"].append(rep)
        print(f"{rep['side_px']} px: {rep['wall_seconds']:.0f} s, {rep['peak_memory_mb']:.0f} MiB, "
              f"{rep['counts']['segments']} segments", flush=True)
        _save(results, args.json)
    if args.dask_size:
        for workers in (1, 2):
            rep = run_one(args.dask_size, path, workers)
            results["dask"].append(rep)
            print(f"dask {workers} worker(s): tile stages "
                  f"{sum(rep['stages'][s]['seconds'] for s in TILE_STAGES):.0f} s", flush=True)
            _save(results, args.json)
    print_tables(results)
    if args.plot:
        plot(results, args.plot)


def _save(results: dict, path: Path | None) -> None:
    if path is not None:
        path.write_text(json.dumps(results, indent=1))


def print_tables(results: dict) -> None:
    reps = results["sizes"]
    if reps:
        stages = list(reps[0]["stages"])
        print("\n| side px | Mpx | segments | " + " | ".join(stages) + " | total s | peak RSS GiB | s / Mpx |")
        print("|" + "---:|" * (len(stages) + 6))
        for rep in reps:
            mpx = rep["side_px"] ** 2 / 1e6
            cells = " | ".join(f"{rep['stages'][s]['seconds']:.0f}" for s in stages)
            print(f"| {rep['side_px']:,} | {mpx:.1f} | {rep['counts']['segments']:,} | {cells} | "
                  f"{rep['wall_seconds']:.0f} | {rep['peak_memory_mb'] / 1024:.2f} | {rep['wall_seconds'] / mpx:.2f} |")
        print("\npeak RSS MiB per stage:")
        for rep in reps:
            print(f"  {rep['side_px']} px: " + ", ".join(f"{s} {rep['stages'][s]['peak_rss_mb']:.0f}" for s in stages))
    by = {round(r["side_px"] ** 2 / 1e6): r for r in reps}
    if 16 in by and 121 in by:
        a, b = by[16], by[121]
        ratio = (b["wall_seconds"] / (b["side_px"] ** 2)) / (a["wall_seconds"] / (a["side_px"] ** 2))
        print(f"\ntime per pixel at 120 Mpx / at 16 Mpx: {ratio:.2f}")
    if len(results["dask"]) == 2:
        one, two = (sum(r["stages"][s]["seconds"] for s in TILE_STAGES) for r in results["dask"])
        side = results["dask"][0]["side_px"]
        print(f"\nDask on {side} x {side} px, tile stages (segment + encode): 1 worker {one:.1f} s, "
              f"2 workers {two:.1f} s: {one / two:.2f}x")


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reps = results["sizes"]
    mpx = np.array([r["side_px"] ** 2 / 1e6 for r in reps])
    stages = list(reps[0]["stages"])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
    bottom = np.zeros(len(reps))
    for s in stages:
        secs = np.array([r["stages"][s]["seconds"] for r in reps]) / 60
        ax.bar(range(len(reps)), secs, bottom=bottom, label=s)
        bottom += secs
    ax.set_xticks(range(len(reps)), [f"{m:.0f} Mpx" for m in mpx])
    ax.axhline(30, color="k", ls="--", lw=1)
    ax.text(-0.4, 30.5, "target: 30 min at 120 Mpx", fontsize=8)
    ax.set_ylabel("minutes (2 CPU cores)")
    ax.set_title("time per stage")
    ax.legend(fontsize=8, ncol=2)
    total = np.array([r["wall_seconds"] for r in reps]) / 60
    bx.plot(mpx, total, "o-", label="wall time, min")
    ref = total[1] / mpx[1] if len(mpx) > 1 else total[0] / mpx[0]
    bx.plot(mpx, ref * mpx, ":", color="grey", label="linear from 16 Mpx")
    bx2 = bx.twinx()
    bx2.plot(mpx, [r["peak_memory_mb"] / 1024 for r in reps], "s-", color="tab:red", label="peak RSS, GiB")
    bx2.axhline(12, color="tab:red", ls="--", lw=1)
    bx2.set_ylabel("peak RSS GiB (target 12)", color="tab:red")
    bx.set_xlabel("scene Mpx (4 bands)")
    bx.set_ylabel("minutes")
    bx.set_title("whole run against size")
    bx.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
