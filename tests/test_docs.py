"""The documentation site builds without a warning, offline, and what it links to is there.

One build (``python -m sphinx -W --keep-going -b html docs <tmp>``, what ``make docs`` runs) is shared by the
tests. The notebooks are executed by the build (``docs/_ext/s2label_notebooks.py``) into ``docs/notebooks/``
unless the copies there are up to date, so the first build after a notebook changed takes a few minutes more.
Only internal links are checked: nothing here may use the network.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.slow  # a Sphinx build of the whole site, notebooks included (minutes)

ROOT = Path(__file__).resolve().parents[1]
#: The packages with a page of their own in the API reference (docs/api/<package>.rst).
PACKAGES = ["s2label", "s2label.io", "s2label.segmentation", "s2label.encoders", "s2label.clustering",
            "s2label.session", "s2label.widget", "s2label.display", "s2label.evaluation", "s2label.pipeline"]
NOTEBOOKS = ["01-quickstart", "02-label-a-scene", "03-how-good-are-the-clusters", "04-your-own-data"]
#: The attributes of these elements that name another file.
LINKING = {"a": "href", "link": "href", "img": "src", "script": "src", "source": "src", "iframe": "src"}


class Page(HTMLParser):
    """The ids of an HTML page, and every link it makes (element, attribute value)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []
        self.images = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(values[key])
        if tag in LINKING and values.get(LINKING[tag]):
            self.links.append((tag, values[LINKING[tag]]))
        self.images += tag == "img"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site (its folder, resolved)."""
    out = tmp_path_factory.mktemp("docs")
    env = {k: v for k, v in os.environ.items() if k != "S2LABEL_DOCS_EXECUTE"}  # the default: execute if stale
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out / "html")],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"the docs build failed or warned:\n{proc.stderr[-6000:]}"
    return (out / "html").resolve()


@pytest.fixture(scope="module")
def pages(site: Path) -> dict[Path, Page]:
    """Every page Sphinx wrote (not the theme's own files under _static/, such as a Jinja macro file)."""
    return {path.resolve(): Page(path.read_text(encoding="utf-8")) for path in sorted(site.rglob("*.html"))
            if "_static" not in path.relative_to(site).parts}


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme) or url.startswith("//")


def test_every_page_of_the_toctree_is_built(site):
    for page in ["index", "getting-started", "notebooks", "cli", "benchmarks", "citing", "development",
                 "api/index", *(f"api/{p}" for p in PACKAGES), *(f"notebooks/{n}" for n in NOTEBOOKS),
                 *(f"guide/{g}" for g in ["index", "read", "segment", "graph", "embed", "cluster", "explore",
                                          "export", "run"])]:
        assert (site / f"{page}.html").is_file(), page


def test_internal_links_and_anchors_resolve(site, pages):
    broken = []
    checked = 0
    for path, page in pages.items():
        for tag, url in page.links:
            if _is_external(url):
                continue
            parts = urlsplit(url)
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{path.relative_to(site)}: <{tag}> {url} (no file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else Page(target.read_text()).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(site)}: <{tag}> {url} (no id {parts.fragment!r})")
    assert checked > 1000  # the pages were read: every page has a navigation bar
    assert not broken, "\n".join(broken[:50])


def test_offline_no_remote_images_scripts_or_styles(pages, site):
    remote = [f"{path.relative_to(site)}: <{tag}> {url}" for path, page in pages.items() for tag, url in page.links
              if tag != "a" and _is_external(url) and not url.startswith("data:")]
    assert not remote, "\n".join(remote[:20])


def _public_modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")
            and not m.ispkg]


def test_api_pages_name_every_public_function_and_class(site, pages):
    documented = set().union(*(page.ids for path, page in pages.items() if path.parent.name == "api"))
    missing = []
    for package in PACKAGES:
        page = pages[site / "api" / f"{package}.html"]
        linked = {urlsplit(url).fragment for _, url in page.links} | page.ids
        for module in [package, *_public_modules(package)]:
            mod = importlib.import_module(module)
            for name in mod.__all__:
                obj = getattr(mod, name)
                if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                    continue
                home = f"{obj.__module__}.{obj.__qualname__}"
                if home not in documented:
                    missing.append(f"{module}.{name}: {home} is documented nowhere")
                elif home not in linked:
                    missing.append(f"{module}.{name}: api/{package}.html does not name it")
    assert not missing, "\n".join(missing)
    # and the reference is the docstrings: a function's own parameters are on its page
    text = (site / "api" / "s2label.io.html").read_text()
    assert 'id="s2label.io.read.read_scene"' in text and "bbox_crs" in text


def test_cli_page_lists_every_option_of_s2label_run(pages, site):
    from s2label.pipeline.cli import build_parser

    parser = build_parser()
    (run,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    ids = pages[site / "cli.html"].ids
    shown = [a for a in run.choices["run"]._actions
             if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]
    assert len(shown) > 20
    wanted = [f"cmdoption-s2label-run-{o.lstrip('-')}" for a in shown for o in a.option_strings]
    wanted += [f"cmdoption-s2label-run-arg-{a.dest}" for a in shown if not a.option_strings]
    missing = [w for w in wanted if w not in ids]
    assert not missing, missing
    assert "cmdoption-s2label-run-window-size" not in ids  # a suppressed option stays out, as in --help
    text = (site / "cli.html").read_text()
    assert "usage: s2label run" in text and "target segment size in px (default: 200)" in text


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_pages_show_outputs(pages, site, name):
    path = site / "notebooks" / f"{name}.html"
    text = path.read_text()
    assert "without its outputs" not in text, "the notebook was rendered unexecuted"
    assert text.count('class="cell_output') >= 3, "too few cell outputs"
    outputs = text.split('class="cell_output', 1)[1]
    assert "<img" in outputs, "no figure among the outputs"
    assert "Traceback (most recent call last)" not in text
    assert "the documentation ran this notebook on a small part of the scene" in text  # the injected parameters
