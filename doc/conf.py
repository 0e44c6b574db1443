"""Sphinx configuration of the skbrainmusic documentation (build: ``doc/build.sh``)."""

import os
import re
import sys
from pathlib import Path

# The docs document the checkout they live in, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import skbrainmusic  # noqa: E402

project = "skbrainmusic"
author = "skbrainmusic developers"
copyright = "2026, skbrainmusic developers"
release = skbrainmusic.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/**/*.ipynb", "auto_examples/**/*.py"]
default_role = "literal"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "joblib": ("https://joblib.readthedocs.io/en/stable", None),
}
# The build must not need the network (CI, offline machines): intersphinx inventories
# are used only when SKBRAINMUSIC_DOCS_ONLINE=1.
if os.environ.get("SKBRAINMUSIC_DOCS_ONLINE") != "1":
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only plot_*.py run; the real-data recipe (real_data_*.py) is rendered, not executed.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|conftest\.py",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "reference_url": {"skbrainmusic": None},
    "backreferences_dir": None,
    "matplotlib_animations": False,
    # No doc/sg_execution_times.rst in the source tree (it would show up as untracked).
    "write_computation_times": False,
}



def _skip_metadata_requests(app, what, name, obj, skip, options):
    # sklearn generates set_*_request methods on every estimator; their docstrings point
    # into sklearn's own docs.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


# In "of shape (n_features_in_,)" reST would read ``n_features_in_`` as a link target.
_SHAPE_NAME = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?=[,) ])")


def _literal_shape_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if "shape (" in line:
            head, _, shape = line.partition("shape (")
            lines[i] = head + "shape (" + _SHAPE_NAME.sub(r"``\1``", shape)


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
    app.connect("autodoc-process-docstring", _literal_shape_names)


html_theme = "pydata_sphinx_theme"
html_title = f"skbrainmusic {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
