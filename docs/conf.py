"""Sphinx configuration: the user guide (Markdown, myst-parser) and the API reference
(autodoc + napoleon) of ``symmetries``.

Build offline, warnings as errors::

    python -m sphinx -W --keep-going -b html docs build/docs

Nothing is fetched at build time (no intersphinx); MathJax renders the math in the
browser.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
try:  # a checkout without `pip install -e .`
    import symmetries  # noqa: F401
except ImportError:
    sys.path.insert(0, str(HERE.parent / "src"))
    import symmetries  # noqa: F401

project = "symmetries"
author = "the symmetries authors"
copyright = "the symmetries authors"
release = version = symmetries.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_parser",
    "public_api",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
html_theme = "furo"
html_title = f"symmetries {release}"
html_static_path = []

# --- autodoc: the public names only (the directive in _ext/public_api.py picks them)
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autodoc_inherit_docstrings = False  # a torch.nn.Module's forward() says nothing about ours
autodoc_preserve_defaults = True     # show `generator=None`, not a repr of the default
add_module_names = False

# --- napoleon: Google-style "Args:", "Returns:", "Shapes:" sections
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_custom_sections = ["Shapes"]  # free text under a "Shapes" heading

# --- myst: the guide renders on GitHub and here alike ($...$ is math)
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# --- every reference inside the package must resolve; outside ones (torch, numpy,
# builtins) are not linked (that would need intersphinx, i.e. the network)
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|numpy|np|scipy|typing|collections|abc|pathlib|os|concurrent|"
               r"dataclasses|enum|functools|ase|numba|triton|matplotlib|tqdm)(\..*)?"),
    (r"py:.*", r"(int|float|str|bool|bytes|complex|dict|list|tuple|set|frozenset|object|"
               r"type|slice|callable|Callable|Iterable|Iterator|Sequence|Mapping|Any|"
               r"Optional|Union|None|NoneType|Ellipsis|Exception|ValueError|TypeError|"
               r"RuntimeError|KeyError|Path|Tensor|Module|Generator|dtype|device|True|False|"
               r"optional)"),  # "optional": napoleon's "x (int, optional)"
    # a type from a private module that no package exports, named in a signature
    (r"py:class", r"symmetries(\.\w+)*\._\w+(\.\w+)*"),
]
