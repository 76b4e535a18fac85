"""Execute the notebooks of ``notebooks/`` for the documentation, offline, on a small part of the scene.

At ``builder-inited`` every notebook is executed (with :func:`tests._notebooks.execute_notebook`, the helper the
notebook tests use: a fresh ``python3`` kernel, a cell tagged ``injected-parameters`` after the ``parameters``
cell) into ``docs/notebooks/<name>.ipynb``, which myst-nb then renders as it is (``nb_execution_mode = "off"``).

Why not let myst-nb execute them: myst-nb cannot replace a notebook's parameters, and the docs need the small
parameters of ``tests/test_notebooks.py`` (a 384 x 384 px part, 20 U-Net steps) to build in minutes rather than
the whole scene's half hour. Executing here also lets a failure say which notebook and cell, and lets the outputs be
tidied for a static page (the explorer widget, which needs a kernel, becomes a screenshot; progress bars go).

The executed copies are a cache: a notebook is executed again only when its file, its parameters, s2label's
version or the presence of the shared reference data change, so a second ``make docs`` takes seconds.
``S2LABEL_DOCS_EXECUTE`` chooses: ``auto`` (the default: execute what is stale), ``always`` (execute every
notebook), ``never`` (execute nothing: render the executed copies there, stale or not, and the notebooks that have
none without outputs, with a note saying so).

Notebook 03 measures against the Aberystwyth reference scene in ``../shared/data`` beside the checkout; without
it the notebook falls back to the default scene (its own fallback, the one ``tests/test_notebooks.py`` checks),
so the docs build anywhere.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "notebooks"
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "data" / "aberystwyth" / "sen2_20210527_aber_10band_mosaic.tif"
#: The folder (inside the docs' source folder) the executed notebooks are written to.
TARGET = "notebooks"
#: What a cell may take, seconds.
CELL_TIMEOUT = 600
#: A 384 x 384 px part of the default scene with fields, marsh, a channel and open water (tests/conftest.py).
WINDOW = [[576, 960], [800, 1184]]
NAMES = ("01-quickstart", "02-label-a-scene", "03-how-good-are-the-clusters", "04-your-own-data")

MODES = ("auto", "always", "never")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PROGRESS = re.compile(r"\d+%\|.*\|")
#: The screenshot shown in place of an explorer widget (relative to the executed notebooks' folder).
EXPLORER_NOTE = (
    "*The explorer is an interactive widget: it appears here when the notebook runs in JupyterLab. "
    "This is what it looks like on the default scene:*\n\n"
    "![The explorer: true colour under the labels, the panel of labels, the legend](../images/explorer.png)\n")


def parameters(name: str, *, reference: bool) -> dict[str, Any]:
    """The small parameters ``name`` is executed with for the docs (those of ``tests/test_notebooks.py``)."""
    if name in ("01-quickstart", "02-label-a-scene"):
        return {"WINDOW": WINDOW, "CNN_STEPS": 20}
    if name == "03-how-good-are-the-clusters":
        if reference:
            return {"REFERENCE_DIR": "../../shared/data/aberystwyth", "WINDOW": [[300, 556], [300, 556]],
                    "CNN_STEPS": 20}
        return {"WINDOW": [[600, 856], [600, 856]], "CNN_STEPS": 10}
    if name == "04-your-own-data":
        return {"WINDOW": [[0, 256], [0, 256]], "CNN_STEPS": 10}
    raise KeyError(name)


def _key(source: bytes, params: dict[str, Any], reference: bool) -> str:
    from s2label._version import __version__

    text = json.dumps({"params": params, "reference": reference, "version": __version__}, sort_keys=True)
    return hashlib.sha256(source + text.encode()).hexdigest()[:16]


def _stored_key(path: Path) -> str | None:
    try:
        return json.loads(path.read_text())["metadata"]["s2label_docs"]["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _scratch(reference: bool) -> Path:
    """A scratch folder the notebooks run in (``runs/...`` lands there); ``../../shared`` resolves from it."""
    scratch = Path(tempfile.mkdtemp(prefix="s2label-docs-"))
    if reference:
        (scratch / "shared").symlink_to(SHARED, target_is_directory=True)
    cwd = scratch / "work" / "notebooks"
    cwd.mkdir(parents=True)
    return cwd


def _tidy(nb: Any) -> Any:
    """Make the executed notebook read well on a static page, without a kernel or widget JavaScript."""
    import nbformat

    nb.metadata.pop("widgets", None)  # widget state: nothing renders it offline
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = "# the documentation ran this notebook on a small part of the scene:\n" + cell.source
        outputs = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                text = data.get("text/plain", "")
                if PROGRESS.search(text) or "it/s]" in text:
                    continue  # a progress bar: it closed when done
                if text.startswith("ClusterExplorer("):
                    outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": EXPLORER_NOTE}))
                    continue
                data.pop(WIDGET_VIEW)
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and PROGRESS.search(
                    out.get("text", "")):
                continue  # a progress bar written as text
            outputs.append(out)
        cell.outputs = outputs
    return nb


def _unexecuted(nb: Any, why: str) -> Any:
    import nbformat

    note = nbformat.v4.new_markdown_cell(f"```{{note}}\nThis page shows the notebook without its outputs: {why}\n```")
    nb.cells.insert(1, note)
    return nb


def _write(nb: Any, path: Path) -> None:
    import nbformat

    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    nbformat.write(nb, str(tmp))
    tmp.replace(path)  # atomic: a build running at the same time never reads half a notebook


def execute_all(srcdir: Path, mode: str = "auto") -> list[str]:
    """Bring ``srcdir/notebooks/*.ipynb`` up to date; return the names executed now."""
    import nbformat

    sys.path.insert(0, str(ROOT))  # tests._notebooks
    try:
        from tests._notebooks import execute_notebook
    finally:
        sys.path.remove(str(ROOT))

    target = srcdir / TARGET
    target.mkdir(exist_ok=True)
    reference = REFERENCE.is_file()
    executed = []
    for name in NAMES:
        source = SOURCE / f"{name}.ipynb"
        params = parameters(name, reference=reference)
        key = _key(source.read_bytes(), params, reference)
        out = target / f"{name}.ipynb"
        stored = _stored_key(out)
        if mode == "auto" and stored == key or mode == "never" and stored not in (None, "failed"):
            continue  # up to date; or, never executing, the copy there as it is
        if mode == "never":
            key = "unexecuted"
            nb = _unexecuted(nbformat.read(str(source), as_version=4),
                             "the documentation was built with `S2LABEL_DOCS_EXECUTE=never`.")
        else:
            logger.info(f"[s2label] executing notebooks/{name}.ipynb with {params} ...", nonl=False)
            cwd = _scratch(reference)
            t0 = time.perf_counter()
            failed = cwd / f"{name}.failed.ipynb"
            try:
                nb = execute_notebook(source, params, cwd=cwd, timeout=CELL_TIMEOUT, save=failed)
            except Exception as exc:  # a cell raised or timed out: show what it did, and fail a -W build
                nb = nbformat.read(str(failed), as_version=4) if failed.is_file() else nbformat.read(
                    str(source), as_version=4)
                logger.warning(f"[s2label] notebooks/{name}.ipynb failed to execute: "
                               f"{type(exc).__name__}: {str(exc)[-2000:]}")
                key = "failed"
            finally:
                shutil.rmtree(cwd.parents[1], ignore_errors=True)
            logger.info(f"[s2label] notebooks/{name}.ipynb: {time.perf_counter() - t0:.0f} s")
            nb = _tidy(nb)
            executed.append(name)
        nb.metadata["s2label_docs"] = {"key": key, "parameters": copy.deepcopy(params)}
        _write(nb, out)
    return executed


def _builder_inited(app: Sphinx) -> None:
    mode = os.environ.get("S2LABEL_DOCS_EXECUTE", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ExtensionError(f"S2LABEL_DOCS_EXECUTE must be one of {', '.join(MODES)}, not {mode!r}")
    execute_all(Path(app.srcdir), mode)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
