"""Bayesian probabilistic matrix factorisation by Gibbs sampling (BPMF)."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from scipy.stats import wishart
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import RecommenderMixin
from ..utils import resolve_device
from ._factors import FactorScoringMixin

__all__ = ["BayesianMF"]


class BayesianMF(FactorScoringMixin, RecommenderMixin, BaseEstimator):
    """Bayesian matrix factorisation, sampled by Gibbs (Salakhutdinov & Mnih, 2008).

    The model of :class:`MatrixFactorization` with ``loss="mse"``,
    ``r_ui ~ N(mu + <p_u, q_i>, 1 / alpha)``, but with Gaussian priors on the
    factors whose means and precisions get Gaussian-Wishart hyperpriors, so
    the regularisation is learnt rather than tuned. Instead of one point
    estimate it averages the predictions of ``n_samples`` posterior samples,
    which is what makes it accurate on small, sparse rating data: on the
    MovieLens-100K folds u1..u5 it predicts ratings better than any point
    estimate of the same model we could tune (see ``benchmarks/NOTES.md``).

    Every Gibbs sweep is vectorised on ``device``: the per-user (per-item)
    posterior precisions ``Lambda + alpha * sum_j q_j q_j^T`` are one sparse
    times dense product over the interactions, followed by a batched
    Cholesky factorisation; no loop runs over users, items or ratings. The
    kept samples are stored side by side, so scoring every item for a user
    is still one matrix product: ``mean_s <p_u^s, q_i^s>`` equals the dot
    product of the concatenated, ``1/sqrt(n_samples)``-scaled sample vectors.

    The sampler runs on the ratings' residuals in units of their standard
    deviation, where its priors are calibrated, and scales back: ratings of
    any scale fit alike (ratings times ``c`` predict times ``c``).

    With implicit feedback (``y=None``), each sweep pairs the observed
    interactions (value 1) with as many uniformly drawn (user, item) pairs
    (value 0), redrawn every sweep; on sparse data almost all of them are
    unobserved, and the few that are not only soften their pair's target.

    Parameters
    ----------
    n_factors : int, default=10
        Dimension of the factors (the BPMF paper's smallest setting; on the
        MovieLens-100K folds 10 predicted better than 30).
    n_samples : int, default=100
        Posterior samples averaged after the burn-in.
    burn_in : int, default=50
        Sweeps discarded before the first kept sample.
    alpha : float or "auto", default="auto"
        Precision of the rating noise, in the units of ``y``; ``"auto"``
        samples it too, under a Gamma(1, 1) prior on the precision of the
        ratings in units of their standard deviation.
    beta0 : float, default=2.0
        Strength of the hyperprior on the factor means.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampler: two fits with the same seed are identical.
    device : str, default="cpu"
        Torch device of the sampler and of scoring.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray of shape (n_users_ or n_items_, k)
        The kept samples side by side (``k = n_factors * n_samples``), each
        scaled by ``sqrt(std(y) / n_samples)`` (``std(y)`` is 1 for
        implicit feedback).
    alpha_ : float
        The noise precision in the units of ``y`` (the mean of its samples
        when ``alpha="auto"``).
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Notes
    -----
    The stored samples take ``4 * (n_users_ + n_items_) * n_factors *
    n_samples`` bytes: about 10 MB for MovieLens-100K with the defaults.

    References
    ----------
    R. Salakhutdinov and A. Mnih. Bayesian Probabilistic Matrix Factorization
    using Markov Chain Monte Carlo. ICML 2008.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import BayesianMF
    >>> X, y = make_interactions(100, 50, random_state=0, return_X_y=True)
    >>> model = BayesianMF(n_factors=4, n_samples=10, burn_in=5, random_state=0)
    >>> model = model.fit(X, y)
    >>> prediction = model.predict(X[:3])
    >>> bool(((1 <= prediction) & (prediction <= 5)).all())
    True
    """

    _family = "factorisation"

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "burn_in": [Interval(numbers.Integral, 0, None, closed="left")],
        "alpha": [
            Interval(numbers.Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "beta0": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        n_factors=10,
        n_samples=100,
        burn_in=50,
        alpha="auto",
        beta0=2.0,
        random_state=None,
        device="cpu",
    ):
        self.n_factors = n_factors
        self.n_samples = n_samples
        self.burn_in = burn_in
        self.alpha = alpha
        self.beta0 = beta0
        self.random_state = random_state
        self.device = device

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Sample the posterior of the factors and keep ``n_samples`` of them.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1.
        y : array-like of shape (n_interactions,), default=None
            Ratings; ``None`` means implicit feedback.
        item_features, user_features : DataFrame, default=None
            Side information indexed by raw id; only extends the catalog
            (items without interactions are drawn from the prior).

        Returns
        -------
        self : BayesianMF
        """
        self._validate_params()
        device = resolve_device(self.device)
        data = self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        self.explicit_ = data.y is not None
        rng = check_random_state(self.random_state)
        generator = torch.Generator(device=device)
        generator.manual_seed(int(rng.randint(2**31 - 1)))
        sampler = _GibbsSampler(
            self.n_users_,
            self.n_items_,
            self.n_factors,
            beta0=float(self.beta0),
            device=device,
            rng=rng,
            generator=generator,
        )
        users = torch.as_tensor(data.users, device=device).long()
        items = torch.as_tensor(data.items, device=device).long()
        values = None if data.y is None else torch.as_tensor(data.y, device=device)
        # The sampler works on ratings in units of their spread, where its
        # priors (W0 = I, the Gamma(1, 1) noise prior) are calibrated, so
        # ratings of any scale fit alike: ratings times c give predictions
        # times c (ratings in the hundreds of millions made its Wishart
        # draws singular).
        spread = 1.0 if values is None else float(values.double().std(correction=0))
        if not np.isfinite(spread) or spread == 0.0:
            spread = 1.0
        # the noise precision in units of the spread (2: the first sweep's)
        alpha = 2.0 if self.alpha == "auto" else float(self.alpha) * spread**2
        kept_users, kept_items, alphas = [], [], []
        for sweep in range(self.burn_in + self.n_samples):
            if values is None:
                u, i, r = sampler.with_negatives(users, items)
            else:
                u, i, r = users, items, values
            mean = r.mean() if values is None else float(self.global_mean_)
            residual = (r - mean) / spread
            sampler.sweep(u, i, residual, alpha)
            if self.alpha == "auto":
                alpha = sampler.noise_precision(u, i, residual)
            if sweep >= self.burn_in:
                kept_users.append(sampler.user_factors)
                kept_items.append(sampler.item_factors)
                alphas.append(alpha)
        scale = np.sqrt(spread / self.n_samples)
        self._set_factors(
            torch.cat(kept_users, 1) * scale, torch.cat(kept_items, 1) * scale
        )
        self.offset_ = self.global_mean_ if self.explicit_ else 0.0
        self.alpha_ = float(np.mean(alphas)) / spread**2
        return self

    def _predicts_ratings(self):
        return self.explicit_


