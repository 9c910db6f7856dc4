"""RP3Beta, SLIM and ItemKNN's weightings: the math on hand-made data."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet

from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer
from sk_recsys.model_selection import train_test_split
from sk_recsys.models import EASE, SLIM, ItemKNN, Popularity, RP3Beta
from sk_recsys.models.rp3beta import item_transitions


@pytest.fixture(scope="module")
def split():
    X, _ = make_interactions(300, 120, random_state=0, return_X_y=True)
    return train_test_split(X, random_state=0)


# ------------------------------------------------------------------ RP3Beta


def test_two_step_walk_rows_sum_to_one_before_pruning():
    rng = np.random.default_rng(0)
    dense = (rng.random((30, 12)) < 0.3).astype(float)
    dense[0] = 0.0  # a user with nothing does not break the walk
    matrix = sp.csr_matrix(dense)
    transitions = item_transitions(matrix).toarray()
    reached = np.asarray(matrix.sum(0)).ravel() > 0
    np.testing.assert_allclose(transitions[reached].sum(1), 1.0)
    np.testing.assert_array_equal(transitions[~reached], 0.0)


def test_rp3beta_weights_are_the_penalised_pruned_walk(split):
    X_train, _ = split
    model = RP3Beta(alpha=0.8, beta=0.3, n_neighbors=7).fit(X_train)
    walk = item_transitions(model.interactions_, alpha=0.8).toarray()
    walk /= np.maximum(model.item_popularity_, 1) ** 0.3
    np.fill_diagonal(walk, 0.0)
    weights = model.coef_.toarray()
    assert ((weights > 0).sum(0) <= 7).all()  # the second, per-column pass
    for i in range(model.n_items_):
        kept = np.flatnonzero(weights[i])
        assert len(kept) <= 7
        np.testing.assert_allclose(weights[i, kept], walk[i, kept], rtol=1e-5)
        if len(kept) == 7:  # the largest ones were kept
            assert walk[i, kept].min() >= np.sort(walk[i])[-7] - 1e-6


def test_beta_lowers_the_rank_of_popular_items(split):
    X_train, _ = split
    users = np.unique(X_train.iloc[:, 0])[:50]

    def mean_popularity(model):
        items = model.recommend(users, k=10)[0]
        codes = np.searchsorted(model.items_, items.ravel())
        return model.item_popularity_[codes].mean()

    plain = RP3Beta(beta=0.0).fit(X_train)
    penalised = RP3Beta(beta=0.8).fit(X_train)
    assert mean_popularity(penalised) < mean_popularity(plain)


# --------------------------------------------------------------------- SLIM


def test_slim_weights_are_non_negative_with_a_zero_diagonal(split):
    X_train, _ = split
    model = SLIM(l1=0.5, l2=2.0, n_neighbors=1000, max_iter=1000).fit(X_train)
    weights = model.coef_.toarray()
    assert (weights >= 0).all()
    np.testing.assert_array_equal(np.diag(weights), 0.0)
    assert 0 < model.coef_.nnz < 0.5 * model.n_items_**2  # the L1 term sparsifies


@pytest.mark.parametrize("signed", [False, True])
def test_slim_column_is_the_elastic_net_of_that_item(split, signed):
    # signed values (binarize=False) take scikit-learn's path even with
    # numba: the compiled one visits only co-occurring items, exact only
    # for non-negative values
    X_train, _ = split
    y = np.random.default_rng(0).normal(size=len(X_train)) if signed else None
    model = SLIM(
        l1=0.5, l2=2.0, n_neighbors=1000, tol=1e-8, max_iter=5000, binarize=not signed
    )
    model.fit(X_train, y)
    matrix = model.interactions_.toarray().astype(float)
    if not signed:
        matrix = (matrix != 0).astype(float)
    j = int(np.argmax(matrix.sum(0)))
    others = matrix.copy()
    others[:, j] = 0.0
    n_users = matrix.shape[0]
    reference = ElasticNet(
        alpha=2.5 / n_users,
        l1_ratio=0.2,
        positive=True,
        fit_intercept=False,
        tol=1e-8,
        max_iter=5000,
    ).fit(others, matrix[:, j])
    np.testing.assert_allclose(
        model.coef_[:, [j]].toarray().ravel(), reference.coef_, atol=1e-5
    )


def test_slim_keeps_the_largest_weights_and_threads_agree(split):
    X_train, _ = split
    full = SLIM(l1=0.1, l2=1.0, n_neighbors=1000, max_iter=1000).fit(X_train)
    pruned = SLIM(l1=0.1, l2=1.0, n_neighbors=3, max_iter=1000, n_jobs=2).fit(X_train)
    columns = full.coef_.toarray()
    kept = pruned.coef_.toarray()
    assert ((kept > 0).sum(0) <= 3).all()
    for j in range(full.n_items_):
        expected = np.sort(columns[:, j])[::-1][:3]
        np.testing.assert_allclose(np.sort(kept[:, j])[::-1][:3], expected, rtol=1e-5)


def test_slim_all_keeps_every_weight_the_l1_penalty_leaves(split):
    X_train, _ = split
    every = SLIM(l1=0.1, l2=1.0, n_neighbors="all", max_iter=1000).fit(X_train)
    n_items = every.n_items_
    unpruned = SLIM(l1=0.1, l2=1.0, n_neighbors=n_items, max_iter=1000).fit(X_train)
    pruned = SLIM(l1=0.1, l2=1.0, n_neighbors=2, max_iter=1000).fit(X_train)
    np.testing.assert_array_equal(every.coef_.toarray(), unpruned.coef_.toarray())
    assert every.coef_.nnz > pruned.coef_.nnz  # there was something to prune
    with pytest.raises(ValueError, match="n_neighbors"):
        SLIM(n_neighbors="every").fit(X_train)


@pytest.mark.parametrize("n_neighbors", ["all", 3])
def test_slim_compiled_and_scikit_learn_paths_agree(split, monkeypatch, n_neighbors):
    # With numba, every column is solved by _kernels.slim_weights, which
    # visits only the items sharing a user with it and settles the nonzero
    # weights first; without, by scikit-learn's ElasticNet. Same optimum.
    from sk_recsys.models import _kernels

    if not _kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    X_train, _ = split
    params = dict(l1=0.3, l2=5.0, n_neighbors=n_neighbors, tol=1e-10, max_iter=10_000)
    compiled = SLIM(**params).fit(X_train)
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    reference = SLIM(**params).fit(X_train)
    assert compiled.n_unconverged_ == reference.n_unconverged_ == 0
    assert compiled.coef_.nnz > 0
    np.testing.assert_allclose(
        compiled.coef_.toarray(), reference.coef_.toarray(), atol=1e-6
    )


def test_slim_reports_columns_that_did_not_converge(split):
    X_train, _ = split
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = SLIM(l1=0.01, l2=0.01, max_iter=1, tol=1e-12).fit(X_train)
    assert model.n_unconverged_ > 0


def test_slim_refuses_no_penalty():
    with pytest.raises(ValueError, match="l1 \\+ l2 > 0"):
        SLIM(l1=0.0, l2=0.0).fit([[0, 0], [1, 1]])


# ------------------------------------------------------ shared by the three


@pytest.mark.parametrize(
    "model",
    [RP3Beta(), SLIM(l1=0.1, l2=1.0, max_iter=1000), EASE(l2=50.0)],
    ids=["rp3beta", "slim", "ease"],
)
def test_ranks_better_than_popularity_and_explains_its_scores(model, split):
    X_train, X_test = split
    ndcg = get_scorer("ndcg@10")
    model.fit(X_train)
    assert ndcg(model, X_test) > ndcg(Popularity().fit(X_train), X_test)
    user, item = model.users_[4], model.items_[10]
    n_seen = model.interactions_[4].nnz
    weights = model.explain(user, item, n=n_seen)["weight"]
    score = model.score_items([user], [item])[0, 0]
    assert weights.sum() == pytest.approx(score, abs=1e-5)


# ------------------------------------------------------------------ ItemKNN


def test_bm25_weighting_matches_implicits_formula():
    X = [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2], [2, 2], [3, 0]]
    y = np.array([1.0, 2.0, 1.0, 5.0, 1.0, 3.0, 1.0])
    model = ItemKNN(weighting="bm25", bm25_k1=1.5, bm25_b=0.5, shrinkage=0.0)
    model.fit(X, y)
    items = model.interactions_.T.toarray()  # item x user
    n_items = items.shape[0]
    idf = np.log(n_items) - np.log1p((items > 0).sum(0))
    length = 0.5 + 0.5 * items.sum(1) / items.sum(1).mean()
    weighted = np.where(
        items > 0, items * 2.5 / (1.5 * length[:, None] + items) * idf, 0.0
    )
    norms = np.linalg.norm(weighted, axis=1)
    cosine = weighted @ weighted.T / np.outer(norms, norms)
    np.fill_diagonal(cosine, 0.0)
    np.testing.assert_allclose(
        model.similarity_.toarray(), np.clip(cosine, 0, None), rtol=1e-5
    )


@pytest.mark.parametrize("weighting", ["tfidf", "bm25"])
def test_weightings_change_the_neighbours_and_still_rank(weighting, split):
    X_train, X_test = split
    ndcg = get_scorer("ndcg@10")
    plain = ItemKNN().fit(X_train)
    weighted = ItemKNN(weighting=weighting).fit(X_train)
    assert not np.allclose(plain.similarity_.toarray(), weighted.similarity_.toarray())
    assert ndcg(weighted, X_test) > ndcg(Popularity().fit(X_train), X_test)


def test_ease_matches_the_closed_form_on_a_catalog_above_the_block_size():
    # 700 items: the inversion recurses on blocks (below 512 it is Cholesky).
    X, _ = make_interactions(
        400, 700, interactions_per_user=30, random_state=2, return_X_y=True
    )
    model = EASE(l2=20.0).fit(X)
    matrix = (model.interactions_ != 0).toarray().astype(np.float64)
    precision = np.linalg.inv(matrix.T @ matrix + 20.0 * np.eye(model.n_items_))
    expected = -precision / np.diag(precision)
    np.fill_diagonal(expected, 0.0)
    assert model.n_items_ > 512
    np.testing.assert_allclose(model.coef_, expected, atol=1e-6)


def test_ease_in_float32_ranks_like_float64(split):
    X_train, _ = split
    double = EASE(l2=50.0).fit(X_train)
    single = EASE(l2=50.0, dtype="float32").fit(X_train)
    np.testing.assert_allclose(single.coef_, double.coef_, atol=1e-5)
    users = double.users_[:20]
    assert (
        single.recommend(users, k=5)[0] == double.recommend(users, k=5)[0]
    ).mean() > 0.95


def test_rp3beta_refuses_negative_weights():
    with pytest.raises(ValueError, match="non-negative"):
        RP3Beta().fit([[0, 0], [1, 1]], [1.0, -2.0])


@pytest.mark.parametrize("density", [0.02, 0.6])
def test_sparse_and_dense_blocks_keep_the_same_neighbours(density):
    # A long, mostly empty co-occurrence matrix is ranked where it is stored;
    # a dense one is densified. Both keep each row's k largest positive
    # entries, never the excluded one, and break ties by the lower column.
    import torch

    from sk_recsys.models.knn import top_k_rows

    rng = np.random.default_rng(0)
    matrix = sp.random(300, 900, density=density, format="csr", random_state=0)
    matrix.data = np.round(rng.normal(size=matrix.nnz) * 3).astype(np.float32)
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    exclude = rng.integers(-1, 900, size=300)
    dense = top_k_rows(
        lambda rows: torch.from_numpy(matrix[rows].toarray()),
        300,
        900,
        7,
        exclude=exclude,
    )
    kept = top_k_rows(lambda rows: matrix[rows], 300, 900, 7, exclude=exclude)
    assert (dense != kept).nnz == 0
    assert kept.nnz > 0 and (kept.data > 0).all()
    mine = np.flatnonzero(exclude >= 0)
    assert not np.asarray(kept[mine, exclude[mine]]).any()


def test_sparse_ranking_breaks_ties_by_the_lower_column():
    from sk_recsys.models.knn import top_k_rows

    matrix = sp.csr_matrix(np.array([[0, 2, 0, 2, 2, 0, 1] + [0] * 93], np.float32))
    kept = top_k_rows(lambda rows: matrix[rows], 1, 100, 2)
    assert kept.indices.tolist() == [1, 3]


def test_sparse_top_k_matches_a_per_row_sort():
    # Ties, zeros, negative values and rows shorter and longer than k: each
    # row keeps its k largest positive entries, ties by the lower column.
    from sk_recsys.models.knn import top_k_sparse_rows

    rng = np.random.default_rng(1)
    matrix = sp.random(60, 80, density=0.3, format="csr", random_state=1)
    matrix.data = np.round(rng.normal(size=matrix.nnz) * 2).astype(np.float32)
    for k in (1, 5, 30):
        kept = top_k_sparse_rows(matrix, k).toarray()
        expected = np.zeros(matrix.shape, np.float32)
        for i in range(matrix.shape[0]):
            row = matrix.getrow(i)
            order = np.lexsort((row.indices, -row.data))[:k]
            chosen = row.indices[order][row.data[order] > 0]
            expected[i, chosen] = matrix[i, chosen].toarray()
        np.testing.assert_array_equal(kept, expected)


@pytest.mark.parametrize("model", ["ItemKNN", "RP3Beta", "UserKNN"])
def test_sparse_and_dense_products_give_the_same_model(model, monkeypatch):
    # The co-occurrence product is a scipy sparse product on a long, sparse
    # catalog and torch's sparse-by-dense product on a dense one (by column
    # slices of the right factor on a large one); which one runs must not
    # change the fitted weights.
    # The compiled kernel (when numba is installed) must agree too.
    import sk_recsys.models as models
    from sk_recsys.models import _kernels, knn

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 60, 900), rng.integers(0, 80, 900)])
    fitted = []
    compiled = _kernels.AVAILABLE
    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    # always sparse; always dense, in one slice; dense, in slices of 3 columns
    for cost, cells in ((0, knn._CHUNK_CELLS), (10**9, knn._CHUNK_CELLS), (10**9, 200)):
        monkeypatch.setattr(knn, "_SPARSE_OP_COST", cost)
        monkeypatch.setattr(knn, "_CHUNK_CELLS", cells)
        fitted.append(getattr(models, model)(n_neighbors=10).fit(X))
    if compiled:
        monkeypatch.setattr(_kernels, "AVAILABLE", True)
        fitted.append(getattr(models, model)(n_neighbors=10).fit(X))
    weights = [getattr(m, "coef_", None) for m in fitted]
    if weights[0] is None:
        weights = [m.similarity_ for m in fitted]
    assert all(w.has_sorted_indices for w in weights)
    sparse = weights[0]
    assert sparse.nnz > 0
    for dense in weights[1:]:
        assert abs(sparse - dense).max() < 1e-6
        # same neighbours: the weights differ by float rounding only
        assert ((sparse != 0) != (dense != 0)).nnz == 0


# ------------------------------------------------------- compiled kernels


def _tied_matrix(rng, shape, density, low):
    # small integers: exact float sums, so many exact ties to break
    matrix = sp.random(*shape, density=density, format="csr", random_state=rng)
    matrix.data = rng.integers(low, 4, matrix.nnz).astype(np.float32)
    return matrix


def _expected_top_k(dense, k, own=None):
    """Each row's k largest positive cells, ties to the lower columns."""
    kept = np.zeros_like(dense)
    for i, row in enumerate(dense):
        row = row.copy()
        if own is not None and own[i] >= 0:
            row[own[i]] = 0
        order = np.lexsort((np.arange(len(row)), -row))[:k]
        chosen = order[row[order] > 0]
        kept[i, chosen] = row[chosen]
    return kept


