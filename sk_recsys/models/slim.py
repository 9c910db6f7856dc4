"""SLIM: sparse linear item-item weights learnt by elastic-net regressions."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import RecommenderMixin
from . import _kernels
from ._item_item import ItemItemMixin
from .knn import top_k_sparse_columns

__all__ = ["SLIM"]


def _columns(matrix, targets, params):
    """Fit the elastic net of each target column; (rows, cols, values, unconverged)."""
    matrix = matrix.copy()  # this worker zeroes one column at a time
    model = ElasticNet(**params)
    rows, cols, values = [], [], []
    unconverged = 0
    for j in targets:
        start, stop = matrix.indptr[j], matrix.indptr[j + 1]
        if start == stop:
            continue
        target = matrix[:, [j]].toarray().ravel()
        saved = matrix.data[start:stop].copy()
        matrix.data[start:stop] = 0.0  # item j may not predict itself
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(matrix, target, check_input=False)
        matrix.data[start:stop] = saved
        unconverged += model.n_iter_ >= params["max_iter"]
        coef = model.coef_
        kept = np.flatnonzero(coef > 0)
        rows.append(kept)
        cols.append(np.full(len(kept), j))
        values.append(coef[kept])
    return rows, cols, values, unconverged


class SLIM(ItemItemMixin, RecommenderMixin, BaseEstimator):
    """Sparse LInear Methods for top-N recommendation (Ning & Karypis, 2011).

    Each item's column of the weight matrix ``W`` is a non-negative linear
    regression of that item's column of the (binary) interaction matrix
    ``X`` on every other item's::

        min_w  1/2 |x_j - X w|^2 + l2/2 |w|^2 + l1 |w|_1,
        w >= 0, w_j = 0,

    solved by coordinate descent in ``n_jobs`` threads. With numba
    installed (``sk-recsys[fast]``) a compiled kernel runs scikit-learn's
    updates and duality-gap stopping rule, visiting only the items that
    share a user with the target (no other weight can leave zero when ``X``
    is non-negative) and sweeping the nonzero weights until they settle
    between full sweeps; otherwise, or for negative values, scikit-learn's
    :class:`~sklearn.linear_model.ElasticNet` fits one column at a time on
    the sparse matrix. The two reach the same optimum.

    The L1 term makes ``W`` sparse; each column then keeps its
    ``n_neighbors`` largest weights (all of them with
    ``n_neighbors="all"``, the paper's SLIM and LensKit's). A user's
    score for item ``i`` is ``sum_j x_uj W_ji``: new users are folded in
    from ``history=`` without refitting and :meth:`explain` lists a user's
    history items by their term.

    Parameters
    ----------
    l1 : float, default=1.0
        L1 penalty (sparsity). In scikit-learn's terms, ``alpha = (l1 + l2)
        / n_users`` and ``l1_ratio = l1 / (l1 + l2)``.
    l2 : float, default=10.0
        L2 penalty.
    n_neighbors : int or "all", default=100
        Weights kept per item column; ``"all"`` keeps every weight the L1
        penalty leaves (slower to score, as many weights as the penalty
        allows).
    max_iter : int, default=100
        Coordinate-descent sweeps over every candidate item, per column (the
        compiled kernel's sweeps over the nonzero weights in between are not
        counted); columns that stop at the cap are counted in
        ``n_unconverged_`` and reported by one warning.
    tol : float, default=1e-4
        Coordinate-descent tolerance.
    binarize : bool, default=True
        Fit on ``X != 0``; False regresses the values of ``y``.
    n_jobs : int, default=None
        Threads (joblib's convention: None is 1, -1 all cores).

    Attributes
    ----------
    coef_ : scipy.sparse.csr_matrix of shape (n_items_, n_items_)
        ``W``: column ``i`` holds the weights of the items that predict
        ``i``; non-negative with a zero diagonal.
    n_unconverged_ : int
        Columns whose regression hit ``max_iter``.
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    References
    ----------
    X. Ning and G. Karypis. SLIM: Sparse Linear Methods for Top-N
    Recommender Systems. ICDM 2011.

    Examples
    --------
    >>> from sk_recsys.models import SLIM
    >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
    ...      ["cid", "tea"], ["cid", "pie"], ["dan", "tea"]]
    >>> model = SLIM(l1=0.01, l2=0.1).fit(X)
    >>> model.recommend(["dan"], k=1)[0].tolist()
    [['jam']]
    """

    _family = "linear"

    _parameter_constraints = {
        "l1": [Interval(numbers.Real, 0, None, closed="left")],
        "l2": [Interval(numbers.Real, 0, None, closed="left")],
        "n_neighbors": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"all"}),
        ],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "binarize": ["boolean"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        l1=1.0,
        l2=10.0,
        n_neighbors=100,
        max_iter=100,
        tol=1e-4,
        binarize=True,
        n_jobs=None,
    ):
        self.l1 = l1
        self.l2 = l2
        self.n_neighbors = n_neighbors
        self.max_iter = max_iter
        self.tol = tol
        self.binarize = binarize
        self.n_jobs = n_jobs

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Fit one elastic net per item.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1.
        y : array-like of shape (n_interactions,), default=None
            Interaction weights, read only when ``binarize=False``.
        item_features, user_features : DataFrame, default=None
            Side information indexed by raw id; only extends the catalog.

        Returns
        -------
        self : SLIM
        """
        self._validate_params()
        if self.l1 + self.l2 <= 0:
            raise ValueError("SLIM needs l1 + l2 > 0; set a positive penalty.")
        self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        matrix = sp.csc_matrix(
            self._history_values(self.interactions_), dtype=np.float64
        )
        matrix.sort_indices()
        n_jobs = min(effective_n_jobs(self.n_jobs), max(self.n_items_, 1))
        if _kernels.AVAILABLE and (matrix.data >= 0).all():
            weights, self.n_unconverged_ = _kernels.slim_weights(
                matrix,
                self.l1,
                self.l2,
                max_iter=self.max_iter,
                tol=self.tol,
                n_threads=n_jobs,
            )
        else:
            weights = self._fit_columns(matrix, n_jobs)
        if self.n_neighbors != "all":
            weights = top_k_sparse_columns(weights, self.n_neighbors)
        if self.n_unconverged_:
            warnings.warn(
                f"{self.n_unconverged_} of {self.n_items_} SLIM columns did not "
                f"converge within max_iter={self.max_iter}; raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_coef(weights)
        return self

    def _fit_columns(self, matrix, n_jobs):
        """``W`` by scikit-learn's ElasticNet, a column at a time in threads."""
        penalty = self.l1 + self.l2
        params = {
            "alpha": penalty / max(self.n_users_, 1),
            "l1_ratio": self.l1 / penalty,
            "positive": True,
            "fit_intercept": False,
            "copy_X": False,
            "precompute": False,
            "max_iter": self.max_iter,
            "tol": self.tol,
        }
        parts = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_columns)(matrix, targets, params)
            for targets in np.array_split(np.arange(self.n_items_), n_jobs)
        )
        self.n_unconverged_ = int(sum(part[3] for part in parts))
        shape = (self.n_items_, self.n_items_)
        rows = [r for part in parts for r in part[0]]
        if not rows:
            return sp.csr_matrix(shape, dtype=np.float32)
        cols = [c for part in parts for c in part[1]]
        values = [v for part in parts for v in part[2]]
        return sp.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
            shape=shape,
        )
