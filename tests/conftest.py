import json
import os
from pathlib import Path

_WORKER = bool(os.environ.get("PYTEST_XDIST_WORKER"))
if _WORKER:
    # One thread per test worker in every pool (torch, both OpenBLAS copies,
    # the OpenMP runtimes): with -n 2 on 2 cores, more threads oversubscribe
    # the CPU, and the pools' spinning can make the other worker's tests crawl.
    # The variables reach libraries loaded later; threadpoolctl below limits
    # the ones pytest's plugins may already have loaded. Tests that need
    # several threads set them explicitly.
    for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from sk_recsys.datasets import make_interactions  # noqa: E402

if _WORKER:
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def movielens_home() -> Path | None:
    """The folder holding ml-100k/, or None when the data is absent."""
    home = os.environ.get("SK_RECSYS_DATA")
    if home and (Path(home) / "ml-100k" / "u.data").is_file():
        return Path(home)
    return None


requires_movielens = pytest.mark.skipif(
    movielens_home() is None,
    reason="MovieLens-100K not found: set SK_RECSYS_DATA to the folder of ml-100k/",
)


@pytest.fixture(scope="session")
def ratings():
    """Small explicit synthetic data: (X, y)."""
    return make_interactions(
        n_users=120,
        n_items=80,
        interactions_per_user=12,
        random_state=0,
        return_X_y=True,
    )


# ------------------------------------------------------ registry-wide helpers

#: Settings that make every registered model train in a blink on tiny data;
#: each model gets those of its parameters that it has.
QUICK_PARAMS = {
    "max_epochs": 2,
    "random_state": 0,
    "batch_size": 64,
    "n_samples": 10,
    "burn_in": 5,
}


def quick_model(name, **params):
    """A new ``name`` model from the registry, set for tiny data and seeded.

    ``QUICK_PARAMS`` and ``params`` apply where the model has them (nested
    ``a__b`` names always do), so one call serves every registered model.
    """
    from sk_recsys import get_model

    model = get_model(name)
    known = model.get_params()
    wanted = {**QUICK_PARAMS, **params}
    return model.set_params(
        **{k: v for k, v in wanted.items() if k in known or "__" in k}
    )


@pytest.fixture(scope="session")
def tiny():
    """Tiny synthetic data with item and user features (int ids)."""
    return make_interactions(
        n_users=20, n_items=15, interactions_per_user=4, image_size=4, random_state=0
    )


# ------------------------------------------ reliability summary (test_reliability)

#: model -> {"tried": n, "worked": n, "refused": n, "crashed": n}; the fuzz
#: tests of tests/test_reliability.py add to it through ``reliability_log``.
_RELIABILITY: dict = {}
_RELIABILITY_KEY = "sk_recsys_reliability"


@pytest.fixture(scope="session")
def reliability_log():
    """Record the outcome of one bad input: ``log(model, outcome)``."""

    def log(model, outcome):
        counts = _RELIABILITY.setdefault(
            model, {"tried": 0, "worked": 0, "refused": 0, "crashed": 0}
        )
        counts["tried"] += 1
        counts[outcome] += 1

    return log


def _merge(counts: dict) -> None:
    for model, row in counts.items():
        mine = _RELIABILITY.setdefault(model, dict.fromkeys(row, 0))
        for key, value in row.items():
            mine[key] = mine.get(key, 0) + value


def pytest_sessionfinish(session):
    # An xdist worker hands its counts to the controller, which prints them.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_RELIABILITY_KEY] = json.dumps(_RELIABILITY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    output = getattr(node, "workeroutput", None) or {}
    if _RELIABILITY_KEY in output:
        _merge(json.loads(output[_RELIABILITY_KEY]))


def pytest_terminal_summary(terminalreporter):
    if not _RELIABILITY:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", "reliability: bad inputs tried per model")
    write(f"{'model':<14}{'tried':>8}{'worked':>8}{'refused':>9}{'crashed':>9}")
    for model, row in sorted(_RELIABILITY.items()):
        write(
            f"{model:<14}{row['tried']:>8}{row['worked']:>8}{row['refused']:>9}"
            f"{row['crashed']:>9}"
        )
    crashed = sum(row["crashed"] for row in _RELIABILITY.values())
    total = sum(row["tried"] for row in _RELIABILITY.values())
    write(
        f"{total} bad inputs over {len(_RELIABILITY)} models; "
        + ("none crashed." if not crashed else f"{crashed} CRASHED (see failures).")
    )
