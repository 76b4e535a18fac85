"""Old module paths (before the layout by layer, s2label 0.2) still import, with a FutureWarning, until 0.3.

``from s2label.evaluate import load_reference`` keeps working: an import hook answers the old path with a small
module that hands every attribute over to the module (or modules, for one that was split) it moved to.

``s2label.cluster`` and ``s2label.segment`` are not among them: they are the top-level functions, and a module of
that name would hide them.

Examples
--------
>>> import sys, warnings
>>> _ = sys.modules.pop("s2label.evaluate", None)  # the warning comes once per process, on first import
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     from s2label.evaluate import load_reference
>>> from s2label.evaluation.measures import load_reference as now
>>> load_reference is now, caught[0].category.__name__
(True, 'FutureWarning')
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["MOVED", "install"]

#: Old module path -> the module(s) its names live in now (a split module: all of them, searched in order).
MOVED: dict[str, tuple[str, ...]] = {
    "s2label.bands": ("s2label.io.bands",),
    "s2label.scene": ("s2label.io.scene",),
    "s2label.datasets": ("s2label.io.datasets",),
    "s2label.graph": ("s2label.segmentation.graph",),
    "s2label.windows": ("s2label.segmentation.grid",),
    "s2label.windowed": ("s2label.segmentation.stitch", "s2label.io.source", "s2label.encoders.pooled",
                         "s2label.pipeline.memory"),
    "s2label.export": ("s2label.segmentation.export",),
    "s2label.encode": ("s2label.encoders.encoder",),
    "s2label.encode.cnn": ("s2label.encoders.cnn",),
    "s2label.encode.gnn": ("s2label.encoders.gnn",),
    "s2label.embeddings": ("s2label.encoders.embeddings",),
    "s2label.features": ("s2label.encoders.spectral",),
    "s2label.hierarchy": ("s2label.clustering.hierarchy",),
    "s2label.similar": ("s2label.clustering.similar",),
    "s2label.colours": ("s2label.display.colours",),
    "s2label.widget.overlays": ("s2label.display.overlays", "s2label.display.mercator", "s2label.display.imagery",
                                "s2label.display.images", "s2label.display.locate"),
    "s2label.widget.locate": ("s2label.display.locate",),
    "s2label.widget.images": ("s2label.display.images",),
    "s2label.widget.detail": ("s2label.display.detail",),
    "s2label.widget.figures": ("s2label.display.figures",),
    "s2label.widget.segment_info": ("s2label.display.segment_info",),
    "s2label.session_annotators": ("s2label.session.annotators",),
    "s2label.session_describe": ("s2label.session.describe",),
    "s2label.session_export": ("s2label.session.export",),
    "s2label.session_file": ("s2label.session.file",),
    "s2label.session_pixels": ("s2label.session.pixels",),
    "s2label.session_prepared": ("s2label.session.prepared",),
    "s2label.session_rules": ("s2label.session.rules",),
    "s2label.session_store": ("s2label.session.store",),
    "s2label.session_stored": ("s2label.session.stored",),
    "s2label.propagate": ("s2label.session.propagate",),
    "s2label.spread": ("s2label.session.spread",),
    "s2label.pixel_labels": ("s2label.session.pixel_labels", "s2label.display.locate"),
    "s2label.evaluate": ("s2label.evaluation.measures", "s2label.evaluation.context", "s2label.evaluation.baselines",
                         "s2label.evaluation.inter_annotator"),
    "s2label.agreement": ("s2label.evaluation.inter_annotator",),
    "s2label.compare": ("s2label.evaluation.compare",),
    "s2label.summary": ("s2label.evaluation.summary",),
    "s2label.plot": ("s2label.evaluation.plot",),
    "s2label.batch": ("s2label.pipeline.batch",),
    "s2label.model": ("s2label.pipeline.model",),
    "s2label.launch": ("s2label.pipeline.launch",),
    "s2label.cli": ("s2label.pipeline.cli",),
}


class _Moved(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old paths of :data:`MOVED` and loads each as a module that forwards to the new ones."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        package = any(other.startswith(fullname + ".") for other in MOVED)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=package)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        targets = MOVED[module.__name__]
        warnings.warn(f"{module.__name__} moved to {' and '.join(targets)}; the old path goes in s2label 0.3",
                      FutureWarning, stacklevel=2)

        def forward(name: str) -> Any:
            for target in targets:
                new = importlib.import_module(target)
                if hasattr(new, name):
                    return getattr(new, name)
            raise AttributeError(f"module {module.__name__!r} (moved to {', '.join(targets)}) has no attribute "
                                 f"{name!r}")

        module.__getattr__ = forward  # type: ignore[method-assign]
        module.__doc__ = f"Moved to {', '.join(targets)}."
        module.__all__ = [n for t in targets for n in getattr(importlib.import_module(t), "__all__", ())]


_FINDER = _Moved()


def install() -> None:
    """Put the finder of old paths on :data:`sys.meta_path` (once)."""
    if not any(isinstance(f, _Moved) for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)
