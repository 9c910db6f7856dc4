"""Scaling out: searches on a Dask (or Ray) cluster, data-parallel training."""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from sk_recsys.data import InteractionDataset, SliceIterator
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import UserKFold, train_test_split
from sk_recsys.models import ItemKNN, MatrixFactorization, Popularity


def _searches():
    cv = UserKFold(2, random_state=0)
    scoring = get_scorer("ndcg@10")
    return [
        GridSearchCV(
            MatrixFactorization(max_epochs=2, random_state=0),
            {"n_factors": [4, 8]},
            cv=cv,
            scoring=scoring,
        ),
        RandomizedSearchCV(
            ItemKNN(),
            {"n_neighbors": [5, 10, 20, 40]},
            n_iter=3,
            random_state=0,
            cv=cv,
            scoring=scoring,
        ),
    ]


def _assert_same_search(local, remote):
    for a, b in zip(local, remote, strict=True):
        assert a.best_params_ == b.best_params_
        np.testing.assert_array_equal(
            a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
        )
        assert a.best_estimator_.recommend([0, 1], k=5)[0].tolist() == (
            b.best_estimator_.recommend([0, 1], k=5)[0].tolist()
        )


@pytest.fixture(scope="module")
def search_data():
    X, _ = make_interactions(120, 60, random_state=0, return_X_y=True)
    return X


@pytest.mark.slow
def test_searches_on_a_dask_cluster_match_the_local_run(search_data):
    distributed = pytest.importorskip("distributed")
    local = [search.fit(search_data) for search in _searches()]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_backend("dask"),
    ):
        remote = [search.set_params(n_jobs=-1) for search in _searches()]
        remote = [search.fit(search_data) for search in remote]
        # The fits did run on the two worker processes.
        assert len(client.scheduler_info()["workers"]) == 2
    _assert_same_search(local, remote)


@pytest.mark.slow
def test_searches_on_ray_match_the_local_run(search_data):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    search = _searches()[1]
    local = search.fit(search_data)
    register_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with joblib.parallel_backend("ray"):
            remote = _searches()[1].set_params(n_jobs=2).fit(search_data)
    finally:
        ray.shutdown()
    _assert_same_search([local], [remote])


def test_sharding_without_a_process_group_changes_nothing():
    data = InteractionDataset(np.arange(10), np.arange(10) % 3)
    plain = list(SliceIterator(data, batch_size=4))
    sharded = SliceIterator(data, batch_size=4, shard=True)
    assert len(sharded) == 3
    for (u1, i1), (u2, i2) in zip(
        (b[0] for b in plain), (b[0] for b in sharded), strict=True
    ):
        assert torch.equal(u1, u2) and torch.equal(i1, i2)
        assert u2.dtype == torch.int64


_MODEL = """
from sk_recsys.models import DataParallelMixin, MatrixFactorization


class DistributedMF(DataParallelMixin, MatrixFactorization):
    pass
"""

_WORKER = """
import pickle
import sys

import torch
from accelerate import Accelerator

from dp_model import DistributedMF
from sk_recsys.datasets import make_interactions
from sk_recsys.model_selection import train_test_split

accelerator = Accelerator(cpu=True)
X, _ = make_interactions(300, 200, random_state=0, return_X_y=True)
train, _ = train_test_split(X, random_state=0)
# Each of the two processes takes half of the rows per step: a batch of 512
# each averages gradients over 1024 rows, as the single process's batch.
model = DistributedMF(
    n_factors=16, max_epochs=10, lr=0.01, batch_size=512, random_state=0,
    accelerator=accelerator, device=accelerator.device,
).fit(train)
states = [None] * accelerator.num_processes
torch.distributed.all_gather_object(states, model.module_.state_dict())
if accelerator.is_main_process:
    with open(sys.argv[1], "wb") as f:
        pickle.dump(
            {
                "model": model,
                "n_processes": accelerator.num_processes,
                "states": states,
                "steps": len(model.history_[-1]["batches"]),
            },
            f,
        )
# A clean end: no process tears the group down while another still uses it.
accelerator.wait_for_everyone()
accelerator.end_training()
"""


@pytest.mark.slow
def test_data_parallel_training_on_two_cpu_processes(tmp_path, monkeypatch):
    pytest.importorskip("accelerate")
    (tmp_path / "dp_model.py").write_text(_MODEL)
    (tmp_path / "worker.py").write_text(textwrap.dedent(_WORKER))
    out = tmp_path / "model.pkl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(tmp_path / "worker.py"),
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    monkeypatch.syspath_prepend(str(tmp_path))
    result = pickle.loads(out.read_bytes())
    assert result["n_processes"] == 2
    # Both processes end with the same parameters.
    first, second = result["states"]
    assert all(torch.equal(first[name], second[name]) for name in first)
    model = pickle.loads(pickle.dumps(result["model"]))
    assert model.accelerator is None
    X, _ = make_interactions(300, 200, random_state=0, return_X_y=True)
    train, test = train_test_split(X, random_state=0)
    single = MatrixFactorization(
        n_factors=16, max_epochs=10, lr=0.01, batch_size=1024, random_state=0
    ).fit(train)
    # Each process took as many steps (of 512 rows, over half the data) as
    # the single process (of 1024 rows, over all of it).
    assert result["steps"] == len(single.history_[-1]["batches"])
    distributed_ndcg, single_ndcg = model.score(test), single.score(test)
    assert abs(distributed_ndcg - single_ndcg) < 0.05
    assert distributed_ndcg > 2 * Popularity().fit(train).score(test)
    ids, _ = model.recommend([0, 1], k=5)
    assert ids.shape == (2, 5)
