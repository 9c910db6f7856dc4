"""Data-parallel training of the neural recommenders with Hugging Face Accelerate.

skorch's :class:`~skorch.hf.AccelerateMixin` prepares the module and the
optimizer for torch DDP, but expects a torch ``DataLoader`` (which
``accelerate`` shards) and skorch's own training step. Our training data are
sliced by :class:`~sk_recsys.data.SliceIterator`, and our step scores sampled
negatives: :class:`DataParallelMixin` shards the slicing iterator by rank,
keeps our step, and reaches the model's own methods (``penalty``,
``score_all``) through the DDP wrapper.
"""

from __future__ import annotations

import contextlib

import torch
from skorch.callbacks import LRScheduler
from skorch.hf import AccelerateMixin

from ..data import SliceIterator
from ._neural import NeuralRecommender

__all__ = ["DataParallelMixin"]


class DataParallelMixin(AccelerateMixin):
    """Train a :class:`NeuralRecommender` on several processes (torch DDP).

    Put it first in the bases of a model class: ``class
    DistributedMF(DataParallelMixin, MatrixFactorization)``. Start one process
    per device with ``accelerate launch`` (or ``torchrun``); each runs the
    same script on the same data. Every process trains on its own
    ``1 / n_processes`` share of the rows in each epoch and gradients are
    averaged across processes at each step, so an epoch takes
    ``1 / n_processes`` of the steps, each on ``n_processes * batch_size``
    rows. The processes end with identical models; the fitted estimator
    pickles (without its accelerator) and loads on one machine, on CPU.

    Parameters
    ----------
    *args, **kwargs
        The model's own parameters.
    accelerator : accelerate.Accelerator
        E.g. ``Accelerator()`` (GPUs) or ``Accelerator(cpu=True)`` (CPU
        processes, gloo backend).
    device : str or torch.device, default="cpu"
        Must be the accelerator's device (``accelerator.device``): the
        training tensors and the scoring live there.
    unwrap_after_train : bool, default=True
        Unwrap the module after ``fit`` (needed to pickle the model).

    Examples
    --------
    Run with ``accelerate launch --num_processes 2 --cpu train.py``; on one
    process it trains as the model alone does:

    >>> from accelerate import Accelerator
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import DataParallelMixin, MatrixFactorization
    >>> class DistributedMF(DataParallelMixin, MatrixFactorization):
    ...     pass
    >>> accelerator = Accelerator(cpu=True)
    >>> X, _ = make_interactions(100, 50, random_state=0, return_X_y=True)
    >>> model = DistributedMF(n_factors=8, max_epochs=2, random_state=0,
    ...                       accelerator=accelerator, device=accelerator.device)
    >>> model.fit(X).recommend([0], k=3)[0].shape
    (1, 3)
    """

    def __init__(
        self, *args, accelerator, device="cpu", unwrap_after_train=True, **kwargs
    ):
        super().__init__(
            *args,
            accelerator=accelerator,
            device=device,
            unwrap_after_train=unwrap_after_train,
            **kwargs,
        )

    def _validate_params(self):
        # skorch wants device=None when accelerate places the module; ours must
        # name that device, where the training tensors and scoring live.
        super(AccelerateMixin, self)._validate_params()
        if self.accelerator is None:
            raise ValueError(
                f"{type(self).__name__} has no accelerator (it is not pickled); "
                "set_params(accelerator=accelerate.Accelerator()) to train it."
            )
        wanted = self.accelerator.device
        device = torch.device(self.device)
        if device.type != wanted.type or (
            device.index is not None and device.index != wanted.index
        ):
            raise ValueError(
                f"device={self.device!r} but the accelerator trains this process "
                f"on {wanted}; pass device=accelerator.device."
            )

    def _initialize_accelerator(self):
        # As skorch's, but a loss without parameters is left as it is: DDP
        # refuses to wrap a module with nothing to train.
        if self._wrapped_with_accelerator:
            return self
        for kind, names in (("criterion", self._criteria), ("module", self._modules)):
            with self._current_init_context(kind):
                for name in names:
                    part = getattr(self, name + "_")
                    if isinstance(part, torch.nn.Module) and any(
                        p.requires_grad for p in part.parameters()
                    ):
                        setattr(self, name + "_", self.accelerator.prepare(part))
        with self._current_init_context("optimizer"):
            for name in self._optimizers:
                optimizer = getattr(self, name + "_")
                if isinstance(optimizer, torch.optim.Optimizer):
                    setattr(self, name + "_", self.accelerator.prepare(optimizer))
        for _, callback in self.callbacks_:
            if isinstance(callback, LRScheduler):
                callback.policy_ = self.accelerator.prepare(callback.policy_)
        self._wrapped_with_accelerator = True
        return self

    def get_iterator(self, dataset, training=False):
        """Our iterator, sharded by process when training; others prepared."""
        iterator = NeuralRecommender.get_iterator(self, dataset, training=training)
        if isinstance(iterator, SliceIterator):
            iterator.shard = training
            return iterator
        return self.accelerator.prepare(iterator)

    @contextlib.contextmanager
    def _inner_module(self):
        """``module_`` without its DDP wrapper, for the model's own methods.

        Only ``forward`` must go through the wrapper (it arms the gradient
        averaging); parameters used elsewhere in the same step still have
        their gradients averaged.
        """
        wrapped = self.module_
        if not isinstance(wrapped, torch.nn.parallel.DistributedDataParallel):
            yield
            return
        self.module_ = wrapped.module
        try:
            yield
        finally:
            self.module_ = wrapped

    def train_step_single(self, batch, **fit_params):
        """Our step (sampled negatives), with accelerate's backward."""
        self._set_training(True)
        Xi, yi = batch
        with self.accelerator.autocast():
            y_pred = self._forward_batch(Xi, yi)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self.accelerator.backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The model's loss, with its own methods reachable."""
        with self._inner_module():
            return super().get_loss(y_pred, y_true, X=X, training=training)

    def _score_users(self, users):
        with self._inner_module():
            return super()._score_users(users)

    def _score_history(self, rows):
        with self._inner_module():
            return super()._score_history(rows)

    def _initialize_callbacks(self):
        # skorch's "auto" sink is a method of the accelerator, which would
        # print at verbose=0 and be pickled with the model.
        if self.callbacks__print_log__sink == "auto":
            self.callbacks__print_log__sink = (
                _print_on_main_process if self.verbose else print
            )
        return super()._initialize_callbacks()

    def __getstate__(self):
        # The accelerator holds the process group: it stays behind. Its
        # device may read "cpu:0", which torch cannot map back on loading.
        state = super().__getstate__()
        state["accelerator"] = None
        device = torch.device(state["device"])
        state["device"] = "cpu" if device.type == "cpu" else str(device)
        return state


def _print_on_main_process(*args, **kwargs):
    """``print`` in the first process only (the epoch log)."""
    from accelerate import PartialState

    if PartialState().is_main_process:
        print(*args, **kwargs)
