"""The variational autoencoder of Mult-VAE (Liang et al., WWW 2018).

A user is their row of the interaction matrix: an encoder maps the
L2-normalised row to a Gaussian over a latent code, a decoder maps a code to
logits over the catalog, and the row is scored under the multinomial
distribution of their softmax.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MultVAELoss", "MultVAEModule"]


def _mlp(widths) -> nn.Sequential:
    """Linear layers of ``widths`` with tanh between them (none after the last)."""
    layers = []
    for width_in, width_out in pairwise(widths):
        if layers:
            layers.append(nn.Tanh())
        linear = nn.Linear(width_in, width_out)
        # The authors' initialisation: Glorot weights, biases N(0, 0.001^2).
        nn.init.xavier_uniform_(linear.weight)
        nn.init.normal_(linear.bias, std=0.001)
        layers.append(linear)
    return nn.Sequential(*layers)


class MultVAEModule(nn.Module):
    """Encoder and decoder of Mult-VAE over rows of the interaction matrix.

    The encoder reads a user's row, normalised to unit L2 norm and (in
    training) passed through dropout, and maps it through tanh layers of
    widths ``hidden`` to the mean ``mu`` and log-variance of a Gaussian over
    an ``n_factors``-dimensional code. The decoder mirrors it, from a code
    to one logit per item. In training the code is drawn from the Gaussian
    (the reparameterisation ``mu + eps * std``); in evaluation it is
    ``mu``.

    Parameters
    ----------
    n_items : int
        Width of the rows (the catalog).
    n_factors : int, default=200
        Dimension of the latent code.
    hidden : tuple of int, default=(600,)
        Widths of the encoder's hidden layers, from the items inwards; the
        decoder uses them in reverse.
    dropout : float, default=0.5
        Dropout on the normalised input row during training.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import MultVAEModule
    >>> module = MultVAEModule(5, n_factors=2, hidden=(4,))
    >>> rows = torch.tensor([[1.0, 0.0, 1.0, 0.0, 0.0]])
    >>> logits, mu, logvar = module(rows)
    >>> logits.shape, mu.shape, logvar.shape
    (torch.Size([1, 5]), torch.Size([1, 2]), torch.Size([1, 2]))
    >>> module.score_rows(rows).shape
    torch.Size([1, 5])
    """

    def __init__(self, n_items, n_factors=200, hidden=(600,), dropout=0.5):
        super().__init__()
        hidden = tuple(hidden)
        self.n_factors = n_factors
        self.dropout = nn.Dropout(dropout)
        self.encoder = _mlp((n_items, *hidden, 2 * n_factors))
        self.decoder = _mlp((n_factors, *hidden[::-1], n_items))

    def encode(self, rows) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of the code of each row of ``rows`` (n, n_items)."""
        hidden = self.encoder(self.dropout(F.normalize(rows, dim=1)))
        return hidden[:, : self.n_factors], hidden[:, self.n_factors :]

    def decode(self, codes) -> torch.Tensor:
        """Logits over the catalog for codes of shape (n, n_factors)."""
        return self.decoder(codes)

    def forward(self, rows):
        """``(logits, mu, logvar)`` of rows; the code is sampled in training."""
        mu, logvar = self.encode(rows)
        codes = mu
        if self.training:
            codes = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(codes), mu, logvar

    def score_rows(self, rows) -> torch.Tensor:
        """Logits of every item for rows, decoded from ``mu`` (no sampling)."""
        mu, _ = self.encode(rows)
        return self.decode(mu)


class MultVAELoss(nn.Module):
    """Negative ELBO of Mult-VAE: multinomial log-likelihood plus ``beta`` KL.

    ``-sum_i x_i log softmax(logits)_i + beta * KL(N(mu, exp(logvar)) ||
    N(0, I))`` for each row ``x``, averaged over the rows. ``beta`` is the
    annealed KL weight, given at each step by the model.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import MultVAELoss
    >>> logits, rows = torch.zeros(1, 4), torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    >>> mu, logvar = torch.zeros(1, 2), torch.zeros(1, 2)
    >>> round(MultVAELoss()((logits, mu, logvar), rows).item(), 4)  # 2 log 4
    2.7726
    >>> round(MultVAELoss()((logits, mu + 1, logvar), rows, beta=0.5).item(), 4)
    3.2726
    """

    def forward(self, y_pred, y_true, beta=0.0) -> torch.Tensor:
        logits, mu, logvar = y_pred
        likelihood = (F.log_softmax(logits, dim=1) * y_true).sum(dim=1)
        kl = 0.5 * (logvar.exp() + mu * mu - 1.0 - logvar).sum(dim=1)
        return (beta * kl - likelihood).mean()
