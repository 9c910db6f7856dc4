"""Matrix factorisation through skorch: explicit (MSE) or implicit (BPR, BCE)."""

from __future__ import annotations

import contextlib
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from ..nn import (
    BPRLoss,
    MatrixFactorizationModule,
    RatingMSELoss,
    SampledBCELoss,
    SampledSoftmaxLoss,
    ScoredBatch,
    VariationalMF,
    fold_in,
    history_contributions,
)
from ..utils._device import resolve_device
from ._neural import NeuralRecommender

__all__ = ["MatrixFactorization"]


class MatrixFactorization(NeuralRecommender):
    """Matrix factorisation, ``min |R - U V^T|^2 + l2 (|U|^2 + |V|^2)``.

    Each user and item gets a vector of ``n_factors`` numbers (plus biases);
    a score is ``mu + b_u + b_i + <p_u, q_i>``. The loss decides what is
    fitted:

    * ``"mse"``: the squared error to the ratings ``y`` (explicit feedback;
      ``predict`` is then on the rating scale);
    * ``"bpr"``: Bayesian personalised ranking, each observed item above
      ``n_negatives`` sampled ones (implicit feedback);
    * ``"bce"``: log loss with observed items as 1 and sampled items as 0;
    * ``"softmax"``: cross-entropy of each observed item against its
      ``n_negatives`` sampled ones (use tens to hundreds of negatives);
    * ``"auto"`` (default): ``"mse"`` when ``fit`` gets ``y``, else
      ``"bpr"``.

    The penalty ``l2`` applies to the vectors each batch touches, as in the
    per-rating form of the objective; ``optimizer__weight_decay`` works too
    (except with ``sparse=True``). For ratings, ``solver="variational"``
    finds the vectors by variational Bayes instead of gradient steps, with
    the penalty learned from the data: the most accurate choice (see
    ``solver``).
    Rating predictions are clipped to the range of ``y`` seen in ``fit``.
    Ranking scores the whole catalog with one matrix product per chunk of
    users on ``device``. New users are folded in from ``history=`` by
    solving for their vector with the item vectors fixed (ridge regression on
    their ratings for ``"mse"``; for the ranking losses, the implicit
    least-squares fold-in with unobserved items weighted
    ``len(history) / n_items``).

    Parameters
    ----------
    n_factors : int, default=64
        Dimension of the user and item vectors.
    loss : {"auto", "mse", "bpr", "bce", "softmax"}, default="auto"
    n_negatives : int, default=4
        Negatives sampled per observed row for ``"bpr"`` and ``"bce"``.
    negative_sampling : {"uniform", "popularity"}, default="uniform"
        How negatives are drawn (see :class:`~sk_recsys.data.NegativeSampler`).
    l2 : float or "auto", default="auto"
        Weight of the mean squared norm of the batch's vectors in the loss;
        ``"auto"`` is 0.1 for ``"mse"`` and 0.01 for the ranking losses
        (the best of a coarse search on MovieLens-100K, see
        ``benchmarks/NOTES.md``).
    solver : {"gradient", "variational"}, default="gradient"
        How the vectors are found.

        * ``"gradient"``: mini-batch gradient steps on the loss through
          skorch (``optimizer``, ``lr``, ``batch_size``); every loss.
        * ``"variational"`` (``loss="mse"`` only): mean-field variational
          Bayes (:class:`~sk_recsys.nn.VariationalMF`). Each epoch is one
          exact update of every user's and then every item's Gaussian
          posterior; the Gaussian priors of the user and item vectors (which
          take the place of ``l2``, unused here) and the noise variance are
          learned, and the vectors are the posterior means. On MovieLens-100K
          u1..u5 it reaches a mean RMSE of 0.897 with ``n_factors=30,
          max_epochs=10`` (0.913 with the gradient solver's defaults; see
          ``benchmarks/NOTES.md``). An epoch costs about
          ``nnz * (n_factors + 1) ** 2`` operations and holds
          ``max(n_users, n_items) * (n_factors + 1) ** 2`` numbers: keep
          ``n_factors`` to tens. ``partial_fit`` sweeps over all of
          ``interactions_``. Folded-in users are solved under the learned
          user prior.
    sparse : bool, default=False
        Sparse gradients for the embedding tables, for large catalogs: a step
        then updates only the rows its batch touched (and the optimizer
        keeps state for those rows only), rather than every row. The default
        ``optimizer=torch.optim.Adam`` becomes ``torch.optim.SparseAdam``
        (other optimizers must accept sparse gradients, e.g. ``SGD`` or
        ``Adagrad``). SparseAdam has no weight decay: regularise with
        ``l2``, which is in the loss. The global bias stays at its initial
        value (the mean rating for ``"mse"``), as SparseAdam cannot update a
        dense parameter.
    lr : float, default=3e-3
    max_epochs : int, default=30
    batch_size : int, default=1024
    optimizer : torch optimizer class, default=torch.optim.Adam
    train_split : UserHoldout or None, default=None
    callbacks : list or None, default=None
    device : str, default="cpu"
    random_state : int, RandomState instance or None, default=None
    **kwargs
        Every other skorch parameter (see :class:`NeuralRecommender`).

    Attributes
    ----------
    module_ : MatrixFactorizationModule
        The trained vectors: ``module_.user_factors.weight`` etc.
    loss_ : str
        The loss used (``"auto"`` resolved).
    l2_ : float
        The penalty used (``"auto"`` resolved; 0 with
        ``solver="variational"``).
    noise_variance_ : float or None
        With ``solver="variational"``, the learned variance of the ratings
        around the model's predictions; else None.
    user_prior_ : tuple of ndarray or None
        With ``solver="variational"``, the mean ``(n_factors + 1,)`` and
        covariance of the learned Gaussian prior of ``[p_u, b_u]``; else
        None.
    history_ : skorch History
        Losses (and validation scores) per epoch.
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import MatrixFactorization
    >>> X, y = make_interactions(200, 100, random_state=0, return_X_y=True)
    >>> model = MatrixFactorization(n_factors=16, max_epochs=5, random_state=0)
    >>> model.fit(X, y).loss_
    'mse'
    >>> ids, scores = model.recommend([0, 1], k=3)
    >>> ids.shape
    (2, 3)

    Ratings fitted by variational Bayes, with the penalty learned:

    >>> vb = MatrixFactorization(n_factors=8, solver="variational", max_epochs=5)
    >>> bool(vb.fit(X, y).noise_variance_ > 0)
    True
    """

    _family = "factorisation"

    _skorch_defaults = {"lr": 3e-3, "max_epochs": 30}

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "loss": [StrOptions({"auto", "mse", "bpr", "bce", "softmax"})],
        "n_negatives": [Interval(numbers.Integral, 1, None, closed="left")],
        "negative_sampling": [StrOptions({"uniform", "popularity"})],
        "l2": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "solver": [StrOptions({"gradient", "variational"})],
        "sparse": ["boolean"],
    }

    def __init__(
        self,
        n_factors=64,
        *,
        loss="auto",
        n_negatives=4,
        negative_sampling="uniform",
        l2="auto",
        solver="gradient",
        sparse=False,
        module=MatrixFactorizationModule,
        **kwargs,
    ):
        super().__init__(module, **{**self._skorch_defaults, **kwargs})
        self.n_factors = n_factors
        self.loss = loss
        self.n_negatives = n_negatives
        self.negative_sampling = negative_sampling
        self.l2 = l2
        self.solver = solver
        self.sparse = sparse

    def _configure(self, data, **features):
        loss = self.loss
        if loss == "auto":
            loss = "mse" if data.y is not None else "bpr"
        if loss == "mse" and data.y is None:
            raise ValueError(
                "loss='mse' fits ratings, but y is None; pass y or use loss='bpr' "
                "or 'bce' for implicit feedback."
            )
        if self.solver == "variational" and (loss != "mse" or self.sparse):
            raise ValueError(
                "solver='variational' fits ratings with dense vectors: it needs "
                f"loss='mse' (got {loss!r}) and sparse=False; use "
                "solver='gradient' otherwise."
            )
        self.loss_ = loss
        self.l2_ = (0.1 if loss == "mse" else 0.01) if self.l2 == "auto" else self.l2
        if self.solver == "variational":
            self.l2_ = 0.0
        self.noise_variance_ = self.user_prior_ = None
        if data.y is not None and len(data.y):
            self.rating_range_ = (float(data.y.min()), float(data.y.max()))

    def _module_params(self):
        explicit = self.loss_ == "mse"
        return {
            "n_users": self.n_users_,
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "global_bias": self.global_mean_ if explicit else 0.0,
            "user_bias": explicit,
            "sparse": self.sparse,
        }

    @contextlib.contextmanager
    def _training(self, indices=None):
        """Training; the variational posterior lives only as long."""
        with super()._training(indices):
            try:
                yield
            finally:
                self.__dict__.pop("_variational_", None)

    def _start_variational(self) -> VariationalMF:
        """The posterior, started at the current vectors."""
        module = self.module_

        def means(factors, bias):
            return torch.cat([factors.weight, bias.weight], dim=1).detach()

        return VariationalMF(
            self.interactions_,
            means(module.user_factors, module.user_bias),
            means(module.item_factors, module.item_bias),
            global_mean=float(module.global_bias.detach()),
            device=resolve_device(self.device),
        )

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """One epoch; with ``solver="variational"``, one sweep over all ratings.

        The sweep's expected squared error per rating is the epoch's
        ``train_loss``; callbacks see it as a single batch.
        """
        if not training or self.solver != "variational":
            return super().run_single_epoch(
                iterator, training, prefix, step_fn, **fit_params
            )
        variational = self.__dict__.get("_variational_")
        if variational is None:
            variational = self._variational_ = self._start_variational()
        self.notify("on_batch_begin", batch=None, training=True)
        error = variational.sweep()
        self._set_posterior_means(variational)
        self.history.record_batch(f"{prefix}_loss", error)
        self.history.record_batch(f"{prefix}_batch_size", variational.n_ratings)
        loss = torch.tensor(error)
        self.notify("on_batch_end", batch=None, training=True, loss=loss, y_pred=None)
        self.history.record(f"{prefix}_batch_count", 1)

    def _set_posterior_means(self, variational):
        module = self.module_
        k = self.n_factors
        with torch.no_grad():
            for side, factors, bias in (
                (variational.users, module.user_factors, module.user_bias),
                (variational.items, module.item_factors, module.item_bias),
            ):
                factors.weight.copy_(side.mean[:, :k])
                bias.weight.copy_(side.mean[:, k:])
        users = variational.users
        self.noise_variance_ = variational.noise
        self.user_prior_ = (
            users.prior_mean.cpu().numpy(),
            torch.linalg.inv(users.prior_precision).cpu().numpy(),
        )

    def initialize_optimizer(self, *args, **kwargs):
        """The optimizer; with ``sparse=True``, Adam becomes SparseAdam."""
        if not (self.sparse and self.optimizer is torch.optim.Adam):
            return super().initialize_optimizer(*args, **kwargs)
        params = [
            (name, param)
            for name, param in self.get_all_learnable_params()
            if param.requires_grad
        ]
        args, kwargs = self.get_params_for_optimizer("optimizer", params)
        if kwargs.pop("weight_decay", 0):
            raise ValueError(
                "sparse=True trains with torch.optim.SparseAdam, which has no "
                "weight decay; drop optimizer__weight_decay and set l2 instead."
            )
        self.optimizer_ = torch.optim.SparseAdam(*args, **kwargs)
        return self

    def _default_criterion(self):
        losses = {
            "mse": RatingMSELoss,
            "bpr": BPRLoss,
            "bce": SampledBCELoss,
            "softmax": SampledSoftmaxLoss,
        }
        return losses[self.loss_]()

    def _n_negatives(self):
        return 0 if self.loss_ == "mse" else self.n_negatives

    def _predicts_ratings(self):
        return self.loss_ == "mse"

    def _forward_batch(self, Xi, yi=None):
        """The scores, and the L2 term from the vectors they gathered.

        Observed and sampled items are scored in one forward pass that
        gathers each user's vector once. The penalty is the mean squared
        norm of the batch's user vectors plus that of its item vectors
        (observed and sampled), computed from the rows the scores gathered:
        one embedding backward pass per table, and no rows kept for the
        penalty alone.
        """
        users, items = Xi
        n_negatives = self._n_negatives()
        negatives = self._sampler_.sample(users, n_negatives) if n_negatives else None
        norms = bool(self.l2_)
        out = self.module_(users, items, negatives=negatives, norms=norms)
        out = out if isinstance(out, tuple) else (out,)
        positive, negative = out[0], out[1] if n_negatives else None
        penalty = None
        if norms:
            user_norms, item_norms = out[-2:]
            penalty = user_norms.mean() + item_norms.mean()
        return ScoredBatch(positive, negative, users, items, negatives, penalty=penalty)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The loss plus ``l2`` times the batch vectors' mean squared norm."""
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if y_pred.penalty is None:
            return loss
        return loss + self.l2_ * y_pred.penalty

    def _predict_pairs(self, users, items):
        scores = super()._predict_pairs(users, items)
        if self.loss_ == "mse":
            scores = np.clip(scores, *self.rating_range_)
        return scores

    def _item_vectors(self):
        # [q_i, b_i, 1] against [p_u, 1, b_u + mu]: the inner product is the
        # score itself.
        module = self.module_
        weight = module.item_factors.weight
        return torch.cat(
            [weight, module.item_bias.weight, torch.ones_like(weight[:, :1])], dim=1
        ).detach()

    def _query_vectors(self, codes, history):
        served = codes >= 0
        if history is not None:  # folded in exactly instead
            served &= history.lengths() == 0
        module = self.module_
        users = self._device_tensor(np.maximum(codes, 0))
        with torch.no_grad():
            factors = module.user_factors(users)
            offset = module.global_bias.expand(len(users)).clone()
            if module.user_bias is not None:
                offset = offset + module.user_bias(users)[:, 0]
        ones = torch.ones_like(factors[:, :1])
        return torch.cat([factors, ones, offset[:, None]], dim=1), served

    def _score_history(self, rows):
        """Fold in users given by sparse rows: solve for their vectors."""
        vectors, bias, _ = self._fold_in(rows)
        with torch.no_grad():
            return self.module_.score_vectors(vectors, bias)

    def _fold_in(self, rows):
        """``(vectors, user biases or None, (design, columns, targets, gram))``."""
        self._set_training(False)
        module = self.module_
        explicit = self.loss_ == "mse"
        coo = rows.tocoo()
        columns = self._device_tensor(coo.col.astype(np.int64))
        with torch.no_grad():
            items = module.item_factors.weight
            # Solve for [p_u, b_u] with the item vectors [q_j, 1] fixed.
            design = torch.cat([items, torch.ones_like(items[:, :1])], dim=1)
            if explicit:
                targets = self._device_tensor(coo.data.astype(np.float32)) - (
                    module.global_bias + module.item_bias.weight[columns, 0]
                )
            else:
                targets = torch.ones(len(columns), device=items.device)
            prior = None
            if getattr(self, "user_prior_", None) is not None:
                # The posterior mean under the learned prior N(m, C):
                # (sum z z^T + noise C^-1) p = sum z t + noise C^-1 m.
                mean, cov = (
                    self._device_tensor(a).to(items.dtype) for a in self.user_prior_
                )
                prior = (self.noise_variance_ * torch.linalg.inv(cov), mean)
            solution, gram = fold_in(
                design,
                self._device_tensor(coo.row.astype(np.int64)),
                columns,
                targets,
                rows.shape[0],
                l2=self.l2_,
                implicit=not explicit,
                prior=prior,
            )
        bias = solution[:, -1] if explicit else None
        return solution[:, :-1], bias, (design, columns, targets, gram)

    def explain(self, user, item, *, n=5):
        """The user's history items that most support the score of ``item``.

        The user's vector is re-derived from their history with the item
        vectors fixed (the fold-in), which makes the score a sum over
        history items (Hu, Koren and Volinsky, 2008): each weight is
        ``q_i^T A^-1 q_j t_j`` (``t_j`` the rating minus the biases, 1 for
        the ranking losses), the part of the score item ``j`` contributes.

        Parameters
        ----------
        user, item : scalar
            Raw ids.
        n : int, default=5
            Reasons returned.

        Returns
        -------
        explanation : DataFrame
            ``reason`` (a raw item id from the user's history) and ``weight``,
            largest first; empty for an unknown user or item.

        Examples
        --------
        >>> from sk_recsys.datasets import make_interactions
        >>> from sk_recsys.models import MatrixFactorization
        >>> X, _ = make_interactions(100, 50, random_state=0, return_X_y=True)
        >>> model = MatrixFactorization(n_factors=8, max_epochs=3, random_state=0)
        >>> model.fit(X).explain(0, 1, n=3).columns.tolist()
        ['reason', 'weight']
        """

        def weigh(u, i, row):
            _, _, (design, columns, targets, gram) = self._fold_in(row)
            with torch.no_grad():
                weights = history_contributions(design, columns, targets, gram[0], i)
            return weights.cpu().numpy()

        return self._explain_history(user, item, n, weigh)
