"""Mult-VAE: the variational autoencoder for collaborative filtering, via skorch."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils._param_validation import Interval
from torch.nn import functional as F

from .._config import chunk_rows
from ..data import InteractionDataset, interaction_matrix
from ..nn import MultVAELoss, MultVAEModule, gather_rows
from ..utils import resolve_device
from ._neural import NeuralRecommender

__all__ = ["MultVAE"]

# Users encoded and decoded per forward pass when scoring.
_SCORING_BLOCK = 256


def _binary(rows) -> np.ndarray:
    """Dense float32 rows with 1 at every stored entry (whatever its value)."""
    rows = sp.csr_matrix(rows, dtype=np.float32, copy=True)
    rows.data[:] = 1.0
    return rows.toarray()


class _UserRows:
    """Users as training rows: each batch is their binary rows, dense.

    The interaction matrix lives on the device in CSR form; a batch of
    users is gathered from it and scattered into a ``(batch, n_items)``
    block. A dataset for :class:`~sk_recsys.data.SliceIterator`, whose
    batches are then ``((users, rows), None)``.
    """

    def __init__(self, matrix: sp.csr_matrix, users, device):
        self.n_items = matrix.shape[1]
        self.indptr = torch.as_tensor(matrix.indptr.astype(np.int64)).to(device)
        self.items = torch.as_tensor(matrix.indices.astype(np.int32)).to(device)
        self.ones = torch.ones(len(self.items), device=device)
        self.users = torch.as_tensor(np.asarray(users, dtype=np.int32)).to(device)

    def take(self, rows):
        users = self.users[rows].long()
        owner, columns, values = gather_rows(self.indptr, self.items, self.ones, users)
        dense = torch.zeros(len(users), self.n_items, device=users.device)
        dense[owner, columns.long()] = values
        return users, dense, None

    def __len__(self) -> int:
        return len(self.users)


class MultVAE(NeuralRecommender):
    """Variational autoencoder with a multinomial likelihood (Liang et al., 2018).

    Each user is their binary row of the interaction matrix (``y`` is
    ignored: every interaction counts once). The encoder maps the
    L2-normalised row, with dropout on it during training, through tanh
    layers to a Gaussian over an ``n_factors``-dimensional code; the
    decoder maps a code back to logits over the catalog, and training
    maximises the multinomial log-likelihood of the row under their softmax
    minus ``beta`` times the KL divergence of the Gaussian from the
    standard normal. As in the authors' code, ``beta`` grows linearly with
    the training steps, ``min(anneal_cap, step / total_anneal_steps)``. No
    weight decay by default (the authors' ``lam=0`` for the VAE); set
    ``optimizer__weight_decay`` for one.

    Training batches are users, not interactions: the user-item matrix is
    put on ``device`` once in CSR form, and each batch of users is gathered
    from it into a dense block. Scores are the decoder's logits for the
    mean code of the user's row (no sampling, no dropout), computed for a
    fixed-size block of users at a time, so that a user's scores are the
    same whoever else is scored with them. Because a user *is* their row,
    a new user (or session) is folded in from ``history=`` by encoding that
    row, and a known user's ``history`` is added to their training row
    before encoding; the result is the same as for a fitted user with that
    row.

    With ``train_split=UserHoldout(...)``, ``valid_loss`` is the mean
    negative log-probability of each held-out item under the softmax of the
    user's scores (their training row encoded).

    Parameters
    ----------
    n_factors : int, default=200
        Dimension of the latent code.
    hidden : tuple of int, default=(600,)
        Widths of the encoder's hidden layers, from the items inwards; the
        decoder mirrors them. The paper's ``[n_items -> 600 -> 200]``.
    dropout : float, default=0.5
        Dropout on the normalised input rows during training.
    anneal_cap : float, default=0.2
        Largest weight ``beta`` of the KL term (the paper's choice). On a
        :class:`~sk_recsys.model_selection.UserHoldout` of MovieLens-100K
        ``ua.base``, 1.0 ranked better: best validation NDCG@10 within 150
        epochs 0.228, against 0.222 with 0.2 (0.233 with 1.0 and
        ``batch_size=100``).
    total_anneal_steps : int, default=200
        Training steps (batches) over which ``beta`` would grow from 0 to 1;
        it stops at ``anneal_cap`` (here after 40 steps, 20 epochs on
        MovieLens-100K). 0 uses ``anneal_cap`` from the start. The
        authors' code uses 200,000, which on MovieLens-100K (two steps an
        epoch) keeps ``beta`` near 0 throughout.
    lr : float, default=1e-3
    max_epochs : int, default=100
        Validation NDCG@10 on MovieLens-100K peaked near epoch 80.
    batch_size : int, default=500
        Users per training step (the paper's).
    optimizer, train_split, callbacks, device, random_state
        See :class:`NeuralRecommender`.
    **kwargs
        Every other skorch parameter (``optimizer__weight_decay``...).

    Attributes
    ----------
    module_ : MultVAEModule
        The trained encoder and decoder.
    history_ : skorch History
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    References
    ----------
    D. Liang, R. G. Krishnan, M. D. Hoffman and T. Jebara. Variational
    Autoencoders for Collaborative Filtering. WWW 2018.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import MultVAE
    >>> X, _ = make_interactions(200, 100, random_state=0, return_X_y=True)
    >>> model = MultVAE(n_factors=16, hidden=(32,), max_epochs=3, random_state=0)
    >>> ids, scores = model.fit(X).recommend([0, 1], k=3)
    >>> ids.shape
    (2, 3)

    A new user, folded in from the items they interacted with:

    >>> ids, _ = model.recommend([10**6], k=3, history=[[1, 2, 3]])
    >>> len(set(ids[0]) & {1, 2, 3})
    0
    """

    _family = "autoencoder"

    _skorch_defaults = {"max_epochs": 100, "batch_size": 500}

    _parameter_constraints = {
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "hidden": [tuple, list],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "anneal_cap": [Interval(numbers.Real, 0, None, closed="left")],
        "total_anneal_steps": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_factors=200,
        *,
        hidden=(600,),
        dropout=0.5,
        anneal_cap=0.2,
        total_anneal_steps=200,
        module=MultVAEModule,
        **kwargs,
    ):
        super().__init__(module, **{**self._skorch_defaults, **kwargs})
        self.n_factors = n_factors
        self.hidden = hidden
        self.dropout = dropout
        self.anneal_cap = anneal_cap
        self.total_anneal_steps = total_anneal_steps

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        if not all(
            isinstance(width, numbers.Integral) and width >= 1 for width in self.hidden
        ):
            raise ValueError(
                f"hidden={self.hidden!r} must list positive layer widths, e.g. (600,)."
            )

    def _module_params(self):
        return {
            "n_items": self.n_items_,
            "n_factors": self.n_factors,
            "hidden": tuple(self.hidden),
            "dropout": self.dropout,
        }

    def _default_criterion(self):
        return MultVAELoss()

    # ------------------------------------------------------------ training

    def _datasets(self, data, device):
        matrix = self.interactions_
        train = _UserRows(matrix, np.flatnonzero(np.diff(matrix.indptr)), device)
        valid = None
        if data.held_out is not None and len(data.held_out.users):
            held = data.held_out
            valid = InteractionDataset(held.users, held.items, None, device=device)
        return train, valid, None

    def _partial_dataset(self, X, rows, users, items):
        new = interaction_matrix(users, items, shape=self.interactions_.shape)
        return _UserRows(
            sp.csr_matrix(self.interactions_ + new),
            np.unique(users),
            resolve_device(self.device),
        )

    def _kl_weight(self) -> float:
        """``beta`` of the current training step (the authors' annealing).

        Steps are counted from the history (every training batch so far),
        so that ``warm_start``, ``partial_fit`` and a checkpoint's history
        continue the schedule.
        """
        if not self.total_anneal_steps:
            return float(self.anneal_cap)
        epochs = list(self.history)
        done = sum(epoch.get("train_batch_count", 0) for epoch in epochs[:-1])
        # This step's batch is already recorded in the current epoch.
        done += len(epochs[-1]["batches"]) - 1 if epochs else 0
        return min(float(self.anneal_cap), done / self.total_anneal_steps)

    def _forward_batch(self, Xi, yi=None):
        _, rows = Xi
        return self.module_(rows)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The negative ELBO of the batch's rows, KL weighted by ``beta``."""
        return self.criterion_(y_pred, X[1], beta=self._kl_weight())

    def validation_step(self, batch, **fit_params):
        """Negative log-probability of held-out (user, item) rows.

        A batch of user rows (the divergence guard re-checks the last
        training batch) gets the training objective, without dropout or
        sampling.
        """
        (users, items), _ = batch
        if items.dim() == 2:
            return super().validation_step(batch, **fit_params)
        self._set_training(False)
        with torch.no_grad():
            distinct, inverse = torch.unique(users, return_inverse=True)
            rows = self.interactions_[distinct.cpu().numpy()]
            log_p = F.log_softmax(self._score_history(rows), dim=1)
            log_p = log_p[inverse, items]
        return {"loss": -log_p.mean(), "y_pred": log_p}

    # ------------------------------------------------------------- scoring

    def _score_users(self, users):
        return self._score_history(self.interactions_[users])

    def _score_history(self, rows):
        """Encode the users' binary rows and decode their mean codes.

        The rows go through the network in blocks of a fixed number of rows
        (the last one padded): a float32 matrix product may round a row
        differently when the other rows change in number, and a user's
        scores must not depend on who else is scored with them.
        """
        self._set_training(False)
        device = resolve_device(self.device)
        block = min(_SCORING_BLOCK, chunk_rows(self.n_items_, device.type))
        n_rows = rows.shape[0]
        scores = torch.empty(n_rows, self.n_items_, device=device)
        dense = torch.zeros(block, self.n_items_)
        with torch.no_grad():
            for start in range(0, n_rows, block):
                stop = min(start + block, n_rows)
                dense.zero_()
                dense[: stop - start] = torch.from_numpy(_binary(rows[start:stop]))
                logits = self.module_.score_rows(dense.to(device))
                scores[start:stop] = logits[: stop - start]
        return scores

    def _predict_pairs(self, users, items):
        return self._gather_pairs(users, items, self._score_users)
