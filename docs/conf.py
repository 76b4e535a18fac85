"""Sphinx configuration of s2label's documentation: ``make docs`` builds it into ``docs/_build/html``.

Offline by design: no intersphinx, no remote images or scripts, no analytics; the notebooks are executed at
build time on a small part of the bundled scene (``_ext/s2label_notebooks.py``), nothing is downloaded.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

from s2label._version import __version__  # noqa: E402

# -- project -------------------------------------------------------------------------------------------------
project = "s2label"
author = "The s2label developers"
copyright = "The s2label developers (MIT licence)"
version = release = __version__

# -- general ---------------------------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_nb",
    "s2label_notebooks",  # executes notebooks/ into notebooks/ here, before the sources are read
    "s2label_api",        # .. s2label-api:: PACKAGE
    "s2label_cli",        # .. s2label-cli::
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store", "notebooks/*.tmp"]
templates_path: list[str] = []
nitpicky = False
# what -W must not fail on: none; every warning is an error (Makefile, tests/test_docs.py)
suppress_warnings: list[str] = []

# -- autodoc, autosummary, numpydoc ------------------------------------------------------------------------------
autodoc_default_options = {"show-inheritance": False}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
autosummary_generate = False  # the API pages are written by s2label_api, tables only
autosummary_imported_members = False
numpydoc_show_class_members = False  # the members follow the class, from autodoc
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_attributes_as_param_list = True
add_module_names = False
python_display_short_literal_types = True

# -- MyST and myst-nb ----------------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the notebooks were executed at builder-inited (s2label_notebooks), with small parameters
nb_ipywidgets_js: dict[str, dict[str, str]] = {}  # no widget JavaScript from a CDN
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True
nb_render_markdown_format = "gfm"  # markdown outputs (the tables of notebook 03) with tables
nb_output_stderr = "remove"  # the kernel's warnings (e.g. about its TCP transport) say nothing to a reader

# -- HTML ------------------------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"s2label {release}"
html_static_path: list[str] = []
html_last_updated_fmt = None
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc"],
    "icon_links": [],
    "analytics": {},
}
html_show_sourcelink = False
html_copy_source = False

# -- README sections included by the pages ---------------------------------------------------------------------------
#: Paths in README.md that are relative to the repository; in the docs they are relative to docs/ (``/`` = docs/).
_README_LINKS = re.compile(r"\]\((docs/|notebooks/)")
_BINDER = "https://mybinder.org/v2/gh/s2label/s2label/HEAD?labpath=notebooks/01-quickstart.ipynb"
#: The number of a pipeline stage's list item in README.md, which a stage's page includes on its own.
_STAGE_NUMBER = re.compile(r"(<!-- docs:stage-[a-z]+ -->\n)\d+\. ")


def _readme_for_docs(app, relative_path, parent_docname, content):
    """Rewrite README.md, as the pages include it, for the docs' layout (``include-read`` of MyST)."""
    if Path(relative_path).name != "README.md":
        return
    text = content[0]
    # images and notebooks by their place in docs/ (a leading / is the docs' source folder); other files
    # under docs/ (a screenshot at another width) as downloads
    text = re.sub(r"(?<!!)\[([^\]]*)\]\(docs/([^)]+\.png)\)", r"[\1](path:/\2)", text)
    text = _README_LINKS.sub(lambda m: "](/" if m.group(1) == "docs/" else "](/notebooks/", text)
    text = _STAGE_NUMBER.sub(r"\1", text)
    text = text.replace("(or click the Binder badge above: no installation at all)",
                        f"(or open it on [Binder]({_BINDER}): no installation at all)")  # no badge in the docs
    # a README section is a page: its "## Title" the page's title, its "###" the page's sections
    text = re.sub(r"^#(#+) ", r"\1 ", text, flags=re.M)
    content[0] = text


def setup(app):
    app.connect("include-read", _readme_for_docs)
