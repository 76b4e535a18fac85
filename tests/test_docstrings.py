"""Every public function documents itself in numpydoc style: a ``Parameters`` section naming each parameter of its
signature, and a ``Returns`` section (``Yields`` for a generator) unless it returns ``None``.

A public function is a function listed in the ``__all__`` of a public module (no part of its dotted name starts
with ``_``) and defined there; the top level's lazy re-exports count under the module that defines them.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable

import pytest
from numpydoc.docscrape import FunctionDoc

import s2label

#: There were 181 public functions when this test was written; a walk finding far fewer has gone wrong.
MIN_FUNCTIONS = 150


def _public_modules() -> list[str]:
    names = ["s2label"] + [m.name for m in pkgutil.walk_packages(s2label.__path__, prefix="s2label.")]
    return [name for name in names if not any(part.startswith("_") for part in name.split("."))]


def _public_functions() -> list[tuple[str, Callable]]:
    found = []
    for module_name in _public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj) and obj.__module__ == module_name:
                found.append((f"{module_name}.{name}", obj))
    return found


#: How a docstring writes a parameter of each variadic kind: ``*args``, ``**options``.
_STARS = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}


def _stars(entry: str) -> str:
    return entry[:len(entry) - len(entry.lstrip("*"))]


def _parameter_problems(doc: FunctionDoc, signature: inspect.Signature) -> list[str]:
    """What the Parameters section lacks or names wrongly. ``a, b : int`` documents both ``a`` and ``b``; a
    ``*args``/``**kwargs`` may be written under another starred name (``**options``)."""
    entries = [n.strip() for p in doc["Parameters"] for n in p.name.split(",")]
    entries = [e for e in entries if e]
    named = {e.lstrip("*") for e in entries}
    written_stars = {_stars(e) for e in entries}
    params = signature.parameters.values()
    missing = [p.name for p in params if p.name not in named and _STARS.get(p.kind) not in written_stars]
    variadic = {_STARS[p.kind] for p in params if p.kind in _STARS}
    unknown = [e for e in entries if e.lstrip("*") not in signature.parameters and _stars(e) not in variadic]
    problems = []
    if missing:
        problems.append(f"Parameters lacks {', '.join(missing)}")
    if unknown:
        problems.append(f"Parameters names {', '.join(unknown)}, not in the signature")
    return problems


def _problems(func: Callable) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                     # numpydoc warns of sections it does not know
        doc = FunctionDoc(func)
    signature = inspect.signature(func)
    problems = []
    if signature.parameters and not doc["Parameters"]:
        problems.append("no Parameters section")
    elif signature.parameters:
        problems += _parameter_problems(doc, signature)
    if signature.return_annotation not in (None, "None"):     # "-> None" needs no Returns
        if inspect.isgeneratorfunction(inspect.unwrap(func)):     # a @contextmanager too
            if not doc["Yields"]:
                problems.append("no Yields section")
        elif not doc["Returns"]:
            problems.append("no Returns section")
    return problems


def test_every_public_function_has_parameters_and_returns_sections():
    functions = _public_functions()
    assert len(functions) >= MIN_FUNCTIONS, f"found only {len(functions)} public functions"
    failures = [f"{name}: {'; '.join(problems)}" for name, func in functions if (problems := _problems(func))]
    if failures:
        pytest.fail(f"{len(failures)} of {len(functions)} public functions:\n" + "\n".join(failures), pytrace=False)


def test_the_check_finds_what_is_missing():
    def documented(a: int, *args: int, b: int = 0, **kwargs: int) -> int:
        """Add.

        Parameters
        ----------
        a, b : int
            Numbers.
        *args : int
            More.
        **options : int
            The ``**kwargs``, under another name.

        Returns
        -------
        int
        """

    def no_returns(a: int) -> int:
        """Add.

        Parameters
        ----------
        a : int
        """

    def one_missing(a: int, b: int) -> None:
        """Add.

        Parameters
        ----------
        a : int
        """

    def generator(n: int):
        """Count.

        Parameters
        ----------
        n : int

        Returns
        -------
        int
        """
        yield from range(n)

    assert _problems(documented) == []
    assert _problems(no_returns) == ["no Returns section"]
    assert _problems(one_missing) == ["Parameters lacks b"]
    assert _problems(generator) == ["no Yields section"]
    assert _problems(lambda: None) == ["no Returns section"]

    def renamed(b: int) -> None:
        """Add.

        Parameters
        ----------
        a : int
        *args : int
        """

    assert _problems(renamed) == ["Parameters lacks b", "Parameters names a, *args, not in the signature"]
