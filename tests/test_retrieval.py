"""Approximate retrieval through an ItemIndex of a model's item vectors."""

import pickle
import warnings

import numpy as np
import pytest

from sk_recsys.datasets import make_interactions
from sk_recsys.models import EASE, HSTU, ImplicitALS, MatrixFactorization, SASRec

pytest.importorskip("faiss")

from sk_recsys.retrieval import ItemIndex


@pytest.fixture(scope="module")
def X():
    return make_interactions(
        n_users=300,
        n_items=1200,
        interactions_per_user=15,
        explicit=False,
        random_state=0,
        return_X_y=True,
    )[0]


def _fitted(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return model.fit(X)


MODELS = {
    "ials": lambda: ImplicitALS(n_factors=16, random_state=0),
    "mf": lambda: MatrixFactorization(loss="bpr", max_epochs=3, random_state=0),
    "sasrec": lambda: SASRec(max_epochs=2, random_state=0),
    "hstu": lambda: HSTU(max_epochs=2, random_state=0),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_probing_every_list_is_exact_search(name, X):
    model = _fitted(MODELS[name](), X)
    index = ItemIndex(n_lists=8, n_probe=8).fit(model)
    users = np.asarray(model.users_[:50])
    ids, scores = model.recommend(users, k=10, index=index)
    exact_ids, exact_scores = model.recommend(users, k=10)
    np.testing.assert_allclose(scores, exact_scores, rtol=1e-4, atol=1e-4)
    # Ids agree except where two items tie.
    assert (ids == exact_ids).mean() > 0.99


def test_training_items_are_excluded_and_history_served(X):
    model = _fitted(ImplicitALS(n_factors=16, random_state=0), X)
    index = ItemIndex(n_probe=2).fit(model)
    users = np.asarray(model.users_[:100])
    ids, _ = model.recommend(users, k=20, index=index)
    for user, row in zip(users, ids, strict=True):
        seen = set(X.loc[X.iloc[:, 0] == user].iloc[:, 1])
        assert not seen & set(row.tolist())
    # An unknown user with a history is folded in exactly (no vector).
    session = list(X.iloc[:5, 1])
    approximate = model.recommend([10**9], k=5, history=[session], index=index)
    exact = model.recommend([10**9], k=5, history=[session])
    np.testing.assert_array_equal(approximate[0], exact[0])
    assert not set(approximate[0][0]) & set(session)


def test_sequential_sessions_are_served_by_the_index(X):
    model = _fitted(SASRec(max_epochs=2, random_state=0), X)
    index = ItemIndex(n_lists=4, n_probe=4).fit(model)
    session = list(X.iloc[:4, 1])
    approximate = model.recommend([10**9], k=5, history=[session], index=index)
    exact = model.recommend([10**9], k=5, history=[session])
    np.testing.assert_allclose(approximate[1], exact[1], rtol=1e-4, atol=1e-4)


def test_approximate_lists_recall_the_exact_ones(X):
    model = _fitted(ImplicitALS(n_factors=16, random_state=0), X)
    users = np.asarray(model.users_)
    exact = model.recommend(users, k=20)[0]
    few = model.recommend(users, k=20, index=ItemIndex(n_probe=1).fit(model))[0]
    many = model.recommend(users, k=20, index=ItemIndex(n_probe=8).fit(model))[0]

    def recall(found):
        return np.mean(
            [len(set(a) & set(b)) / 20 for a, b in zip(found, exact, strict=True)]
        )

    assert recall(few) < recall(many)
    assert recall(many) > 0.9


def test_index_refuses_other_vectors_and_models(X):
    model = _fitted(ImplicitALS(n_factors=16, random_state=0), X)
    index = ItemIndex().fit(model)
    with pytest.raises(ValueError, match="does not score by inner products"):
        ItemIndex().fit(EASE().fit(X))
    with pytest.raises(ValueError, match="not both"):
        model.recommend([0], k=3, index=index, candidates=[1, 2, 3, 4])
    with pytest.raises(ValueError, match="n_probe"):
        ItemIndex(n_probe=0).fit(model)
    model.set_params(random_state=1).fit(X)
    with pytest.raises(ValueError, match="fit it again"):
        model.recommend([0], k=3, index=index)


def test_index_pickles(X):
    model = _fitted(ImplicitALS(n_factors=16, random_state=0), X)
    index = ItemIndex(n_probe=3).fit(model)
    users = np.asarray(model.users_[:20])
    restored = pickle.loads(pickle.dumps(index))
    np.testing.assert_array_equal(
        model.recommend(users, k=5, index=index)[0],
        model.recommend(users, k=5, index=restored)[0],
    )
