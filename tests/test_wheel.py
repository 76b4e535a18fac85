"""The release: ``python -m build`` makes an sdist and a wheel that ``twine check`` passes, and the wheel alone,
installed into a fresh virtual environment with the pinned versions, runs the CLI and the explorer.

The wheel is built from a copy of the repository as a clone holds it, and installed (not editable) from a folder
outside it, so nothing of the checkout is on the path: what runs is what ``pip install s2label`` would install.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.test_binder import COPY_IGNORE

REPO = Path(__file__).resolve().parents[1]
#: The files a release carries beside the package, in the sdist (and the licence in the wheel too).
RELEASE_FILES = ("LICENSE", "README.md", "CHANGELOG.md", "CITATION.cff", "setup.cfg", "pyproject.toml")


def _version() -> str:
    text = (REPO / "s2label" / "_version.py").read_text()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def test_the_version_is_written_in_one_place():
    # setup.cfg reads it from s2label/_version.py; CITATION.cff and the changelog name the same one
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg["metadata"]["version"] == "attr: s2label._version.__version__"
    version = _version()
    assert re.search(rf'^version: "{re.escape(version)}"$', (REPO / "CITATION.cff").read_text(), re.M)
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "keepachangelog.com" in changelog
    assert re.search(r"^\[Unreleased\]: https://", changelog, re.M)


def test_citation_names_the_papers_authors_in_their_order():
    # CITATION.cff: the software, with the paper as preferred-citation (Patel, Jones, Redfern)
    text = (REPO / "CITATION.cff").read_text()
    assert text.startswith("cff-version: 1.2.0")
    paper = text.split("preferred-citation:", 1)[1]
    families = re.findall(r"family-names: (\w+)", paper)
    assert families == ["Patel", "Jones", "Redfern"]
    assert 'doi: "10.1080/19475683.2026.2626395"' in paper and "arXiv:2508.00506" in paper
    readme = (REPO / "README.md").read_text()
    assert "Tulsi Patel, Mark W. Jones and Thomas Redfern" in readme
    assert "author  = {Patel, Tulsi and Jones, Mark W. and Redfern, Thomas}" in readme
    assert "Jones, Redfern & Patel" not in readme  # the order the README had wrong


def test_licence_is_the_mit_text_setup_cfg_names():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert cfg["metadata"]["license"] == "MIT" and cfg["metadata"]["license_files"] == "LICENSE"
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    urls = dict(line.split(" = ", 1) for line in cfg["metadata"]["project_urls"].strip().splitlines())
    assert {"Documentation", "Source", "Changelog", "Issues"} <= set(urls)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # a build and a pip install on a busy 2-core machine
def test_the_wheel_installs_alone_and_runs(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo, ignore=COPY_IGNORE)
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(repo)], env=env,
                           capture_output=True, text=True, timeout=1200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    version = _version()
    wheel, sdist = dist / f"s2label-{version}-py3-none-any.whl", dist / f"s2label-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in dist.iterdir())
    checked = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                             env=env, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0 and checked.stdout.count("PASSED") == 2, checked.stdout + checked.stderr

    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert set(RELEASE_FILES) <= names and "requirements/constraints.txt" in names
    with zipfile.ZipFile(wheel) as whl:
        members = set(whl.namelist())
        metadata = whl.read(f"s2label-{version}.dist-info/METADATA").decode()
    assert f"s2label-{version}.dist-info/licenses/LICENSE" in members
    assert {"s2label/py.typed", "s2label/__init__.pyi"} <= members
    assert not any(m.startswith(("tests/", "benchmarks/")) for m in members)
    assert "Classifier: License :: OSI Approved :: MIT License" in metadata or "License: MIT" in metadata
    assert re.search(r"^Requires-Dist: torch<3,>=2\.1", metadata, re.M)  # a range; the pin is the constraints'

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python, s2label_cli = env_dir / "bin" / "python", env_dir / "bin" / "s2label"
    work = tmp_path / "work"  # outside the repository copy: nothing of the checkout on the path
    work.mkdir()
    pip = subprocess.run([str(python), "-m", "pip", "install", "--no-compile", "--retries", "0",
                          "-c", str(REPO / "requirements" / "constraints.txt"), str(wheel)],
                         cwd=work, env=env, capture_output=True, text=True, timeout=2400)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]

    shown = subprocess.run([str(s2label_cli), "--version"], cwd=work, env=env, capture_output=True, text=True,
                           timeout=300)
    assert shown.returncode == 0 and shown.stdout.strip() == f"s2label {version}", shown.stdout + shown.stderr
    out = work / "run"
    ran = subprocess.run([str(s2label_cli), "run", "--sample", "--window", "700,700,160,160", "--cnn-steps", "5",
                          "--out", str(out), "--quiet"], cwd=work, env=env, capture_output=True, text=True,
                         timeout=1800)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["s2label_version"] == version and report["counts"]["segments"] > 20
    assert (out / "clusters.geojson").is_file() and (out / "spectral" / "report.json").is_file()

    script = (
        "import json, s2label\n"
        "scene = s2label.sample_scene(window=((700, 860), (700, 860)))\n"
        f"explorer = s2label.explore(scene, out={str(out)!r}, progress=False)\n"
        "print(json.dumps({'file': s2label.__file__, 'widget': type(explorer).__name__,\n"
        "                  'segments': int(explorer.session.n_segments)}))\n"
    )
    opened = subprocess.run([str(python), "-c", script], cwd=work, env=env, capture_output=True, text=True,
                            timeout=1200)
    assert opened.returncode == 0, opened.stdout[-3000:] + opened.stderr[-3000:]
    seen = json.loads(opened.stdout.strip().splitlines()[-1])
    assert seen["file"].startswith(str(env_dir)), seen  # the installed wheel, not the checkout
    assert seen["widget"] == "ClusterExplorer" and seen["segments"] == report["counts"]["segments"]
