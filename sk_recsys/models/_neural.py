"""NeuralRecommender: the one skorch base of every torch recommender.

A model supplies its ``nn.Module`` (from :mod:`sk_recsys.nn`), the module's
size arguments and its loss; this base turns interaction rows into tensors on
the training device, batches them by slicing, samples negatives on the
device, seeds the run, and scores the catalog with ``module_.score_all`` for
the recommender contract. Every skorch knob keeps working: ``lr``,
``max_epochs``, ``batch_size``, ``device``, ``callbacks``,
``optimizer__weight_decay``, ``iterator_train__shuffle``...
"""

from __future__ import annotations

import contextlib
import inspect
import numbers
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.dataset import get_len

from ..base import RecommenderMixin
from ..callbacks import FiniteLossGuard
from ..data import (
    InteractionDataset,
    NegativeSampler,
    SliceIterator,
    check_interactions,
    interaction_matrix,
)
from ..model_selection import UserHoldout
from ..nn import ScoredBatch
from ..utils import _device, resolve_device

__all__ = ["NeuralRecommender"]

# (user, item) pairs scored per forward pass by predict.
_PREDICT_BATCH = 1 << 16


class _TrainingData(NamedTuple):
    """What ``fit`` hands to skorch's loop: the two datasets, already split."""

    train: InteractionDataset
    valid: InteractionDataset | None


def _never(self) -> bool:
    return False


