"""Old names of renamed attributes, methods and functions (s2label 0.2), kept with a FutureWarning until 0.3.

One word means one thing across the package (``Segmentation.ids`` is the raster of segment ids,
``Clustering.cluster`` the cluster of each segment, ``label_of_segment`` the label of each segment) and names
are spelt the British way (``standardise``, ``normalise_band``, ``neighbours``); the old names still work.

Examples
--------
>>> import warnings
>>> class Grid:
...     def __init__(self):
...         self.ids = [1, 2]
...     labels = renamed_attribute("ids", "Grid.labels")
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     old = Grid().labels
>>> old, str(caught[0].message)
([1, 2], 'Grid.labels is now Grid.ids; the old name goes in s2label 0.3')
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["renamed_attribute", "renamed_function", "warn_renamed"]

F = TypeVar("F", bound=Callable[..., Any])


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is now called ``new`` (a FutureWarning the test suite turns into an error)."""
    warnings.warn(f"{old} is now {new}; the old name goes in s2label 0.3", FutureWarning, stacklevel=stacklevel)


def renamed_attribute(new: str, old: str) -> property:
    """A read-only property ``old`` that warns and returns attribute ``new`` (an attribute or a method).

    ``old`` is the qualified old name shown in the warning (``"Segmentation.labels"``); the new one is
    named after the same class.
    """
    owner = old.rpartition(".")[0]

    def get(self: Any) -> Any:
        warn_renamed(old, f"{owner}.{new}")
        return getattr(self, new)

    return property(get, doc=f"Deprecated: use :attr:`{new}` (removed in s2label 0.3).")


def renamed_function(func: F, old: str) -> F:
    """``func`` under its old name ``old`` (qualified, e.g. ``"s2label.io.bands.normalize_band"``), warning."""
    new = f"{func.__module__}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warn_renamed(old, new)
        return func(*args, **kwargs)

    wrapper.__doc__ = f"Deprecated: use :func:`{new}` (removed in s2label 0.3)."
    return wrapper  # type: ignore[return-value]