@pytest.mark.parametrize("block_slots", [1 << 23, 7])
def test_compiled_product_top_k_keeps_each_rows_largest_entries(
    monkeypatch, block_slots
):
    from sk_recsys.models import _kernels

    if not _kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    # block_slots=7: a few rows a block, so the blocks' seams are crossed
    monkeypatch.setattr(_kernels, "_BLOCK_SLOTS", block_slots)
    rng = np.random.default_rng(0)
    for _ in range(15):
        n_rows, n_inner, n_cols = rng.integers(1, 40, 3)
        left = _tied_matrix(rng, (n_rows, n_inner), rng.uniform(0.05, 0.7), -1)
        right = _tied_matrix(rng, (n_inner, n_cols), rng.uniform(0.05, 0.7), 1)
        k = int(rng.integers(1, 10))
        own = rng.integers(-1, n_cols, n_rows)
        kept = _kernels.product_top_k(left, right, k, exclude=own)
        expected = _expected_top_k((left @ right).toarray(), k, own)
        np.testing.assert_array_equal(kept.toarray(), expected)
        assert kept.dtype == np.float32 and kept.shape == (n_rows, n_cols)


def test_compiled_top_k_columns_is_the_transposed_row_ranking():
    from sk_recsys.models import _kernels
    from sk_recsys.models.knn import top_k_sparse_rows

    if not _kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(1)
    for _ in range(15):
        shape = tuple(rng.integers(1, 40, 2))
        matrix = _tied_matrix(rng, shape, rng.uniform(0.05, 0.8), -2)
        k = int(rng.integers(1, 8))
        kept = _kernels.top_k_columns(matrix, k)
        np.testing.assert_array_equal(
            kept.toarray(), top_k_sparse_rows(matrix.T, k).T.toarray()
        )
        np.testing.assert_array_equal(
            kept.toarray(), _expected_top_k(matrix.toarray().T, k).T
        )


