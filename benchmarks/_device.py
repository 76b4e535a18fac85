"""The ``--device`` option of the benchmarks: which torch device a benchmark runs on, and what it is called.

``--device cuda`` on a machine without a GPU prints that it skips and the benchmark exits with status 0, so the
same command serves machines with and without one.
"""

from __future__ import annotations

import argparse
import platform
import sys


def add_device_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"),
                        help="torch device of the run (default: cpu; cuda skips when there is no GPU)")


def resolve_device(requested: str) -> str:
    """``"cpu"`` or ``"cuda"``; exits (status 0) after saying so when CUDA is asked for and there is none."""
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        print("no CUDA device on this machine: skipping the --device cuda benchmark")
        sys.exit(0)
    return requested


def describe_device(device: str) -> str:
    """The device's name for the tables: the GPU's, or the CPU's."""
    import torch

    if device == "cuda":
        return f"GPU {torch.cuda.get_device_name(0)}"
    return f"CPU {platform.processor() or platform.machine()}"
