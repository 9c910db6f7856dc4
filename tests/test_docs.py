"""The documentation's inputs stay consistent with the package.

``make docs`` builds the site itself (with Sphinx); these checks need no
Sphinx and catch, in ``make test``, what would break that build or what it
would silently leave out.
"""

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import sk_recsys

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.rst").read_text()
LISTED = re.findall(r"^   (sk_recsys[\w.]*)$", API, flags=re.MULTILINE)
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))


def test_every_public_subpackage_is_in_the_api_reference():
    public = [
        module.name
        for module in pkgutil.iter_modules(sk_recsys.__path__, "sk_recsys.")
        if not module.name.rsplit(".", 1)[1].startswith("_")
        and module.name != "sk_recsys.cli"
    ]
    assert public, "found no public subpackage"
    assert sorted(set(public) - set(LISTED)) == []


@pytest.mark.parametrize("modname", LISTED)
def test_every_name_in_all_exists(modname):
    # The API reference is generated from __all__: a stale entry breaks it.
    module = importlib.import_module(modname)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


def test_there_are_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_has_a_title_and_uses_only_synthetic_data(path):
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring, "sphinx-gallery needs a docstring with a title"
    title, underline = docstring.splitlines()[:2]
    assert underline == "=" * len(title), "the docstring must open with a title"
    # CI builds the docs without the MovieLens files.
    assert "load_movielens" not in source
    assert "SK_RECSYS_DATA" not in source
