"""Seeding without touching the caller's random state: seed the global generators for a call, then put them back.

PyTorch initialises layers from its global generator, so a run seeds it (and Python's and NumPy's, for any
library drawing from those) to be reproducible; :func:`seeded` restores all three afterwards, so seeding a run
never changes what the researcher's own ``random``, ``np.random`` or ``torch`` draw next.

Examples
--------
>>> import random
>>> random.seed(1); expected = [random.random() for _ in range(2)]
>>> random.seed(1); first = random.random()
>>> with seeded(0):
...     inside = random.random()
>>> [first, random.random()] == expected, inside == random.Random(0).random()
(True, True)
"""

from __future__ import annotations

import contextlib
import functools
import random
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

__all__ = ["seeded", "seeded_call", "keeps_torch_rng"]

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Python's, NumPy's and (when loaded or loadable) PyTorch's global generators; restore them after."""
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        with _torch_kept() as torch:
            if torch is not None:
                torch.manual_seed(seed)
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def seeded_call(func: F) -> F:
    """Run ``func`` (which takes a ``seed`` keyword, default 0) inside :func:`seeded` of that seed."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with seeded(int(kwargs.get("seed", 0))):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def keeps_torch_rng(func: F) -> F:
    """Run ``func`` (which seeds PyTorch's global generator itself) and put that generator back afterwards."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _torch_kept():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def _torch_kept() -> Iterator[Any]:
    """PyTorch (or ``None`` without it), its CPU and CUDA generators put back as they were on leaving."""
    torch = _torch()
    if torch is None:  # pragma: no cover - torch is a dependency
        yield None
        return
    state = torch.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        yield torch
    finally:
        torch.set_rng_state(state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)


def _torch() -> Any:
    if "torch" in sys.modules:
        return sys.modules["torch"]
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    return torch
