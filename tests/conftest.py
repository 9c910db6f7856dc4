import os
from pathlib import Path

import pytest
import torch

from sk_recsys.datasets import make_interactions

if os.environ.get("PYTEST_XDIST_WORKER"):
    # One torch thread per test worker: with -n 2 on 2 cores, more threads
    # oversubscribe the CPU and OpenMP's spinning makes neural tests crawl.
    torch.set_num_threads(1)


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
