"""The benchmarks' ``--device`` option: the same command on machines with and without a GPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script", ["pipeline.py", "scale.py"])
def test_cuda_benchmarks_say_they_skip_without_a_gpu(script):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the benchmark would run")
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--device", "cuda", "--sizes", ""]
                          if script == "scale.py" else [sys.executable, str(BENCHMARKS / script), "--device", "cuda"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no CUDA device on this machine: skipping the --device cuda benchmark"