class _GibbsSampler:
    """State and conditional draws of the BPMF Gibbs sampler (torch, float64)."""

    def __init__(self, n_users, n_items, n_factors, *, beta0, device, rng, generator):
        self.n_users, self.n_items, self.d = n_users, n_items, n_factors
        self.beta0 = beta0
        self.device = device
        self.rng = rng
        self.generator = generator
        self.user_factors = 0.1 * self._randn(n_users, n_factors)
        self.item_factors = 0.1 * self._randn(n_items, n_factors)

    def _randn(self, *shape):
        return torch.randn(
            *shape, generator=self.generator, device=self.device, dtype=torch.float64
        )

    def with_negatives(self, users, items):
        """The observed pairs (1) and as many uniformly drawn pairs (0)."""
        n = len(users)
        neg_users = torch.randint(
            self.n_users, (n,), generator=self.generator, device=self.device
        )
        neg_items = torch.randint(
            self.n_items, (n,), generator=self.generator, device=self.device
        )
        ones = torch.ones(n, dtype=torch.float64, device=self.device)
        return (
            torch.cat([users, neg_users]),
            torch.cat([items, neg_items]),
            torch.cat([ones, torch.zeros_like(ones)]),
        )

    def sweep(self, users, items, residual, alpha):
        """Draw the hyperparameters and factors of users, then of items."""
        residual = residual.to(torch.float64)
        mean, precision = self._hyper(self.user_factors)
        self.user_factors = self._factors(
            users,
            items,
            residual,
            self.item_factors,
            self.n_users,
            mean,
            precision,
            alpha,
        )
        mean, precision = self._hyper(self.item_factors)
        self.item_factors = self._factors(
            items,
            users,
            residual,
            self.user_factors,
            self.n_items,
            mean,
            precision,
            alpha,
        )

    def noise_precision(self, users, items, residual) -> float:
        """Draw the rating-noise precision from its Gamma(1, 1)-prior posterior."""
        fitted = (self.user_factors[users] * self.item_factors[items]).sum(1)
        sse = float(((residual.to(torch.float64) - fitted) ** 2).sum())
        return float(self.rng.gamma(1.0 + len(users) / 2, 1.0 / (1.0 + sse / 2)))

    def _hyper(self, factors):
        """Draw (mean, precision) of the factors' prior from its Gaussian-Wishart."""
        x = factors.cpu().numpy()
        n, d = x.shape
        x_bar = x.mean(0)
        spread = np.cov(x, rowvar=False, bias=True).reshape(d, d)
        beta_n = self.beta0 + n
        scale_inv = (
            np.eye(d) + n * spread + (self.beta0 * n / beta_n) * np.outer(x_bar, x_bar)
        )
        scale = np.linalg.inv(scale_inv)
        precision = np.atleast_2d(
            wishart.rvs(df=d + n, scale=(scale + scale.T) / 2, random_state=self.rng)
        )
        covariance = np.linalg.inv(beta_n * precision)
        mean = self.rng.multivariate_normal(
            n * x_bar / beta_n, (covariance + covariance.T) / 2
        )
        as_tensor = torch.as_tensor
        return (
            as_tensor(mean, device=self.device, dtype=torch.float64),
            as_tensor(precision, device=self.device, dtype=torch.float64),
        )

    def _factors(self, rows, cols, residual, other, n_rows, mean, precision, alpha):
        """Draw every row's factors from its Gaussian conditional, all at once."""
        d = self.d
        indices = torch.stack([rows, cols])
        shape = (n_rows, other.shape[0])
        ones = torch.sparse_coo_tensor(
            indices, torch.ones_like(residual), shape, check_invariants=False
        ).coalesce()
        weighted = torch.sparse_coo_tensor(
            indices, residual, shape, check_invariants=False
        ).coalesce()
        # sum_j q_j q_j^T for every row: the interaction matrix times the
        # flattened outer products of the other side's factors.
        outer = (other[:, :, None] * other[:, None, :]).reshape(-1, d * d)
        row_precision = precision + alpha * torch.sparse.mm(ones, outer).reshape(
            n_rows, d, d
        )
        rhs = alpha * torch.sparse.mm(weighted, other) + (precision @ mean)
        cholesky = torch.linalg.cholesky(row_precision)
        center = torch.cholesky_solve(rhs[:, :, None], cholesky)[:, :, 0]
        noise = self._randn(n_rows, d, 1)
        draw = torch.linalg.solve_triangular(
            cholesky.transpose(1, 2), noise, upper=True
        )[:, :, 0]
        return center + draw
