"""Entry-point discovery, the registry, and the example plugin package."""

import os
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import sk_recsys.plugins._registry as registry
from sk_recsys.plugins import GROUP, PluginWarning, available_models, get_model

ROOT = Path(__file__).resolve().parents[1]
BUILTINS = {"popularity", "item_knn", "user_knn", "ease"}


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Replace the installed entry points with the given ones, cache cleared."""

    def install(*entries):
        found = [EntryPoint(name=n, value=v, group=GROUP) for n, v in entries]
        monkeypatch.setattr(registry, "entry_points", lambda group: found)
        monkeypatch.setattr(registry, "_broken", set())
        registry._registry.cache_clear()

    yield install
    registry._registry.cache_clear()


def test_builtins_are_registered_without_importing_them():
    models = available_models()
    assert BUILTINS <= set(models)
    assert models["ease"] == "sk_recsys.models.ease:EASE"
    assert type(get_model("item_knn", n_neighbors=7)).__name__ == "ItemKNN"
    assert get_model("item_knn", n_neighbors=7).n_neighbors == 7


def test_unknown_name_lists_the_available_models():
    with pytest.raises(
        ValueError, match="Unknown model 'nope'; choose one of popularity"
    ):
        get_model("nope")


def test_a_broken_plugin_is_skipped_with_a_warning_naming_it(fake_entry_points):
    fake_entry_points(("broken", "no_such_module_xyz:Model"))
    assert "broken" in available_models()
    with pytest.warns(PluginWarning, match="'broken'.*failed to import"):
        with pytest.raises(ValueError, match="unavailable"):
            get_model("broken")
    assert "broken" not in available_models()
    assert BUILTINS <= set(available_models())


def test_a_plugin_that_is_not_a_recommender_is_skipped(fake_entry_points):
    fake_entry_points(("not_a_model", "json:dumps"))
    with pytest.warns(PluginWarning, match="not a recommender class"):
        with pytest.raises(ValueError):
            get_model("not_a_model")


def test_a_name_clash_keeps_the_builtin(fake_entry_points):
    with pytest.warns(PluginWarning, match="'ease'.*keeping the built-in"):
        fake_entry_points(("ease", "json:dumps"))
        models = available_models()
    assert models["ease"] == "sk_recsys.models.ease:EASE"


def test_a_malformed_entry_point_is_skipped(fake_entry_points):
    with pytest.warns(PluginWarning, match="not 'module:Class'"):
        fake_entry_points(("odd", "just_a_module"))
        assert "odd" not in available_models()


def _run(code: str, path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(path)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_a_broken_installed_plugin_never_breaks_import(tmp_path):
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        f"[{GROUP}]\nbroken = missing_module:Model\n"
    )
    result = _run(
        """
        import warnings
        import sk_recsys
        from sk_recsys.plugins import available_models, get_model
        assert "broken" in available_models()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                get_model("broken")
            except ValueError:
                pass
        print([str(w.message) for w in caught])
        print(sorted(available_models()))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Plugin model 'broken'" in result.stdout
    assert "'broken'" not in result.stdout.splitlines()[-1]


@pytest.mark.slow
def test_the_example_plugin_installs_is_discovered_and_conforms(tmp_path):
    """pip-install examples/plugin_package into a fresh folder and use it."""
    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT / "examples" / "plugin_package"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    result = _run(
        """
        from sk_recsys.plugins import available_models, get_model
        from sk_recsys.utils.estimator_checks import check_recommender
        models = available_models()
        assert models["toprated"] == "sk_recsys_toprated.model:TopRated", models
        model = get_model("toprated", damping=2.0)
        check_recommender(model)
        print("conforms", type(model).__module__)
        """,
        target,
    )
    assert result.returncode == 0, result.stderr
    assert "conforms sk_recsys_toprated.model" in result.stdout
