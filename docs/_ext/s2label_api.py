"""The API reference, one page per subpackage, generated from the docstrings and each module's ``__all__``.

``.. s2label-api:: s2label.io`` writes, for that package:

- its docstring;
- a summary table of every name its ``__all__`` lists (classes, functions, constants), each linking to where
  the name is documented: its home module (``obj.__module__``), so that a name re-exported by the package, or
  by the top level ``s2label``, is documented once;
- one section per public module of the package (``pkgutil``, names without a leading underscore): its docstring
  and every name of its ``__all__`` defined there (``automodule`` with ``:members:`` set to them), and a line for
  the names it re-exports from elsewhere.

The directive builds reStructuredText and parses it in place, so a module added to a package, or a name added
to an ``__all__``, appears without editing the docs; ``tests/test_docs.py`` checks that every name does.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import types
import typing
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

#: The packages of the reference, in the order of the layers (top first), as the API index lists them.
PACKAGES = ("s2label", "s2label.pipeline", "s2label.widget", "s2label.evaluation", "s2label.session",
            "s2label.display", "s2label.clustering", "s2label.encoders", "s2label.segmentation", "s2label.io")


def public_modules(package: str) -> list[str]:
    """The public modules (not subpackages) of ``package``, by name."""
    pkg = importlib.import_module(package)
    return sorted(f"{package}.{info.name}" for info in pkgutil.iter_modules(pkg.__path__)
                  if not info.name.startswith("_") and not info.ispkg)


def is_defined(obj: Any) -> bool:
    """Whether ``obj`` is a class or function, which says the module it is defined in (the rest is data)."""
    return inspect.isclass(obj) or inspect.isfunction(obj)


def is_type_alias(obj: Any) -> bool:
    """``Bounds = tuple[int, int, int, int]`` and the like, which autodoc cannot document as data."""
    return not is_defined(obj) and (typing.get_origin(obj) is not None or isinstance(obj, types.UnionType))


def kind(obj: Any) -> str:
    if is_type_alias(obj):
        return "Type aliases"
    if inspect.isclass(obj):
        return "Exceptions" if issubclass(obj, BaseException) else "Classes"
    if inspect.isfunction(obj):
        return "Functions"
    return "Constants and types"


@functools.cache
def home(package: str, name: str) -> str | None:
    """Where ``package.name`` is documented (``module.name``), or None for data that no public module lists."""
    obj = getattr(importlib.import_module(package), name)
    if is_defined(obj):
        return f"{obj.__module__}.{obj.__qualname__}"
    for pkg in [package] + [p for p in PACKAGES if p != package]:
        for module in public_modules(pkg):
            mod = importlib.import_module(module)
            if name in getattr(mod, "__all__", ()) and getattr(mod, name) is obj:
                return f"{module}.{name}"
    return None


def module_members(module: str) -> tuple[list[str], list[str], list[str]]:
    """The names of ``module.__all__`` defined in it, its type aliases, and the names it re-exports (as where they
    are documented)."""
    mod = importlib.import_module(module)
    own, aliases, elsewhere = [], [], []
    for name in getattr(mod, "__all__", ()):
        obj = getattr(mod, name)
        if isinstance(obj, types.ModuleType):
            continue
        if is_type_alias(obj):
            aliases.append(name)
        elif is_defined(obj) and obj.__module__ != module:
            elsewhere.append(f"{obj.__module__}.{obj.__qualname__}")
        else:
            own.append(name)
    return own, aliases, elsewhere


def _alias_rst(module: str, name: str) -> list[str]:
    """A type alias as ``py:data``, with its ``#:`` comment if it has one."""
    from sphinx.pycode import ModuleAnalyzer

    obj = getattr(importlib.import_module(module), name)
    try:
        comment = ModuleAnalyzer.for_module(module).find_attr_docs().get(("", name), [])
    except Exception:  # no source to read: the alias without its comment
        comment = []
    value = typing._type_repr(obj) if hasattr(typing, "_type_repr") else repr(obj)
    lines = [f".. py:data:: {name}", f"   :value: {value}", ""]
    lines += [f"   {line}" for line in comment if line.strip()] or ["   A type alias."]
    return lines + [""]


