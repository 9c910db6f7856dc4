"""Training faults: divergence, interruption, resuming from a checkpoint."""

import warnings

import numpy as np
import pytest
import torch
from conftest import quick_model
from skorch.callbacks import Callback, Checkpoint, LoadInitState

import sk_recsys
from sk_recsys.callbacks import TrainingDivergedError
from sk_recsys.datasets import make_interactions
from sk_recsys.models import MatrixFactorization, NeuralRecommender

NEURAL = sorted(
    name
    for name in sk_recsys.available_models()
    if isinstance(sk_recsys.get_model(name), NeuralRecommender)
)


class _AtBatch(Callback):
    """Do something to the net after training batch ``batch`` of ``epoch``."""

    def __init__(self, epoch, batch, action):
        self.epoch = epoch
        self.batch = batch
        self.action = action

    def on_epoch_begin(self, net, **kwargs):
        self.seen_ = 0

    def on_batch_end(self, net, training=None, **kwargs):
        if training and len(net.history) == self.epoch:
            self.seen_ += 1
            if self.seen_ == self.batch:
                self.action(net)


def _poison(net):
    with torch.no_grad():
        next(net.module_.parameters()).fill_(float("nan"))


def _interrupt(net):
    raise KeyboardInterrupt


def _fit(name, tiny, **params):
    # batch_size=32 gives several batches an epoch on the tiny data.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return quick_model(name, batch_size=32, **params).fit(
            tiny.X, tiny.y, item_features=tiny.item_features
        )


def _predictions(model, tiny):
    return model.predict(tiny.X), model.score_items(tiny.X.iloc[:5, 0])


def test_high_learning_rate_stops_with_a_clear_error():
    X, y = make_interactions(40, 30, random_state=0, return_X_y=True)
    model = MatrixFactorization(lr=1e30, max_epochs=5, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"lr=1e\+30 is likely too high"):
        model.fit(X, y)
    assert isinstance(TrainingDivergedError("x"), ValueError)
    assert np.isfinite(model.predict(X)).all()
    assert np.isfinite(model.score_items(X.iloc[:5, 0])).all()
    _, scores = model.recommend(X.iloc[:5, 0], k=3)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("name", NEURAL)
def test_non_finite_parameters_roll_back_to_the_last_good_epoch(name, tiny):
    poison = _AtBatch(epoch=2, batch=1, action=_poison)
    model = quick_model(name, max_epochs=3, batch_size=32, callbacks=[poison])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(TrainingDivergedError, match=r"at epoch 2.*lower it"):
            model.fit(tiny.X, tiny.y, item_features=tiny.item_features)
    # The weights are those after epoch 1: the same as a one-epoch fit.
    one_epoch = _fit(name, tiny, max_epochs=1)
    for got, want in zip(
        _predictions(model, tiny), _predictions(one_epoch, tiny), strict=True
    ):
        assert np.isfinite(got).all()
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", NEURAL)
def test_keyboard_interrupt_leaves_a_usable_model(name, tiny):
    stop = _AtBatch(epoch=2, batch=1, action=_interrupt)
    model = _fit(name, tiny, max_epochs=5, callbacks=[stop])
    assert len(model.history) == 2  # stopped in the second epoch
    ids, scores = model.recommend(tiny.X.iloc[:5, 0], k=4)
    assert ids.shape == (5, 4) and np.isfinite(scores).all()
    assert np.isfinite(model.predict(tiny.X)).all()
    # training state is cleaned up: the model saves, and trains on
    assert not hasattr(model, "_sampler_") and not hasattr(model, "_epoch_seed_")
    model.set_params(warm_start=True, callbacks=None, max_epochs=1)
    model.fit(tiny.X, tiny.y, item_features=tiny.item_features)
    assert len(model.history) == 3


@pytest.mark.parametrize("name", NEURAL)
def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(name, tiny, tmp_path):
    straight = _fit(name, tiny, max_epochs=4)
    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path))
    _fit(name, tiny, max_epochs=2, callbacks=[checkpoint])
    # A new estimator (as in a new process) picks up module, optimizer and
    # history from the files and runs epochs 3 and 4.
    resumed = _fit(name, tiny, max_epochs=2, callbacks=[LoadInitState(checkpoint)])
    assert len(resumed.history) == 4
    for got, want in zip(
        _predictions(resumed, tiny), _predictions(straight, tiny), strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_warm_start_continues_like_an_uninterrupted_run(tiny):
    straight = _fit("neumf", tiny, max_epochs=4)
    model = _fit("neumf", tiny, max_epochs=1)
    model.set_params(warm_start=True, max_epochs=3)
    model.fit(tiny.X, tiny.y)
    np.testing.assert_array_equal(model.predict(tiny.X), straight.predict(tiny.X))


def test_guard_can_be_turned_off(tiny):
    poison = _AtBatch(epoch=1, batch=1, action=_poison)
    model = quick_model(
        "mf", max_epochs=1, callbacks=[poison], callbacks__finite_loss_guard=None
    )
    model.fit(tiny.X, tiny.y)  # no guard: no error
    assert np.isnan(model.predict(tiny.X)).any()
