"""Implicit ALS: weighted matrix factorisation by alternating least squares."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import RecommenderMixin
from ..nn._als import ALSHalf, als_solve
from ..utils import resolve_device
from ._factors import FactorScoringMixin

__all__ = ["ImplicitALS"]

# float32's resolution of a preference of 1: a fit whose every score is below
# it predicts 0 everywhere. The penalty then dominates each solve, which is
# linear in the other side's vectors, so they only shrink further, through
# the subnormal range, where every product runs many times slower on a CPU
# (synthetic-1m, 114 factors, l2=0.678: a 336 s fit where its neighbours in
# the same search took under a minute).
_COLLAPSED = float(np.finfo(np.float32).eps)


class ImplicitALS(FactorScoringMixin, RecommenderMixin, BaseEstimator):
    """Matrix factorisation for implicit feedback by weighted ALS (iALS).

    Every (user, item) cell takes part: an observed interaction is a
    preference ``p_ui = 1`` held with confidence ``c_ui = 1 + alpha * y_ui``
    (or ``1 + alpha * log(1 + y_ui / eps)``), every other cell a ``p_ui = 0``
    with confidence 1 (Hu, Koren & Volinsky, 2008). The model minimises::

        sum_{u,i} c_ui (p_ui - x_u . y_i)^2
        + sum_u l2_u |x_u|^2 + sum_i l2_i |y_i|^2

    by alternating exact least-squares solves of all items given the users
    and of all users given the items. The penalty follows Rendle et al.
    (2022): ``l2_u = l2 * (sum_i c_ui) ** l2_exponent``, the sum over all
    items (``l2_exponent=0`` is the classic constant penalty, 1 scales it
    with the user's total weight). The solves run in torch on ``device``:
    rows are chunked by their number of interactions, each chunk's normal
    matrices are one batched matrix product, solved by a batched Cholesky
    factorisation (``solver="exact"``) or by ``cg_steps`` conjugate-gradient
    steps warm-started from the previous iteration (``solver="cg"``, as
    implicit does). A new user's vector is the exact solve of their history
    given the item factors, so ``recommend(..., history=...)`` folds them in
    without refitting.

    ALS has no gradient, loss or optimiser: its iterations are closed-form
    solves, so it is not trained through skorch's loop, which would only add
    a module and an optimiser that do nothing.

    Parameters
    ----------
    n_factors : int, default=64
        Dimension of the user and item vectors.
    max_iter : int, default=15
        Alternations (an item half-step then a user half-step).
    alpha : float, default=10.0
        Confidence slope: ``c = 1 + alpha * y`` (``y`` is 1 without weights).
    confidence : {"linear", "log"}, default="linear"
        ``"log"`` uses ``c = 1 + alpha * log(1 + y / eps)`` for counts with a
        long tail (play counts).
    eps : float, default=1.0
        Scale of ``y`` in the log confidence.
    l2 : float, default=0.01
        Regularisation weight (see ``l2_exponent``). A penalty strong enough
        shrinks every vector toward 0 from one iteration to the next. Once
        no score can reach float32's resolution of a preference of 1
        (``max |x_u| * max |y_i| < 2**-23``) the fit has collapsed: it stops
        there, sets every vector to 0 and warns (run on, it would only
        shrink them further, through float32's subnormal range, where every
        product runs many times slower on a CPU).
    l2_exponent : float, default=1.0
        How the penalty grows with a row's total confidence; 0 gives every
        user and item the same ``l2``.
    solver : {"exact", "cg"}, default="exact"
        ``"exact"`` solves the normal equations by Cholesky; ``"cg"`` runs
        ``cg_steps`` conjugate-gradient steps, which is cheaper per
        iteration when ``n_factors`` is large (O(nnz * f) instead of
        O(nnz * f^2)).
    cg_steps : int, default=3
        Conjugate-gradient steps per half-step with ``solver="cg"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial vectors: two fits with the same seed are identical.
    device : str, default="cpu"
        Torch device of fitting and scoring (``"cuda"`` for a GPU).
    verbose : int, default=0
        1 shows a progress bar over the iterations.

    Attributes
    ----------
    user_factors_ : ndarray of shape (n_users_, n_factors)
    item_factors_ : ndarray of shape (n_items_, n_factors)
    n_iter_ : int
        Alternations run: ``max_iter``, or fewer when the fit collapsed
        (see ``l2``).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    References
    ----------
    Y. Hu, Y. Koren and C. Volinsky. Collaborative Filtering for Implicit
    Feedback Datasets. ICDM 2008.

    S. Rendle, W. Krichene, L. Zhang and Y. Koren. Revisiting the
    Performance of iALS on Item Recommendation Benchmarks. RecSys 2022.

    G. Takacs, I. Pilaszy and D. Tikk. Applications of the Conjugate Gradient
    Method for Implicit Feedback Collaborative Filtering. RecSys 2011.

    Examples
    --------
    >>> from sk_recsys.models import ImplicitALS
    >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
    ...      ["cid", "tea"], ["cid", "jam"], ["dan", "tea"], ["eve", "pie"]]
    >>> model = ImplicitALS(n_factors=2, random_state=0).fit(X)
    >>> model.recommend(["dan"], k=1)[0].tolist()
    [['jam']]
    >>> model.recommend(["zoe"], k=1, history=[["jam"]])[0].tolist()
    [['tea']]
    """

    _family = "factorisation"

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "confidence": [StrOptions({"linear", "log"})],
        "eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "l2": [Interval(numbers.Real, 0, None, closed="neither")],
        "l2_exponent": [Interval(numbers.Real, 0, None, closed="left")],
        "solver": [StrOptions({"exact", "cg"})],
        "cg_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_factors=64,
        max_iter=15,
        alpha=10.0,
        confidence="linear",
        eps=1.0,
        l2=0.01,
        l2_exponent=1.0,
        solver="exact",
        cg_steps=3,
        random_state=None,
        device="cpu",
        verbose=0,
    ):
        self.n_factors = n_factors
        self.max_iter = max_iter
        self.alpha = alpha
        self.confidence = confidence
        self.eps = eps
        self.l2 = l2
        self.l2_exponent = l2_exponent
        self.solver = solver
        self.cg_steps = cg_steps
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Alternate the user and item solves ``max_iter`` times.

        A fit whose penalty has shrunk every score below float32's
        resolution stops early with every vector at 0, and warns (see
        ``l2``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1.
        y : array-like of shape (n_interactions,), default=None
            Non-negative interaction strengths (counts, play time) that set
            the confidence; ``None`` means 1 each. Repeated (user, item)
            rows add up.
        item_features, user_features : DataFrame, default=None
            Side information indexed by raw id; only extends the catalog
            (items without interactions get zero vectors).

        Returns
        -------
        self : ImplicitALS
        """
        self._validate_params()
        device = resolve_device(self.device)
        data = self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        if data.y is not None and (np.asarray(data.y) < 0).any():
            raise ValueError(
                "ImplicitALS reads y as non-negative interaction strengths; "
                "shift or clip negative values (or pass y=None)."
            )
        extra = self._extra_confidence(self.interactions_)
        f = self.n_factors
        users = ALSHalf(extra, self.l2, self.l2_exponent, f, device)
        items = ALSHalf(extra.T.tocsr(), self.l2, self.l2_exponent, f, device)
        rng = check_random_state(self.random_state)
        scale = 0.1 / np.sqrt(f)
        user_factors = torch.as_tensor(
            rng.normal(0.0, scale, (self.n_users_, f)), dtype=torch.float32
        ).to(device)
        item_factors = torch.as_tensor(
            rng.normal(0.0, scale, (self.n_items_, f)), dtype=torch.float32
        ).to(device)
        steps = None if self.solver == "exact" else self.cg_steps
        iterations = range(self.max_iter)
        if self.verbose:
            from tqdm.auto import tqdm

            iterations = tqdm(iterations, desc="ImplicitALS", unit="iteration")
        # Items first, so the users end solved against the final items: a
        # fitted user's vector is then the fold-in of their history.
        self.n_iter_ = 0
        for _ in iterations:
            items.solve(item_factors, user_factors, cg_steps=steps)
            users.solve(user_factors, item_factors, cg_steps=steps)
            self.n_iter_ += 1
            # Cauchy-Schwarz: no |score| exceeds the product of the norms.
            largest = user_factors.norm(dim=1).max() * item_factors.norm(dim=1).max()
            if float(largest) < _COLLAPSED:
                user_factors.zero_()
                item_factors.zero_()
                warnings.warn(
                    f"ImplicitALS's penalty (l2={self.l2}, l2_exponent="
                    f"{self.l2_exponent}) shrank every score below {_COLLAPSED:.1e} "
                    f"after {self.n_iter_} of max_iter={self.max_iter} iterations: "
                    "the fit collapsed, so it stopped with every vector at 0 and "
                    "every score is 0; lower l2 or l2_exponent.",
                    UserWarning,
                    stacklevel=2,
                )
                break
        self._set_factors(user_factors, item_factors)
        return self

    def _extra_confidence(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        """``c - 1`` at the stored entries of ``rows``."""
        rows = sp.csr_matrix(rows, dtype=np.float32, copy=True)
        values = np.clip(rows.data, 0.0, None)
        if self.confidence == "log":
            values = np.log1p(values / self.eps)
        rows.data = (self.alpha * values).astype(np.float32)
        return rows

    def _user_vectors(self, rows: sp.csr_matrix) -> torch.Tensor:
        return als_solve(
            self._extra_confidence(rows),
            self._item_factors_device_,
            self.l2,
            self.l2_exponent,
            self._item_factors_device_.device,
        )

    def _score_history(self, rows):
        return self._user_vectors(rows) @ self._item_factors_device_.T

    def explain(self, user, item, *, n=5):
        """The user's history items that most support the score of ``item``.

        With ``W_u = (Y^T C_u Y + l2_u I)^-1`` the user's exact solve, the
        score is ``y_i^T W_u sum_j c_uj y_j``: history item ``j`` contributes
        ``c_uj y_i^T W_u y_j`` (Hu et al., 2008, section 5). The parts add up
        to the user's score: with ``solver="exact"`` a fitted user's vector
        is this solve (users are solved last), and a ``history=`` fold-in
        always is.

        Parameters
        ----------
        user, item : scalar
            Raw ids.
        n : int, default=5
            Reasons returned.

        Returns
        -------
        explanation : DataFrame
            ``reason`` (a raw item id from the user's history) and ``weight``
            (its additive part of the score), largest first; empty for an
            unknown user or item.

        Examples
        --------
        >>> from sk_recsys.models import ImplicitALS
        >>> X = [["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "jam"],
        ...      ["cid", "tea"], ["cid", "pie"], ["dan", "tea"], ["dan", "rye"]]
        >>> model = ImplicitALS(n_factors=3, random_state=0).fit(X)
        >>> model.explain("dan", "jam")["reason"].tolist()
        ['tea', 'rye']
        """

        def weigh(u, i, row):
            extra = self._extra_confidence(row)
            history = torch.from_numpy(self.item_factors_[row.indices]).double()
            target = torch.from_numpy(self.item_factors_[i]).double()
            everything = torch.from_numpy(self.item_factors_).double()
            total = self.n_items_ + extra.data.sum()
            normal = everything.T @ everything
            normal += history.T @ (history * torch.from_numpy(extra.data)[:, None])
            normal += self.l2 * total**self.l2_exponent * torch.eye(self.n_factors)
            through = history @ torch.linalg.solve(normal, target)
            return ((1.0 + extra.data) * through.numpy()).astype(np.float64)

        return self._explain_history(user, item, n, weigh)