def _summary(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    groups: dict[str, list[str]] = {}
    lines: list[str] = []
    for name in pkg.__all__:
        obj = getattr(pkg, name)
        if isinstance(obj, types.ModuleType):
            continue
        where = home(package, name)
        if where is None:  # s2label.__version__
            lines += [f".. py:data:: {package}.{name}", f"   :value: {obj!r}", "",
                      f"   The version of {package}." if name == "__version__" else "", ""]
            continue
        groups.setdefault(kind(obj), []).append(where)
    for title in ("Functions", "Classes", "Exceptions", "Constants and types", "Type aliases"):
        if title == "Type aliases" and title in groups:  # autosummary cannot import them: a list
            lines += [f".. rubric:: {title}", ""] + [f"- :py:data:`~{where}`" for where in groups[title]] + [""]
        elif title in groups:
            lines += [f".. rubric:: {title}", "", ".. autosummary::", "   :nosignatures:", ""]
            lines += [f"   ~{where}" for where in groups[title]]
            lines.append("")
    return lines


def package_rst(package: str) -> list[str]:
    """The reStructuredText of ``package``'s page, below its title."""
    # the summaries name every entry in full: no current module, which autosummary would find repeated in them
    lines = [f".. automodule:: {package}", "   :no-members:", "", ".. currentmodule:: None", ""]
    lines += [f"Every name of ``{package}.__all__``, linked to where it is documented:", ""] + _summary(package)
    modules = public_modules(package)
    if modules:
        lines += [".. rubric:: Modules", "", ".. autosummary::", ""] + [f"   {m}" for m in modules] + [""]
    for module in modules:
        own, aliases, elsewhere = module_members(module)
        lines += [module, "-" * len(module), "", f".. automodule:: {module}"]
        if own:
            lines += [f"   :members: {', '.join(own)}", "   :undoc-members:", "   :member-order: bysource"]
        else:
            lines.append("   :no-members:")
        lines.append("")
        for name in aliases:
            lines += _alias_rst(module, name)
        if elsewhere:
            links = ", ".join(f":py:obj:`~{where}`" for where in elsewhere)
            lines += [f"Also here, documented where they are defined: {links}.", ""]
    return lines


class PackageAPI(SphinxDirective):
    """``.. s2label-api:: PACKAGE``: the package's docstring, a summary of its names, its modules' documentation."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        if package not in PACKAGES:
            raise self.error(f"s2label-api: {package!r} is not one of {', '.join(PACKAGES)}")
        source = f"<s2label-api {package}>"
        content = StringList(package_rst(package), source=source)
        holder = nodes.section()  # nested_parse_with_titles needs a node that may hold sections
        holder.document = self.state.document
        nested_parse_with_titles(self.state, content, holder)
        return holder.children


def add_aliases(app: Sphinx, env: Any) -> list[str]:
    """Make ``s2label.read_scene`` (and ``s2label.io.read_scene``) link to ``s2label.io.read.read_scene``.

    A name a package re-exports is documented once, at its home; the Python domain gets the package's name of
    it, and of its members (``s2label.LabelSession.export``), as aliases of that entry, so that a reference by
    either name resolves, and is never ambiguous (an aliased entry gives way to the real one).
    """
    objects = env.get_domain("py").objects
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        for name in pkg.__all__:
            if isinstance(getattr(pkg, name), types.ModuleType):
                continue
            where, alias = home(package, name), f"{package}.{name}"
            if where is None or where == alias or where not in objects:
                continue
            for key in [k for k in objects if k == where or k.startswith(where + ".")]:
                objects.setdefault(alias + key[len(where):], objects[key]._replace(aliased=True))
    return []


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("s2label-api", PackageAPI)
    app.connect("env-updated", add_aliases)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
