"""Run a notebook headless with some of its parameters replaced (papermill's convention, without papermill).

The cell tagged ``parameters`` holds a notebook's defaults; :func:`execute_notebook` inserts a cell tagged
``injected-parameters`` after it that sets the given values, then runs every cell with nbclient in a fresh
kernel. A cell that raises fails the run (:class:`nbclient.exceptions.CellExecutionError`).

It is also a script, so that another environment (the Binder one, see ``tests/test_binder.py``) can run a
notebook with its own interpreter and kernel::

    python tests/_notebooks.py notebooks/01-quickstart.ipynb --cwd RUN_DIR \\
        --parameters '{"WINDOW": [[576, 960], [800, 1184]], "CNN_STEPS": 20}'
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

__all__ = ["parameter_cell", "inject_parameters", "execute_notebook"]


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def parameter_cell(nb: Any) -> int:
    """Index of the cell tagged ``parameters`` (exactly one is required)."""
    found = [i for i, cell in enumerate(nb.cells) if "parameters" in _tags(cell)]
    if len(found) != 1:
        raise ValueError(f"expected one cell tagged 'parameters', found {len(found)}")
    return found[0]


def inject_parameters(nb: Any, parameters: dict[str, Any]) -> Any:
    """Insert a cell setting ``parameters`` after the ``parameters`` cell; every name must be defined there."""
    import nbformat

    index = parameter_cell(nb)
    source = nb.cells[index].source
    unknown = [name for name in parameters if f"{name} =" not in source and f"{name}=" not in source]
    if unknown:
        raise ValueError(f"the parameters cell does not define {unknown}")
    lines = [f"{name} = {value!r}" for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)
    return nb


def execute_notebook(path: str | Path, parameters: dict[str, Any] | None = None, *, cwd: str | Path,
                     timeout: int = 600, save: str | Path | None = None, probe: bool = False) -> Any:
    """Execute ``path`` in a fresh ``python3`` kernel with working folder ``cwd``; return the executed notebook.

    ``timeout`` bounds every cell (seconds). ``save`` writes the executed notebook (outputs included) there,
    also when a cell fails, to show what happened. ``probe`` appends a cell that prints, as JSON, the
    kernel's interpreter and where it imported s2label from.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    if parameters:
        inject_parameters(nb, parameters)
    if probe:
        nb.cells.append(nbformat.v4.new_code_cell(
            "import json, sys, s2label\nprint(json.dumps({'kernel': sys.executable, 's2label': s2label.__file__}))",
            metadata={"tags": ["injected-probe"]}))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    finally:
        if save is not None:
            nbformat.write(nb, str(save))
    return nb


def cell_outputs(nb: Any) -> str:
    """All text the notebook's cells printed or displayed (plain text parts), for assertions."""
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description="Execute a notebook headless with injected parameters.")
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--cwd", type=Path, required=True, help="the kernel's working folder")
    parser.add_argument("--parameters", default="{}", help="JSON object of parameter values")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--save", type=Path, default=None, help="write the executed notebook here")
    args = parser.parse_args()
    t0 = time.perf_counter()
    nb = execute_notebook(args.notebook, json.loads(args.parameters), cwd=args.cwd, timeout=args.timeout,
                          save=args.save, probe=True)
    probe = json.loads(cell_outputs(nb).strip().splitlines()[-1])
    print(json.dumps({"cells": len(nb.cells), "seconds": round(time.perf_counter() - t0, 1), **probe,
                      "output": cell_outputs(nb)}))


if __name__ == "__main__":
    main()
