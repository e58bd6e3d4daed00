"""Sphinx configuration: MyST Markdown pages, numpydoc API pages, a gallery of the examples.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` from the
repository root; every example in ``examples/`` runs during the build.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document this checkout, installed or not

import sk_unlearn  # noqa: E402

project = "sk-unlearn"
author = "sk-unlearn developers"
copyright = "sk-unlearn developers"
release = sk_unlearn.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb"]

# MyST: Markdown pages link to each other's headings as page.md#heading.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# API pages: numpydoc renders the docstrings; one page per public object.
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    # scikit-learn's generated metadata-routing setters; their docstrings link
    # into scikit-learn's own docs.
    "exclude-members": "set_fit_request,set_partial_fit_request,set_score_request",
}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections say it
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# The gallery runs every script in examples/ (their names are the commands the
# README and the docs give, so no plot_ prefix) and renders its output.
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": os.environ.get("SK_UNLEARN_DOCS_PLOT_GALLERY", "True"),
}


class _ResultsLinksFilter(logging.Filter):
    """Let docs/benchmarks.md link to the raw reports in benchmarks/results/.

    Those links work where the Markdown is read as files (a repository
    browser); the site renders them as text. Every other missing link still
    fails the build.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            getattr(record, "type", None) == "myst"
            and getattr(record, "subtype", None) == "xref_missing"
            and "/benchmarks/results/" in record.getMessage()
        )


def setup(app):  # type: ignore[no-untyped-def]
    # First among each handler's filters: before -W turns the warning into an error.
    for handler in logging.getLogger("sphinx").handlers:
        handler.filters.insert(0, _ResultsLinksFilter())


html_theme = "furo"
html_title = f"sk-unlearn {release}"