def test_compiled_kernels_follow_torch_threads():
    import torch

    from sk_recsys.models import _kernels

    if not _kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(2)
    left = _tied_matrix(rng, (200, 50), 0.2, 1)
    right = _tied_matrix(rng, (50, 300), 0.2, 1)
    previous = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            results.append(_kernels.product_top_k(left, right, 5))
    finally:
        torch.set_num_threads(previous)
    assert (results[0] != results[1]).nnz == 0


def test_compiled_kernels_leave_torch_threads_as_they_were():
    # numba starts its threads once a process, so a fresh interpreter; its
    # OpenMP layer used to set torch's count to every core on that start,
    # once torch had read its count (as any torch work before does).
    import subprocess
    import sys

    from sk_recsys.models import _kernels

    if not _kernels.AVAILABLE:
        pytest.skip("numba is not installed")
    script = (
        "import torch, sk_recsys\n"
        "torch.set_num_threads(1)\n"
        "torch.get_num_threads()\n"
        "sk_recsys.ItemKNN(n_neighbors=5).fit([[0, 1], [1, 1], [1, 2], [2, 0]])\n"
        "print(torch.get_num_threads())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1"]


def test_compiled_kernels_say_what_to_install(monkeypatch):
    from sk_recsys.models import _kernels

    monkeypatch.setattr(_kernels, "AVAILABLE", False)
    with pytest.raises(ImportError, match="numba"):
        _kernels.product_top_k(sp.eye(3, format="csr"), sp.eye(3, format="csr"), 1)