class NeuralRecommender(RecommenderMixin, NeuralNet):
    """Base class of the torch recommenders, trained through skorch.

    Subclasses name their hyperparameters in ``__init__`` and implement
    ``_module_params()`` (the keyword arguments of their module that depend
    on the data) and ``_default_criterion()``; they may override skorch hooks
    (``get_loss``, ``train_step_single``, ``initialize_module``), never
    ``fit``.

    Parameters
    ----------
    module : type of torch.nn.Module
        The model's module class; ``module__<name>`` sets its arguments.
    criterion : type of torch.nn.Module or None, default=None
        The loss; ``None`` uses the model's own (see ``loss``).
    optimizer : type of torch.optim.Optimizer, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=20
    batch_size : int, default=1024
        Rows per training step; ``-1`` for the whole data.
    iterator_train, iterator_valid : type, default=SliceIterator
        Batch iterators over an :class:`~sk_recsys.data.InteractionDataset`.
    train_split : UserHoldout or None, default=None
        ``None`` trains on every row. A
        :class:`~sk_recsys.model_selection.UserHoldout` keeps a share of each
        user's rows out for validation: ``valid_loss`` and
        :class:`~sk_recsys.callbacks.RankingScoring` are computed on them,
        for ``EarlyStopping``, ``Checkpoint`` or ``LRScheduler``. A random
        row split is refused: it would mix a user's rows between the sides.
    callbacks : list of skorch callbacks or None, default=None
        Added to skorch's defaults and a
        :class:`~sk_recsys.callbacks.FiniteLossGuard`, which stops a
        diverging fit with the last good parameters.
    verbose : int, default=0
        1 prints skorch's epoch table.
    device : str, default="cpu"
        Training and scoring device (``"cuda"`` for a GPU).
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, negative sampling and dropout, and
        selects torch's deterministic kernels during ``fit``, so that two fits
        are identical whatever the number of threads (without the NaN fill
        of new buffers that torch's deterministic mode adds by default);
        torch's global generator and determinism settings are restored after
        ``fit``. Each
        epoch reseeds torch from ``random_state`` and the epoch number, so
        training resumed from a checkpoint (``LoadInitState`` or
        ``warm_start``) gives the same model as an uninterrupted run.
    **kwargs
        Any other skorch parameter (``warm_start``, ``optimizer__*``,
        ``module__*``, ``callbacks__*``, ``iterator_train__*``...).

    Examples
    --------
    A BPR model on the MF module in a dozen lines:

    >>> from sk_recsys.models import NeuralRecommender
    >>> from sk_recsys.nn import BPRLoss, MatrixFactorizationModule
    >>> class TinyBPR(NeuralRecommender):
    ...     def __init__(self, n_factors=8, *, module=MatrixFactorizationModule,
    ...                  **kwargs):
    ...         super().__init__(module, **kwargs)
    ...         self.n_factors = n_factors
    ...     def _module_params(self):
    ...         return {"n_users": self.n_users_, "n_items": self.n_items_,
    ...                 "n_factors": self.n_factors, "user_bias": False}
    ...     def _default_criterion(self):
    ...         return BPRLoss()
    ...     def _n_negatives(self):
    ...         return 1
    >>> X = [[user, item] for user in range(20) for item in range(user % 5, 30, 5)]
    >>> model = TinyBPR(max_epochs=2, random_state=0).fit(X)
    >>> model.recommend([0], k=3)[0].shape
    (1, 3)
    """

    def __init__(
        self,
        module,
        *,
        criterion=None,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=20,
        batch_size=1024,
        iterator_train=SliceIterator,
        iterator_valid=SliceIterator,
        train_split=None,
        callbacks=None,
        verbose=0,
        device="cpu",
        random_state=None,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            train_split=train_split,
            callbacks=callbacks,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.random_state = random_state

    #: A model's own defaults for skorch parameters (e.g. more epochs); a
    #: subclass passes ``**{**self._skorch_defaults, **kwargs}`` up, so what
    #: the user gives wins, and clone (which passes everything) round-trips.
    _skorch_defaults: dict = {}

    _parameter_constraints = {
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "batch_size": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Options(int, {-1}),
        ],
        "random_state": ["random_state"],
    }

    # ----------------------------------------------------------- to define

    def _module_params(self) -> dict:
        """Keyword arguments of the module that depend on the fitted data."""
        raise NotImplementedError

    def _default_criterion(self) -> torch.nn.Module:
        raise NotImplementedError

    def _n_negatives(self) -> int:
        """Negatives sampled per training row (0: a pointwise loss on ``y``);
        the model's ``n_negatives`` parameter when it has one."""
        return getattr(self, "n_negatives", 0)

    def _negative_distribution(self) -> str:
        """The model's ``negative_sampling`` parameter, else uniform."""
        return getattr(self, "negative_sampling", "uniform")

    def _configure(self, data, *, item_features=None, user_features=None) -> None:
        """Settle data-dependent settings (e.g. ``loss_``); raise if ``data``
        cannot train this model. The features were validated against ``X``."""

    # ------------------------------------------------------------- fitting

    def _check_hyperparameters(self):
        constraints = {}
        for cls in reversed(type(self).__mro__):
            constraints.update(getattr(cls, "_parameter_constraints", {}))
        params = {name: getattr(self, name) for name in constraints}
        validate_parameter_constraints(
            constraints, params, caller_name=type(self).__name__
        )
        if self.train_split is not None and not isinstance(
            self.train_split, UserHoldout
        ):
            raise ValueError(
                f"train_split={self.train_split!r} is not supported: use None or "
                "sk_recsys.model_selection.UserHoldout, which keeps each user's "
                "validation rows apart from their training rows."
            )

    @contextlib.contextmanager
    def _seeded(self):
        """Seed torch from ``random_state`` for one fit, restoring it after."""
        if self.random_state is None:
            yield
            return
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        device = torch.device(self.device)
        devices = [device.index or 0] if device.type == "cuda" else []
        # Parallel scatter-adds (embedding-bag and indexing backward) sum in
        # thread order; deterministic kernels make seeded fits repeatable.
        deterministic = torch.are_deterministic_algorithms_enabled()
        warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
        # With deterministic algorithms torch also fills every uninitialised
        # buffer (NaN), a debugging aid for code that reads one: ~300 extra
        # fills a training step, which on a GPU cost ~2 ms of kernel
        # launches a step. Our kernels write what they allocate: off.
        fill = getattr(torch.utils, "deterministic", None)
        filling = fill.fill_uninitialized_memory if fill is not None else None
        try:
            torch.use_deterministic_algorithms(True, warn_only=True)
            if fill is not None:
                fill.fill_uninitialized_memory = False
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                self._epoch_seed_ = seed
                yield
        finally:
            self.__dict__.pop("_epoch_seed_", None)
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
            if fill is not None:
                fill.fill_uninitialized_memory = filling

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Start an epoch; a seeded fit reseeds torch from the epoch number."""
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        seed = self.__dict__.get("_epoch_seed_")
        if seed is not None:
            # Shuffling, negatives and dropout of epoch n depend on n alone,
            # not on the epochs run before in this process.
            epoch = len(self.history)
            torch.manual_seed(
                int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
            )

    @property
    def _default_callbacks(self):
        """skorch's default callbacks and the divergence guard.

        Defined where skorch defines its own defaults (not by overriding
        ``get_default_callbacks``), so that ``get_params()`` lists
        ``callbacks__finite_loss_guard`` before ``fit`` as after it, and a
        fitted model and its clone have the same parameter names.
        """
        return [
            *super()._default_callbacks,
            ("finite_loss_guard", FiniteLossGuard()),
        ]

    @contextlib.contextmanager
    def _training(self, indices=None):
        """Seeded torch, and negatives that avoid every training interaction.

        ``indices``: ``interactions_.indices`` already on the device (a
        dataset built from the matrix), for the sampler to share.
        """
        if self._n_negatives():
            self._sampler_ = NegativeSampler.from_matrix(
                self.interactions_,
                device=resolve_device(self.device),
                distribution=self._negative_distribution(),
                indices=indices,
            )
        try:
            with self._seeded():
                yield
        finally:
            self.__dict__.pop("_sampler_", None)

    def fit(self, X, y=None, **fit_params):
        """Train the model on interaction rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1.
        y : array-like of shape (n_interactions,), default=None
            Ratings or weights; ``None`` means implicit feedback.
        **fit_params
            ``item_features`` / ``user_features`` DataFrames indexed by raw
            id (items only listed there join the catalog).

        Returns
        -------
        self
        """
        item_features = fit_params.pop("item_features", None)
        user_features = fit_params.pop("user_features", None)
        if fit_params:
            raise TypeError(
                f"{type(self).__name__}.fit got unexpected keyword arguments "
                f"{sorted(fit_params)}; it takes item_features and user_features."
            )
        self._check_hyperparameters()
        device = resolve_device(self.device)
        previous = None
        if self.warm_start and self.initialized_ and hasattr(self, "n_items_"):
            previous = (self.n_users_, self.n_items_)
        data = self._fit_interactions(
            X,
            y,
            item_features=item_features,
            user_features=user_features,
            holdout=self.train_split,
        )
        if previous is not None and previous != (self.n_users_, self.n_items_):
            raise ValueError(
                f"warm_start continues training the same {previous[0]} users and "
                f"{previous[1]} items, but X has {self.n_users_} and "
                f"{self.n_items_}; set warm_start=False to train anew."
            )
        self._configure(data, item_features=item_features, user_features=user_features)
        train, valid, shared = self._datasets(data, device)
        # The int64 index arrays are copied into the (int32) datasets: free
        # them before training rather than hold them through it.
        del data
        with self._training(indices=shared):
            super().fit(_TrainingData(train, valid))
        return self

    def _datasets(self, data, device):
        """The training and validation datasets of ``fit``, on ``device``.

        Returns ``(train, valid, shared)``: ``valid`` is None without held-out
        rows; ``shared`` is ``interactions_.indices`` on the device when the
        training dataset holds them, for the negative sampler to share.
        """
        shared = None
        if self.interactions_.nnz == len(data.users):
            # No pair was repeated: the training matrix holds exactly these
            # rows, so they are trained from it without a copy (on a GPU,
            # the negative sampler shares the dataset's copy).
            train = InteractionDataset.from_matrix(
                self.interactions_, values=data.y is not None, device=device
            )
            shared = train.items
        else:
            train = InteractionDataset(data.users, data.items, data.y, device=device)
        valid = None
        if data.held_out is not None and len(data.held_out.users):
            held = data.held_out
            valid = InteractionDataset(held.users, held.items, held.y, device=device)
        return train, valid, shared

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train further on new interaction rows of known users and items.

        The rows join ``interactions_`` (so they count as seen) and the model
        takes ``max_epochs`` more epochs over them alone. An unfitted model is
        simply fitted. Users or items not seen in ``fit`` would need new
        embedding rows: refit for them.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
        y : array-like of shape (n_interactions,), default=None
        classes : ignored
            Exists for scikit-learn compatibility.

        Returns
        -------
        self
        """
        if isinstance(X, _TrainingData):  # skorch's own fit passes its data here
            return super().partial_fit(X, y, **fit_params)
        if not (self.initialized_ and hasattr(self, "n_items_")):
            return self.fit(X, y, **fit_params)
        rows = check_interactions(X, y)
        users = self._codes(rows.users, users=True)
        items = self._codes(rows.items, users=False)
        unknown = (users < 0) | (items < 0)
        if unknown.any():
            raise ValueError(
                f"partial_fit got {int(unknown.sum())} rows with users or items "
                "unseen in fit; call fit to add new users and items."
            )
        if self._predicts_ratings() and rows.y is None:
            raise ValueError(
                f"{type(self).__name__} was fitted on ratings; pass y to partial_fit."
            )
        train = self._partial_dataset(X, rows, users, items)
        new = interaction_matrix(users, items, rows.y, shape=self.interactions_.shape)
        self._set_interactions(sp.csr_matrix(self.interactions_ + new))
        self._on_new_interactions()
        with self._training():
            super().partial_fit(_TrainingData(train, None))
        return self

    def _partial_dataset(self, X, rows, users, items):
        """What ``partial_fit`` trains on: its new rows (``users``, ``items``
        are their indices, ``rows`` the validated input)."""
        return InteractionDataset(
            users, items, rows.y, device=resolve_device(self.device)
        )

    def _on_new_interactions(self) -> None:
        """Called when partial_fit changed ``interactions_``."""

    def initialize_module(self):
        """Build the module from the data-dependent sizes and ``module__*``."""
        if not hasattr(self, "n_items_"):
            raise ValueError(
                f"{type(self).__name__} sizes its module from the data: call fit "
                "instead of initialize."
            )
        kwargs = {**self._module_params(), **self.get_params_for("module")}
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    def initialize_criterion(self):
        """The model's loss unless a ``criterion`` was given."""
        if self.criterion is None:
            self.criterion_ = self._default_criterion()
            return self
        return super().initialize_criterion()

    def get_split_datasets(self, X, y=None, **fit_params):
        """Return the datasets that ``fit`` split with ``train_split``."""
        if not isinstance(X, _TrainingData):
            raise ValueError(
                f"{type(self).__name__} trains from fit(X, y) on interaction rows; "
                "to continue training, set warm_start=True and call fit again."
            )
        return X.train, X.valid

    def get_iterator(self, dataset, training=False):
        """Batch iterator; training batches are shuffled unless told otherwise."""
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        iterator = self.iterator_train if training else self.iterator_valid
        if "shuffle" in inspect.signature(iterator).parameters:
            kwargs.setdefault("shuffle", training)
        return iterator(dataset, **kwargs)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop, reading the losses of a GPU's batches at the end.

        skorch records each batch's loss with ``.item()``, which makes the host
        wait for the device after every step, so no step's kernels are queued
        while the last one runs. Here a loss on an accelerator is recorded in
        the history as a 0-d tensor (``float()`` of it works in an
        ``on_batch_end`` callback) and all of the epoch's are read back
        together, as floats, before ``on_epoch_end``. A loss on the CPU is
        recorded at once, as skorch does.
        """
        if iterator is None:
            return
        key = f"{prefix}_loss"
        on_device = []  # the history entries holding a device tensor
        batch_count = 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            if _device.asynchronous(loss.device):
                self.history.record_batch(key, loss)
                on_device.append(self.history[-1]["batches"][-1])
            else:
                self.history.record_batch(key, loss.item())
            size = get_len(batch[0] if isinstance(batch, tuple | list) else batch)
            self.history.record_batch(f"{prefix}_batch_size", size)
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        if on_device:  # one transfer for the epoch
            values = torch.stack([entry[key] for entry in on_device]).tolist()
            for entry, value in zip(on_device, values, strict=True):
                entry[key] = value
        self.history.record(f"{prefix}_batch_count", batch_count)

    def _forward_batch(self, Xi, yi=None) -> ScoredBatch:
        users, items = Xi
        positive = self._score_positives(users, items, yi)
        n_negatives = self._n_negatives()
        if not n_negatives:
            return ScoredBatch(positive, None, users, items, None)
        negatives = self._sampler_.sample(users, n_negatives)
        negative = self.module_(users[:, None], negatives)
        return ScoredBatch(positive, negative, users, items, negatives)

    def _score_positives(self, users, items, y):
        """Scores of a batch's observed pairs (a model may treat them apart)."""
        return self.module_(users, items)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on a :class:`~sk_recsys.nn.ScoredBatch`."""
        return self.criterion_(y_pred, y_true)

    def train_step_single(self, batch, **fit_params):
        """Score a batch (and its sampled negatives), backpropagate the loss."""
        self._set_training(True)
        Xi, yi = batch
        y_pred = self._forward_batch(Xi, yi)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        """The training loss on a validation batch, without gradients."""
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            y_pred = self._forward_batch(Xi, yi)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def _expected_failed_checks(self) -> dict:
        """scikit-learn checks that a skorch net fails by design, with why."""
        return {
            "check_no_attributes_set_in_init": (
                "skorch's NeuralNet.__init__ sets history_, initialized_ and "
                "virtual_params_."
            ),
            "check_set_params": (
                "skorch's get_params exposes its private _params_to_validate set, "
                "which the check overwrites with a number."
            ),
        }

    # ------------------------------------------------------------- scoring

    def _check_fitted(self):
        check_is_fitted(self, ["interactions_", "items_", "users_", "module_"])

    def _scoring_token(self):
        """Changes whenever training steps were taken (for the scorer cache)."""
        history = self.history_ or []
        return len(history), len(history[-1]["batches"]) if len(history) else 0

    def _scoring_device(self):
        return self.device

    def _device_tensor(self, values) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values), device=self.device)

    def _score_users(self, users):
        self._set_training(False)
        with torch.no_grad():
            return self.module_.score_all(self._device_tensor(users))

    def _predict_pairs(self, users, items):
        self._set_training(False)
        out = np.empty(len(users), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(users), _PREDICT_BATCH):
                rows = slice(start, start + _PREDICT_BATCH)
                scores = self.module_(
                    self._device_tensor(users[rows]), self._device_tensor(items[rows])
                )
                out[rows] = scores.cpu().numpy()
        return out

    # skorch's predict_proba would feed raw X to the module: not a recommender
    # method, and hidden so that scikit-learn does not call it either.
    @available_if(_never)
    def predict_proba(self, X):  # pragma: no cover - never available
        raise AttributeError("predict_proba")

    def __repr__(self) -> str:
        defaults = {}
        for cls in reversed(type(self).__mro__[:-1]):
            init = cls.__dict__.get("__init__")
            if init is None:
                continue
            for name, param in inspect.signature(init).parameters.items():
                if param.default is not inspect.Parameter.empty:
                    defaults[name] = param.default
        defaults.update(self._skorch_defaults)
        shown = []
        for name, value in sorted(self.get_params(deep=False).items()):
            if name.startswith("_"):
                continue
            if name in defaults and defaults[name] is value:
                continue
            if name in defaults and _equal(defaults[name], value):
                continue
            if name == "module" and value is self._default_module():
                continue
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _default_module(self):
        init = inspect.signature(type(self).__init__).parameters.get("module")
        return None if init is None else init.default


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
