"""The Binder environment builds from binder/ alone and runs the quickstart, so the Binder spec cannot rot.

As repo2docker does, the repository is copied, ``pip install -r binder/requirements.txt`` runs from its root
in a fresh virtual environment (no access to this test environment's packages), ``binder/postBuild`` runs,
and notebooks/01-quickstart.ipynb is executed with that environment's own Jupyter kernel on a part of the
default scene. Nothing but the package registries is reached; PyTorch's CPU index, which Binder uses, is not
reachable here, so pip is told not to retry it (its CPU build of the pinned torch comes from the registry).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import NOTEBOOK_WINDOW

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"
#: What a clone holds beside the package: enough for repo2docker's copy (no .venv, outputs or caches).
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "outputs", "runs", "s2label-runs", "build", "*.egg-info",
                                     "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")


def test_binder_spec():
    lines = [ln.split("#")[0].strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()]
    lines = [ln for ln in lines if ln]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines  # the CPU build, not CUDA's
    assert "-c ../requirements/constraints.txt" in lines and lines[-1] == "."  # pinned; the package itself
    assert (BINDER / "runtime.txt").read_text().strip() == f"python-{sys.version_info.major}.{sys.version_info.minor}"
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert re.search(r"^torch==2\.13\.0$", (REPO / "requirements/constraints.txt").read_text(), re.M)
    readme = (REPO / "README.md").read_text()
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^)]*\?labpath=([^)&]+)\)", readme)
    assert badge and (REPO / badge.group(1)).is_file() and badge.group(1) == "notebooks/01-quickstart.ipynb"


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.timeout(3600)  # a pip install and a notebook on a busy 2-core machine
def test_binder_environment_runs_the_quickstart(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo, ignore=COPY_IGNORE)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH")}
    pip = subprocess.run([str(python), "-m", "pip", "install", "--no-compile", "--retries", "0", "-r",
                          "binder/requirements.txt"], cwd=repo, env=env, capture_output=True, text=True,
                         timeout=2400)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]

    home = tmp_path / "home"  # the Binder user's home: settings, kernels and caches of this environment only
    home.mkdir()
    env |= {"HOME": str(home), "PATH": f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"}
    subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, check=True, timeout=1200)
    # UMAP's neighbour search was compiled at build time, into the environment: not in the user's first run
    assert list(env_dir.glob("lib/python3*/site-packages/pynndescent/__pycache__/*.nbi"))
    settings = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
    assert json.loads(settings.read_text()) == {"fetchNews": "false", "checkForUpdates": False}

    where = subprocess.run([str(python), "-c", "import s2label, torch, jupyterlab; print(s2label.__file__); "
                            "print(torch.__version__)"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    assert where[0].startswith(str(env_dir)) and where[1] == "2.13.0+cpu"  # installed from the repo; CPU torch

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    params = {"WINDOW": NOTEBOOK_WINDOW, "CNN_STEPS": 20, "OUT": str(run_dir / "quickstart")}
    script, notebook = repo / "tests" / "_notebooks.py", repo / "notebooks" / "01-quickstart.ipynb"
    done = subprocess.run([str(python), str(script), str(notebook),
                           "--cwd", str(run_dir), "--parameters", json.dumps(params), "--timeout", "1200",
                           "--save", str(tmp_path / "executed.ipynb")], cwd=run_dir, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # the Binder environment's own kernel ran it, with s2label as installed there from the repository
    assert report["kernel"].startswith(str(env_dir)) and report["s2label"].startswith(str(env_dir))
    features = json.loads((run_dir / "quickstart" / "labels.geojson").read_text())["features"]
    assert len(features) >= 2 and f"{len(features)} labels" in report["output"]
