"""sk_recsys.save / sk_recsys.load: safe model files without pickle."""

import hashlib
import json
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from conftest import quick_model
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator, clone
from skorch.callbacks import Checkpoint, EarlyStopping, EpochScoring

import sk_recsys
from sk_recsys.base import RecommenderMixin
from sk_recsys.callbacks import RankingScoring
from sk_recsys.datasets import make_interactions
from sk_recsys.model_selection import UserHoldout
from sk_recsys.models import EASE, MatrixFactorization

MODELS = sorted(sk_recsys.available_models())


def _make_data(string_ids):
    return make_interactions(
        n_users=20,
        n_items=15,
        interactions_per_user=4,
        image_size=4,
        string_ids=string_ids,
        random_state=0,
    )


@pytest.fixture(scope="module")
def data():
    return _make_data(string_ids=True)


@pytest.fixture(scope="module")
def int_data():
    return _make_data(string_ids=False)


def _fit(name, data, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return quick_model(name, **params).fit(
            data.X,
            data.y,
            item_features=data.item_features,
            user_features=data.user_features,
        )


def _outputs(model, data):
    """What a user reads off a model: scores, lists and predictions."""
    unknown = "nobody" if data.X.iloc[0, 0].__class__ is str else 10**6
    users = [*data.X.iloc[:6, 0].tolist(), unknown]
    pairs = data.X.iloc[:12]
    return (
        model.score_items(users),
        *model.recommend(users, k=5),
        model.predict(pairs),
    )


def _read_document(path):
    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["sk_recsys"])


def _rewrite(path, edit):
    """Apply ``edit`` to the JSON document of a model file, in place."""
    tensors = load_file(str(path))
    document = _read_document(path)
    edit(document)
    # Edited on purpose, so with a matching checksum (a checksum guards
    # against corruption, not against a crafted file).
    text = json.dumps(document)
    checksum = hashlib.sha256(text.encode()).hexdigest()
    save_file(
        tensors, str(path), metadata={"sk_recsys": text, "sk_recsys.sha256": checksum}
    )


@pytest.mark.parametrize(
    "name, ids",
    [(name, "str") for name in MODELS]
    + [(name, "int") for name in ("popularity", "ease", "mf", "content")],
)
def test_loaded_model_gives_identical_results(name, ids, data, int_data, tmp_path):
    data = data if ids == "str" else int_data
    model = _fit(name, data)
    path = tmp_path / f"{name}.safetensors"
    sk_recsys.save(model, path)
    loaded = sk_recsys.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params().keys() == model.get_params().keys()
    assert loaded.users_.dtype == model.users_.dtype
    assert loaded.items_.tolist() == model.items_.tolist()
    assert type(loaded.items_[0]) is type(model.items_[0])
    assert (loaded.interactions_ != model.interactions_).nnz == 0
    for before, after in zip(
        _outputs(model, data), _outputs(loaded, data), strict=True
    ):
        np.testing.assert_array_equal(after, before)
    # the loaded model is an ordinary estimator again
    assert (
        clone(loaded).get_params(deep=False).keys()
        == loaded.get_params(deep=False).keys()
    )
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(loaded)).predict(data.X.iloc[:5]),
        model.predict(data.X.iloc[:5]),
    )


def test_unfitted_model_round_trips_its_parameters(tmp_path):
    model = MatrixFactorization(n_factors=7, lr=0.05, loss="bpr", optimizer__eps=1e-6)
    sk_recsys.save(model, tmp_path / "mf")
    loaded = sk_recsys.load(tmp_path / "mf")
    assert repr(loaded) == repr(model)
    assert loaded.get_params()["optimizer__eps"] == 1e-6


def test_file_records_versions_and_holds_json_and_tensors(tmp_path):
    X, y = make_interactions(20, 15, random_state=0, return_X_y=True)
    sk_recsys.save(MatrixFactorization(max_epochs=1).fit(X, y), tmp_path / "mf")
    document = _read_document(tmp_path / "mf")
    assert document["sk_recsys_version"] == sk_recsys.__version__
    assert document["model"] == "mf"
    assert document["class"] == "sk_recsys.models.mf:MatrixFactorization"
    params = dict(document["params"]["$dict"])
    assert params["n_factors"] == 64 and params["max_epochs"] == 1
    assert params["optimizer"] == {"$class": "torch.optim.adam:Adam"}
    state = dict(document["state"]["$dict"])
    assert set(state) >= {"users_", "items_", "interactions_", "n_users_"}
    # the module's weights are in the tensor table
    tensors = load_file(str(tmp_path / "mf"))
    module = dict(dict(document["torch_state"]["$dict"])["module"]["$dict"])
    weight = tensors[module["user_factors.weight"]["$tensor"]]
    assert weight.shape == (state["n_users_"], 64)


