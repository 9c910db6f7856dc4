"""Sphinx configuration of the sk_recsys documentation.

``make docs`` builds it with warnings as errors. The API reference is
generated from each public module's ``__all__`` (see ``PUBLIC_MODULES`` and
``docs/_templates/autosummary``), so a name added to an ``__all__`` gets its
page without editing ``api.rst``. The gallery runs ``examples/plot_*.py`` on
the synthetic data during the build; nothing is fetched from the network.
"""

import importlib
import inspect
import os
import pkgutil
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import torch  # noqa: E402
from docutils import nodes  # noqa: E402
from numpydoc.xref import DEFAULT_LINKS  # noqa: E402
from sphinx.errors import PycodeError  # noqa: E402
from sphinx.pycode import ModuleAnalyzer  # noqa: E402
from sphinx.transforms import SphinxTransform  # noqa: E402
from sphinx.util import logging  # noqa: E402

import sk_recsys  # noqa: E402

project = "sk_recsys"
author = "sk_recsys developers"
copyright = "sk_recsys developers"
release = sk_recsys.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# -- API reference -------------------------------------------------------------

#: Public modules, each documented from its ``__all__``: the ones ``api.rst``
#: lists. A name re-exported by a module (``sk_recsys.EASE``) links to the page
#: of the first other listed module that exports it (``sk_recsys.models.EASE``).
PUBLIC_MODULES = re.findall(
    r"^   (sk_recsys[\w.]*)$", (HERE / "api.rst").read_text(), flags=re.MULTILINE
)


def _check_public_modules(app, config):
    """Fail the build when a public subpackage is missing from ``api.rst``."""
    for module in pkgutil.iter_modules(sk_recsys.__path__, "sk_recsys."):
        name = module.name
        if name.rsplit(".", 1)[1].startswith("_") or name == "sk_recsys.cli":
            continue
        if name not in PUBLIC_MODULES:
            logging.getLogger(__name__).warning(
                "%s is public but not listed in docs/api.rst; add it there.", name
            )


def _canonical_names():
    """Map each re-exported public name to the page that documents it."""
    homes = {}
    for modname in sorted(PUBLIC_MODULES, key=lambda name: name == "sk_recsys"):
        module = importlib.import_module(modname)
        for name in module.__all__:
            homes.setdefault(id(getattr(module, name)), f"{modname}.{name}")
    canonical = {}
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        for name in module.__all__:
            home = homes.get(id(getattr(module, name)))
            if home is not None and home != f"{modname}.{name}":
                canonical[f"{modname}.{name}"] = home
    return canonical


autosummary_generate = True
autosummary_generate_overwrite = True
autosummary_ignore_module_all = False
autosummary_imported_members = True
autosummary_context = {"canonical": _canonical_names()}

autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False

numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Types become cross-references, which also keeps shapes such as
# ``(n_items_,)`` from being read as reST link targets.
numpydoc_xref_param_type = True
# numpydoc's default links point into other projects' inventories (``int`` to
# ``python:int``), which an offline build (no intersphinx) shows verbatim or
# reports as missing glossary terms: link each type word to its plain name.
numpydoc_xref_aliases = {name: name.replace("-", "_") for name in DEFAULT_LINKS}
numpydoc_xref_ignore = {
    "of",
    "or",
    "shape",
    "default",
    "optional",
    "instance",
    "type",
    "and",
    "the",
}

# -- Gallery -----------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # examples/plugin_package is an installable package, not a gallery page.
    "ignore_pattern": r"plugin_package|__init__\.py",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sk_recsys",),
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "show_memory": False,
    "plot_gallery": "True",
    "min_reported_time": 1,
}

# Examples must run on the synthetic data alone, on CPU, without a display.
os.environ.pop("SK_RECSYS_DATA", None)
os.environ.setdefault("MPLBACKEND", "Agg")
# The examples' models are tiny: one thread trains them fastest, and several
# spin against each other on a busy 2-core CI machine.
torch.set_num_threads(1)

# -- HTML --------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sk_recsys {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
}
html_static_path = []


def _skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing helpers on every estimator."""
    if name == "get_metadata_routing" or re.fullmatch(r"set_\w+_request", name):
        return True
    return None


_TYPE_LINE = re.compile(r"^(\s*[\w*][\w, *]* : )(.+)$")
_TRAILING_UNDERSCORE = re.compile(r"\b(\w+)_(?=[,)])")


def _escape_shapes(app, what, name, obj, options, lines):
    """Keep ``(n_items_,)`` in a parameter type from being read as a link."""
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match:
            head, kind = match.groups()
            lines[i] = head + _TRAILING_UNDERSCORE.sub(r"\1\\_", kind)


def _data_docstring(app, what, name, obj, options, lines):
    """Document a re-exported constant by its ``#:`` comment, not by its type.

    autodoc looks for the comment in the module that re-exports the name
    (``sk_recsys.plugins``) and otherwise shows the docstring of ``str``;
    the comment is in the private module that defines it.
    """
    type_doc = inspect.getdoc(type(obj)) or ""
    if what not in ("data", "attribute") or not lines or lines[0] not in type_doc:
        return
    package, attr = name.rsplit(".", 1)
    comment = []
    for modname in sorted(sys.modules):
        if modname.startswith(package + "."):
            try:
                docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
            except PycodeError:
                continue
            comment = list(docs.get(("", attr), comment))
    lines[:] = comment


class _NoMailto(SphinxTransform):
    """Keep metric names such as NDCG@10 as text, not as e-mail links."""

    default_priority = 500

    def apply(self, **kwargs):
        for node in list(self.document.findall(nodes.reference)):
            if node.get("refuri", "").startswith("mailto:"):
                node.replace_self(nodes.Text(node.astext()))


def setup(app):
    app.connect("config-inited", _check_public_modules)
    app.add_transform(_NoMailto)
    app.connect("autodoc-skip-member", _skip_member)
    # Before numpydoc (priority 500) turns the sections into reST.
    app.connect("autodoc-process-docstring", _escape_shapes, priority=400)
    app.connect("autodoc-process-docstring", _data_docstring, priority=400)
