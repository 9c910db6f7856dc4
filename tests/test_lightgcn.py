"""LightGCN: propagation, scoring, fold-in and training that users rely on."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import movielens_home, requires_movielens

from sk_recsys.datasets import load_movielens, make_interactions
from sk_recsys.metrics import get_scorer, precision_at_k
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import LightGCN, Popularity
from sk_recsys.nn import LightGCNModule, normalized_adjacency
from sk_recsys.utils.estimator_checks import check_recommender

QUICK = {"n_factors": 16, "batch_size": 512, "lr": 0.01, "random_state": 0}

# Four users, five items: user 3 and item 4 have no edge.
INDPTR, INDICES = [0, 2, 5, 6, 6], [0, 1, 1, 2, 3, 1]


@pytest.fixture(scope="module")
def split():
    X, y = make_interactions(300, 150, random_state=0, return_X_y=True)
    return train_test_split(X, y, test_size=0.2, random_state=0)


@pytest.fixture(scope="module")
def trained(split):
    return LightGCN(**QUICK, max_epochs=15).fit(split[0])


def _dense_operator(indptr, indices, n_items):
    """D^-1/2 A D^-1/2 of the bipartite graph, dense, float64."""
    n_users = len(indptr) - 1
    R = np.zeros((n_users, n_items))
    for user in range(n_users):
        R[user, indices[indptr[user] : indptr[user + 1]]] = 1.0
    A = np.block([[np.zeros((n_users, n_users)), R], [R.T, np.zeros((n_items,) * 2)]])
    degree = A.sum(axis=1)
    scale = np.divide(1.0, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)
    return torch.from_numpy(scale[:, None] * A * scale[None, :])


def _codes(fitted_ids, ids):
    return pd.Index(fitted_ids).get_indexer(ids)


def _dense_layers(L, E, n_layers):
    layers = [E]
    for _ in range(n_layers):
        layers.append(L @ layers[-1])
    return layers


def test_passes_check_recommender():
    check_recommender(LightGCN(n_factors=8, max_epochs=1, batch_size=1024))


def test_normalized_adjacency_is_the_dense_formula():
    crow, col, values, degrees = normalized_adjacency(INDPTR, INDICES, 5)
    sparse = torch.sparse_csr_tensor(
        crow, col, values.double(), (9, 9), check_invariants=True
    )
    L = _dense_operator(INDPTR, INDICES, 5)
    np.testing.assert_allclose(sparse.to_dense(), L, rtol=1e-6)
    assert degrees.tolist() == [2, 3, 1, 0, 1, 3, 1, 1, 0]


@pytest.mark.parametrize("n_layers", [0, 1, 3])
def test_propagation_and_its_gradient_equal_the_dense_formula(n_layers):
    torch.manual_seed(0)
    module = LightGCNModule(INDPTR, INDICES, 5, n_factors=3, n_layers=n_layers)
    L = _dense_operator(INDPTR, INDICES, 5)
    E = module.embedding.weight.detach().double().requires_grad_(True)
    expected = torch.stack(_dense_layers(L, E, n_layers)).mean(dim=0)
    final = module.propagate()
    np.testing.assert_allclose(final.detach(), expected.detach(), rtol=1e-5, atol=1e-7)
    weights = torch.randn(9, 3, dtype=torch.float64)
    (final * weights.float()).sum().backward()
    (expected * weights).sum().backward()
    np.testing.assert_allclose(module.embedding.weight.grad, E.grad, rtol=1e-5)


def test_fitted_scores_are_dot_products_of_the_propagated_vectors(split):
    X_train, _, _, _ = split
    model = LightGCN(**QUICK, max_epochs=2).fit(X_train)
    matrix = model.interactions_
    L = _dense_operator(matrix.indptr, matrix.indices, model.n_items_)
    E = model.module_.embedding.weight.detach().double()
    final = torch.stack(_dense_layers(L, E, 3)).mean(dim=0).numpy()
    users, items = final[: model.n_users_], final[model.n_users_ :]
    np.testing.assert_allclose(
        model.score_items(model.users_), users @ items.T, rtol=1e-4, atol=1e-5
    )
    rows = _codes(model.users_, X_train.iloc[:50, 0])
    cols = _codes(model.items_, X_train.iloc[:50, 1])
    np.testing.assert_allclose(
        model.predict(X_train.iloc[:50]),
        (users[rows] * items[cols]).sum(axis=1),
        rtol=1e-4,
        atol=1e-5,
    )


def test_cached_vectors_are_refreshed_when_training_continues(split):
    X_train, _, _, _ = split
    model = LightGCN(**QUICK, max_epochs=1, warm_start=True).fit(X_train)
    users = model.users_[:10]
    first = model.score_items(users)
    np.testing.assert_array_equal(model.score_items(users), first)
    model.fit(X_train)
    after = model.score_items(users)
    assert not np.allclose(after, first)
    with torch.no_grad():
        expected = model.module_.propagate()
    n = model.n_users_
    codes = _codes(model.users_, users)
    np.testing.assert_allclose(
        after, (expected[codes] @ expected[n:].T).numpy(), rtol=1e-5, atol=1e-6
    )


def test_fold_in_propagates_to_a_new_user_node(split):
    X_train, _, _, _ = split
    model = LightGCN(**QUICK, max_epochs=2).fit(X_train)
    history = [3, 7, 20, 41]
    codes = _codes(model.items_, history)
    ids, scores = model.recommend([10**9], k=10, history=[history])
    # Layer k of the new user: sum_i e_i^(k-1) / sqrt(|H| d_i); final: the
    # mean over layers 0..3, layer 0 being 0.
    matrix = model.interactions_
    L = _dense_operator(matrix.indptr, matrix.indices, model.n_items_)
    E = model.module_.embedding.weight.detach().double()
    layers = _dense_layers(L, E, 3)
    n = model.n_users_
    degree = np.bincount(matrix.indices, minlength=model.n_items_)[codes]
    weights = torch.from_numpy(1.0 / np.sqrt(len(history) * degree))
    user = sum(weights @ layer[n:][codes] for layer in layers[:3]) / 4
    expected = (user @ torch.stack(layers).mean(dim=0)[n:].T).numpy()
    expected[codes] = -np.inf
    order = np.argsort(-expected, kind="stable")[:10]
    np.testing.assert_allclose(scores[0], expected[order], rtol=1e-4, atol=1e-6)
    assert set(ids[0]) == set(model.items_[order])


def test_folded_in_users_rank_nearly_as_well_as_trained_ones(split, trained):
    X_train, X_test, _, _ = split
    model = trained
    users = model.users_
    relevant = np.zeros((len(users), model.n_items_))
    rows = _codes(users, X_test.iloc[:, 0])
    cols = _codes(model.items_, X_test.iloc[:, 1])
    known = (rows >= 0) & (cols >= 0)
    relevant[rows[known], cols[known]] = 1.0

    def precision(ids):
        scores = np.zeros_like(relevant)
        positions = _codes(model.items_, ids.ravel()).reshape(ids.shape)
        np.put_along_axis(scores, positions, np.arange(10, 0, -1), axis=1)
        return precision_at_k(relevant, scores, k=10)

    trained, _ = model.recommend(users, k=10)
    histories = [
        model.items_[model.interactions_[u].indices] for u in range(len(users))
    ]
    folded, _ = model.recommend(
        np.arange(10**9, 10**9 + len(users)), k=10, history=histories
    )
    popular, _ = Popularity().fit(X_train).recommend(users, k=10)
    # About 0.41 against 0.42 and 0.13.
    assert precision(folded) > 0.9 * precision(trained)
    assert precision(folded) > 2 * precision(popular)


def test_no_layers_leaves_unknown_users_to_popularity(split):
    X_train, _, _, _ = split
    model = LightGCN(**QUICK, n_layers=0, max_epochs=1).fit(X_train)
    ids, _ = model.recommend([10**9], k=5, history=[[3, 7]], exclude_seen=False)
    top = np.argsort(-model.item_popularity_, kind="stable")[:5]
    assert set(ids[0]) == set(model.items_[top])


def test_seeded_fits_are_identical_whatever_the_thread_count(split):
    X_train, _, _, _ = split
    threads = torch.get_num_threads()
    try:
        fits = []
        for n in (1, 2):
            torch.set_num_threads(n)
            fits.append(LightGCN(**QUICK, max_epochs=2).fit(X_train))
    finally:
        torch.set_num_threads(threads)
    other = LightGCN(**{**QUICK, "random_state": 1}, max_epochs=2).fit(X_train)
    first, second = (fit.module_.embedding.weight for fit in fits)
    assert torch.equal(first, second)
    assert not torch.equal(first, other.module_.embedding.weight)


def test_l2_shrinks_the_free_vectors(split):
    X_train, _, _, _ = split
    norms = [
        LightGCN(**QUICK, l2=l2, max_epochs=3)
        .fit(X_train)
        .module_.embedding.weight.norm()
        .item()
        for l2 in (0.0, 1.0)
    ]
    assert norms[1] < 0.9 * norms[0]


def test_partial_fit_adds_the_new_edges_to_the_graph(split):
    X_train, X_test, _, _ = split
    model = LightGCN(**QUICK, max_epochs=1).fit(X_train)
    known = X_test[
        X_test.iloc[:, 0].isin(model.users_) & X_test.iloc[:, 1].isin(model.items_)
    ]
    model.partial_fit(known.iloc[:30])
    matrix = model.interactions_
    crow, col, values, _ = normalized_adjacency(
        matrix.indptr, matrix.indices, model.n_items_
    )
    assert torch.equal(model.module_.graph_crow, crow)
    assert torch.equal(model.module_.graph_col, col)
    assert torch.equal(model.module_.graph_values, values)


def test_ranks_better_than_popularity(split, trained):
    X_train, X_test, _, _ = split
    ndcg = get_scorer("ndcg@10")
    assert ndcg(trained, X_test) > 1.5 * ndcg(Popularity().fit(X_train), X_test)


@requires_movielens
def test_movielens_ua_well_above_popularity():
    X_train, X_test, _, _ = load_movielens(
        "100k", split="ua", data_home=movielens_home(), return_X_y=True
    )
    ndcg = get_scorer("ndcg@10")
    model = LightGCN(lr=0.03, batch_size=8192, max_epochs=3, random_state=0)
    # Popularity scores 0.133; three epochs reach 0.205.
    assert ndcg(model.fit(X_train), X_test) > 0.19


@pytest.mark.parametrize(
    "params", [{"n_layers": -1}, {"l2": -1.0}, {"negative_sampling": "rare"}]
)
def test_bad_hyperparameters_raise_in_fit(split, params):
    X_train, _, _, _ = split
    with pytest.raises(ValueError):
        LightGCN(**params).fit(X_train)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_trains_and_scores_on_cuda_like_the_formula(split):
    X_train, _, _, _ = split
    model = LightGCN(**QUICK, max_epochs=2, device="cuda").fit(X_train)
    assert model.module_.embedding.weight.device.type == "cuda"
    assert model.module_.graph_values.device.type == "cuda"
    with torch.no_grad():
        final = model.module_.propagate().cpu()
    n = model.n_users_
    np.testing.assert_allclose(
        model.score_items(model.users_[:10]),
        (final[:10] @ final[n:].T).numpy(),
        rtol=1e-4,
        atol=1e-5,
    )