def test_model_loads_in_a_fresh_process_without_pickle(data, tmp_path):
    model = _fit("content", data)
    path = tmp_path / "content.safetensors"
    sk_recsys.save(model, path)
    users = data.X.iloc[:4, 0].tolist()
    script = textwrap.dedent(
        f"""
        import json, pickle, sys

        import numpy
        import torch

        import sk_recsys

        def refuse(*args, **kwargs):
            raise AssertionError("load unpickled something")

        class Refusing(pickle.Unpickler):
            load = refuse

        pickle.load = pickle.loads = torch.load = numpy.load = refuse
        pickle.Unpickler = Refusing
        # oneDNN convolutions round differently across thread counts.
        torch.set_num_threads({torch.get_num_threads()})

        ids, scores = sk_recsys.load({str(path)!r}).recommend({users!r}, k=5)
        json.dump({{"ids": ids.tolist(), "scores": scores.tolist()}}, sys.stdout)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    ids, scores = model.recommend(users, k=5)
    assert out["ids"] == ids.tolist()
    np.testing.assert_array_equal(np.asarray(out["scores"], dtype=np.float32), scores)


def test_file_naming_an_unregistered_class_is_refused(tmp_path):
    X = [[0, 1], [1, 1], [1, 2]]
    path = tmp_path / "pop"
    sk_recsys.save(sk_recsys.Popularity().fit(X), path)

    def swap_class(document):
        document["model"] = "popularity"
        document["class"] = "os:system"

    _rewrite(path, swap_class)
    with pytest.raises(ValueError, match="not in the registry"):
        sk_recsys.load(path)

    def unknown_name(document):
        document["model"] = "evil"

    _rewrite(path, unknown_name)
    with pytest.raises(ValueError, match="not in the registry"):
        sk_recsys.load(path)


@pytest.mark.parametrize(
    "entry",
    [
        {"$class": "os:system"},
        {"$class": "builtins:eval"},
        {"$estimator": "subprocess:Popen", "params": {"$dict": []}},
        {"$estimator": "sk_recsys._persistence:save", "params": {"$dict": []}},
        {"$object": "torch.optim.adam:Adam", "state": {"$dict": []}},
        {"$class": "sk_recsys.models._neural:_TrainingData"},
    ],
)
def test_file_naming_an_untrusted_callable_is_refused(entry, tmp_path):
    X, y = make_interactions(20, 15, random_state=0, return_X_y=True)
    path = tmp_path / "mf"
    sk_recsys.save(MatrixFactorization(max_epochs=1).fit(X, y), path)

    def plant(document):
        document["params"]["$dict"].append(["callbacks", [entry]])

    _rewrite(path, plant)
    with pytest.raises(ValueError, match=r"safe sk_recsys model|does not trust"):
        sk_recsys.load(path)


def test_save_refuses_unregistered_classes_and_unsafe_parameters(tmp_path):
    class Mine(RecommenderMixin, BaseEstimator):
        def fit(self, X, y=None):
            self._fit_interactions(X, y)
            return self

        def _score_users(self, users):
            return np.tile(self.item_popularity_, (len(users), 1))

    with pytest.raises(TypeError, match="not a registered model"):
        sk_recsys.save(Mine().fit([[0, 1]]), tmp_path / "mine")
    scoring = EpochScoring(lambda net, X, y: 0.0, name="zero")
    with pytest.raises(TypeError, match="cannot store safely"):
        sk_recsys.save(MatrixFactorization(callbacks=[scoring]), tmp_path / "mf")
    seeded = MatrixFactorization(random_state=np.random.RandomState(0))
    with pytest.raises(TypeError, match="cannot store"):
        sk_recsys.save(seeded, tmp_path / "mf")
    assert not list(tmp_path.iterdir())  # a refused save leaves no file


def test_callbacks_optimizer_and_splitter_round_trip(tmp_path):
    X, _ = make_interactions(40, 30, random_state=0, return_X_y=True)
    model = MatrixFactorization(
        n_factors=4,
        max_epochs=2,
        optimizer=torch.optim.SGD,
        criterion=None,
        train_split=UserHoldout(0.2, random_state=0),
        callbacks=[
            RankingScoring("ndcg@5"),
            ("stop", EarlyStopping(monitor="valid_ndcg@5", lower_is_better=False)),
            Checkpoint(monitor=None, dirname=str(tmp_path / "cp")),
        ],
        random_state=0,
    ).fit(X)
    sk_recsys.save(model, tmp_path / "mf")
    loaded = sk_recsys.load(tmp_path / "mf")
    assert loaded.optimizer is torch.optim.SGD
    assert repr(loaded.train_split) == repr(model.train_split)
    assert [type(cb) for cb in loaded.callbacks[:1]] == [RankingScoring]
    assert loaded.callbacks[1][1].get_params() == model.callbacks[1][1].get_params()
    assert len(loaded.history) == len(model.history) == 2
    assert loaded.history[-1, "valid_ndcg@5"] == model.history[-1, "valid_ndcg@5"]


def test_loaded_model_continues_training_like_the_original(tmp_path):
    X, y = make_interactions(30, 20, random_state=0, return_X_y=True)
    params = {"n_factors": 4, "random_state": 0, "max_epochs": 2}
    straight = MatrixFactorization(**{**params, "max_epochs": 4}).fit(X, y)
    first = MatrixFactorization(**params).fit(X, y)
    sk_recsys.save(first, tmp_path / "mf")
    resumed = sk_recsys.load(tmp_path / "mf").set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(resumed.predict(X), straight.predict(X))


def test_model_saved_on_a_gpu_loads_on_the_cpu(tmp_path):
    X, y = make_interactions(20, 15, random_state=0, return_X_y=True)
    model = MatrixFactorization(max_epochs=1, random_state=0).fit(X, y)
    path = tmp_path / "mf"
    sk_recsys.save(model, path)

    def on_gpu(document):
        # What a GPU fit writes: its device parameter (tensors are stored on CPU).
        pairs = document["params"]["$dict"]
        for pair in pairs:
            if pair[0] == "device":
                pair[1] = "cuda"

    _rewrite(path, on_gpu)
    if torch.cuda.is_available():
        assert sk_recsys.load(path).device == "cuda"
    else:
        with pytest.warns(UserWarning, match="not available here"):
            loaded = sk_recsys.load(path)
        assert loaded.device == "cpu"
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sk_recsys.load(path, device="cpu").device == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("model", [MatrixFactorization(max_epochs=2), EASE()])
def test_gpu_fitted_model_loads_on_cpu(model, tmp_path):
    X, y = make_interactions(30, 20, random_state=0, return_X_y=True)
    seed = {"random_state": 0} if "random_state" in model.get_params() else {}
    gpu = model.set_params(device="cuda", **seed).fit(X, y)
    sk_recsys.save(gpu, tmp_path / "gpu")
    cpu = sk_recsys.load(tmp_path / "gpu", device="cpu")
    assert cpu.device == "cpu"
    np.testing.assert_allclose(cpu.predict(X), gpu.predict(X), rtol=1e-5, atol=1e-5)
    assert cpu.recommend(X.iloc[:5, 0], k=5)[0].tolist() == (
        gpu.recommend(X.iloc[:5, 0], k=5)[0].tolist()
    )


def test_load_refuses_other_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a sk_recsys model file"):
        sk_recsys.load(tmp_path / "junk")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain"))
    with pytest.raises(ValueError, match="without a sk_recsys model"):
        sk_recsys.load(tmp_path / "plain")
    with pytest.raises(FileNotFoundError):
        sk_recsys.load(tmp_path / "absent")
    sk_recsys.save(sk_recsys.Popularity(), tmp_path / "pop")

    def newer(document):
        document["format_version"] = 99

    _rewrite(tmp_path / "pop", newer)
    with pytest.raises(ValueError, match="upgrade sk_recsys"):
        sk_recsys.load(tmp_path / "pop")
