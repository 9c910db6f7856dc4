"""One adapter per library, so every model of the suite is fitted and scored alike.

An adapter fits on a :class:`~benchmarks.suite.Fold` (users and items are
0..n-1 indices) and exposes ``score_users(users)`` (full-catalog scores in
the fold's item order) for the ranking protocol and
``predict_pairs(users, items)`` for the rating protocol. The metrics are
computed by the suite, with our metric code, for every library alike.

Libraries: ``sk_recsys`` (any registered model, by registry name), and the
peers ``implicit`` (ALS, BPR), ``surprise`` (SVD, SVD++, KNNBaseline),
``skrecsys`` (ItemKNN, EASE, BPR, SLIM, and the sequential HSTU and
Mamba4Rec, which read each user's training rows ordered by the fold's
``time`` column), ``cornac`` (BPR, NeuMF, VAECF, ...), ``lightfm``,
and two run in their own virtual environments because their pins conflict
with ours (:class:`_SideEnvironment`): ``recbole`` (its sequential SASRec and
GRU4Rec), ``rectools`` (SASRec, BERT4Rec, EASE, PureSVD) and ``lenskit``
(ALS, kNN, EASE, SLIM, FlexMF). A peer that is not installed is skipped with
a note.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from skorch.callbacks import Callback

_MODULES = {
    "sk_recsys": "sk_recsys",
    "implicit": "implicit",
    "surprise": "surprise",
    "skrecsys": "skrecsys",
    "cornac": "cornac",
    "lightfm": "lightfm",
}

# Why a peer may be absent, beyond "not installed".
_NOTES = {
    "lightfm": (
        "lightfm is not installed: pip install rectools-lightfm (the maintained "
        "fork; it builds with a C compiler, while lightfm 1.17's own setup.py "
        "fails under current setuptools)"
    ),
}


def missing(model: dict) -> str | None:
    """Why the library of ``model`` cannot run here, or None when it can."""
    library = model["library"]
    if library in SIDE_ENVIRONMENTS:
        return SIDE_ENVIRONMENTS[library].missing()
    try:
        importlib.import_module(_MODULES[library])
    except ImportError:
        note = _NOTES.get(library, f"{library} is not installed")
        return f"{note} (pip install -e .[bench] installs the peers that build)"
    for module in model.get("requires", []):
        # A peer model that needs more than its library (cornac's LightGCN
        # needs dgl).
        try:
            importlib.import_module(module)
        except Exception as error:  # a broken install raises more than ImportError
            return (
                f"{library}'s {model['estimator']} needs {module}, which does not "
                f"import here: {type(error).__name__}: {error}"
            )
    return None


def make(model: dict, protocol: str, *, seed: int = 0):
    """The adapter for one model entry of the configuration.

    ``seed`` seeds the model (its library's seed parameter), over any seed
    in the entry's parameters: the tuned suite fits stochastic models
    with several seeds.
    """
    adapters = {
        "sk_recsys": Ours,
        "implicit": Implicit,
        "surprise": Surprise,
        "skrecsys": SkRecsys,
        "cornac": Cornac,
        "lightfm": LightFM,
        "recbole": RecBole,
        "lenskit": LensKit,
        "rectools": RecTools,
    }
    return adapters[model["library"]](
        model["estimator"], dict(model.get("params", {})), protocol, seed=seed
    )


def _version(module: str) -> str:
    return getattr(importlib.import_module(module), "__version__", "?")


class _Adapter:
    library_module = ""

    def overhead_s_(self) -> float:
        """Seconds of ``fit`` spent on the suite's own work (learning curves)."""
        return 0.0

    def __init__(self, estimator: str, params: dict, protocol: str, *, seed=0):
        self.estimator = estimator
        self.params = params
        self.protocol = protocol
        self.seed = seed

    @property
    def library(self) -> str:
        return f"{self.library_module} {_version(self.library_module)}"

    @property
    def description(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{self.estimator}({args})"

    def _check_protocol(self, *supported):
        if self.protocol not in supported:
            raise ValueError(
                f"{self.library} {self.estimator} does not support the "
                f"{self.protocol!r} protocol; use it in a run of "
                f"{' or '.join(supported)} datasets."
            )


class _FactorAdapter(_Adapter):
    """Peers whose scores are ``user_factors @ item_factors.T``."""

    def score_users(self, users):
        return self.user_factors_[users] @ self.item_factors_.T


# ------------------------------------------------------------------ ours


class _TestScore(Callback):
    """A skorch callback recording a test metric after every epoch.

    For the learning-curve plots only: the reported numbers are those of the
    configured number of epochs, never the best epoch on the test rows.
    """

    def __init__(self, name, function):
        self.name = name
        self.function = function
        self.elapsed_s = 0.0

    def on_epoch_end(self, net, **kwargs):
        start = time.perf_counter()
        net.history.record(self.name, float(self.function(net)))
        # Its own time is taken off the fit time by the suite.
        self.elapsed_s += time.perf_counter() - start


class Ours(_Adapter):
    """Any model of the sk_recsys registry, fitted on the raw index ids."""

    library_module = "sk_recsys"

    def fit(self, fold, *, learning_curve=False):
        from sk_recsys import get_model
        from sk_recsys.metrics import get_scorer, rmse
        from sk_recsys.models import NeuralRecommender

        y = fold.train["value"].to_numpy() if self.protocol == "rating" else None
        model = get_model(self.estimator, **self.params)
        if "random_state" in model.get_params():
            model.set_params(random_state=self.seed)
        # Sequential models read X's third column as the time.
        timed = "time_column" in model.get_params() and "time" in fold.train
        X = fold.train[["user", "item", "time"] if timed else ["user", "item"]]
        self.description_ = repr(model).replace("\n", " ")
        neural = isinstance(model, NeuralRecommender)
        name = None
        if neural and learning_curve:
            X_test = fold.test[["user", "item"]]
            if self.protocol == "ranking":
                scorer = get_scorer("ndcg@10")
                name, function = "test_ndcg@10", lambda net: scorer(net, X_test)
            else:
                truth = fold.test["value"].to_numpy(np.float64)
                name = "test_rmse"

                def function(net):
                    return rmse(truth, np.clip(net.predict(X_test), 1, 5))

            self.curve_ = _TestScore(name, function)
            model.set_params(callbacks=[*(model.callbacks or []), self.curve_])
        model.fit(X, y)
        self.model_ = model
        self.n_items_ = fold.n_items
        if not neural:
            return None
        history = model.history
        curve = {"epoch": list(history[:, "epoch"])}
        curve["train_loss"] = [float(v) for v in history[:, "train_loss"]]
        if name is not None:
            curve[name] = [float(v) for v in history[:, name]]
        return curve

    @property
    def description(self) -> str:
        return getattr(self, "description_", super().description)

    def overhead_s_(self) -> float:
        curve = getattr(self, "curve_", None)
        return 0.0 if curve is None else curve.elapsed_s

    def score_users(self, users):
        return self.model_.score_items(users, items=np.arange(self.n_items_))

    def predict_pairs(self, users, items):
        return self.model_.predict(pd.DataFrame({"user": users, "item": items}))


# -------------------------------------------------------------- implicit


class Implicit(_FactorAdapter):
    """implicit's CPU ``AlternatingLeastSquares`` / ``BayesianPersonalizedRanking``."""

    library_module = "implicit"

    def fit(self, fold, *, learning_curve=False):
        self._check_protocol("ranking")
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        classes = {"als": AlternatingLeastSquares, "bpr": BayesianPersonalizedRanking}
        params = {"num_threads": 0, **self.params, "random_state": self.seed}
        model = classes[self.estimator](**params)
        from threadpoolctl import threadpool_limits

        # implicit parallelises itself and asks BLAS not to (its own warning).
        with threadpool_limits(1, "blas"):
            model.fit(fold.train_matrix().astype(np.float32), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors)
        self.item_factors_ = np.asarray(model.item_factors)
        return None


# -------------------------------------------------------------- surprise


class Surprise(_Adapter):
    """Surprise's rating predictors (``SVD``, ``SVDpp``, ``KNNBaseline``)."""

    library_module = "surprise"

    def fit(self, fold, *, learning_curve=False):
        self._check_protocol("rating")
        import surprise

        frame = fold.train.rename(columns={"value": "rating"})
        data = surprise.Dataset.load_from_df(
            frame[["user", "item", "rating"]], surprise.Reader(rating_scale=(1, 5))
        )
        params = dict(self.params)
        if self.estimator != "KNNBaseline":
            params["random_state"] = self.seed
        self.model_ = getattr(surprise, self.estimator)(**params, verbose=False)
        self.model_.fit(data.build_full_trainset())
        return None

    def predict_pairs(self, users, items):
        return np.array(
            [self.model_.predict(u, i).est for u, i in zip(users, items, strict=True)]
        )


# -------------------------------------------------------------- skrecsys


class SkRecsys(_Adapter):
    """skrecsys recommenders; full scores from ``predict`` over all pairs.

    The sequential models of ``skrecsys.nn`` (HSTU, Mamba4Rec) take a user's
    history as that user's rows in the order given, so they are fitted on the
    training rows sorted by the fold's ``time`` column (stable: ties keep row
    order, the rule the leave-last-out split uses); they score a user from
    the history fitted. Their loss per epoch, epochs run and mean epoch time
    (fit time / epochs) come back as the learning curve. The
    ``AlternatingLeastSquares`` (libFM's explicit ALS) runs on the rating
    protocol only.
    """

    library_module = "skrecsys"
    # skrecsys scores (user, item) pairs; a similarity model gathers each
    # pair's user row and item neighbours, so a block's memory grows with
    # both: 2M pairs of ItemKNN (122 neighbours) on ua peaked at 18.8 GB and
    # was killed for memory; 250k pairs peaked at 1.5 GB.
    _BLOCK_PAIRS = 250_000
    _SEQUENTIAL = ("HSTU", "Mamba4Rec")
    _SEEDED = ("BayesianPersonalizedRanking", "AlternatingLeastSquares", *_SEQUENTIAL)
    # libFM's ALS: squared loss over the observed ratings only. Its docs say
    # the fit is degenerate without ratings (every target 1), so it runs on
    # the rating protocol, fitted on the ratings, and nowhere else.
    _EXPLICIT = ("AlternatingLeastSquares",)

    def fit(self, fold, *, learning_curve=False):
        explicit = self.estimator in self._EXPLICIT
        self._check_protocol("rating" if explicit else "ranking")
        from skrecsys import recommendation

        params = dict(self.params)
        if self.estimator in self._SEEDED:
            params["random_state"] = self.seed
        train = fold.train
        if self.estimator in self._SEQUENTIAL:
            if "time" not in train:
                raise ValueError(
                    f"skrecsys {self.estimator} reads each user's history in time "
                    "order; use it on a leave-last-out dataset (a time column)."
                )
            from skrecsys import nn

            self.model_ = getattr(nn, self.estimator)(**params)
            train = train.iloc[np.argsort(train["time"].to_numpy(), kind="stable")]
        else:
            self.model_ = getattr(recommendation, self.estimator)(**params)
        y = train["value"].to_numpy(np.float64) if explicit else None
        start = time.perf_counter()
        self.model_.fit(train[["user", "item"]].to_numpy(), y)
        fit_s = time.perf_counter() - start
        self.n_items_ = fold.n_items
        known = np.zeros(fold.n_items, dtype=bool)
        known[np.asarray(self.model_.item_ids_, dtype=np.int64)] = True
        self.known_items_ = np.flatnonzero(known)
        if self.estimator not in self._SEQUENTIAL:
            return None
        fitted = self.model_.get_params()
        n_iter = int(self.model_.n_iter_)
        return {
            "epoch": list(range(1, n_iter + 1)),
            "train_loss": [float(v) for v in self.model_.loss_curve_],
            "n_iter": n_iter,
            "mean_epoch_s": fit_s / n_iter if n_iter else None,
            "n_factors": int(fitted["n_factors"]),
            "max_sequence_length": int(fitted["max_sequence_length"]),
        }

    def score_users(self, users):
        scores = np.full((len(users), self.n_items_), -np.inf)
        items = self.known_items_
        step = max(1, self._BLOCK_PAIRS // len(items))
        for start in range(0, len(users), step):
            block = users[start : start + step]
            pairs = np.column_stack(
                [np.repeat(block, len(items)), np.tile(items, len(block))]
            )
            values = self.model_.predict(pairs).reshape(len(block), len(items))
            scores[start : start + len(block), items] = values
        return scores

    def predict_pairs(self, users, items):
        """Ratings of the test pairs (the explicit ALS).

        skrecsys refuses a user or item it did not fit; such a pair gets
        the model's own formula with the unknown side's terms left out
        (global bias plus the known bias), clipped as ``predict`` clips.
        """
        model = self.model_
        users, items = np.asarray(users), np.asarray(items)
        u = pd.Index(model.user_ids_).get_indexer(users)  # -1: not fitted
        i = pd.Index(model.item_ids_).get_indexer(items)
        known = (u >= 0) & (i >= 0)
        out = np.full(len(users), float(model.global_bias_))
        out[u >= 0] += model.user_bias_[u[u >= 0]]
        out[i >= 0] += model.item_bias_[i[i >= 0]]
        out = np.clip(out, *model.target_range_)
        if known.any():
            pairs = np.column_stack([users[known], items[known]])
            out[known] = model.predict(pairs)
        return out


# ---------------------------------------------------------------- cornac


class Cornac(_Adapter):
    """cornac recommenders, fitted on the binary training rows."""

    library_module = "cornac"

    def fit(self, fold, *, learning_curve=False):
        self._check_protocol("ranking")
        import cornac

        triples = list(
            zip(
                fold.train["user"].astype(str),
                fold.train["item"].astype(str),
                np.ones(len(fold.train)),
                strict=True,
            )
        )
        train_set = cornac.data.Dataset.from_uir(triples, seed=self.seed)
        params = dict(self.params)
        params["seed"] = self.seed
        if self.estimator == "NeuMF" and "layers" not in params:
            # cornac's NeuMF needs its MLP tower to end at num_factors; the
            # NCF paper's tower halves down to it, which at cornac's default
            # of 8 factors is cornac's default tower (64, 32, 16, 8).
            f = int(params.get("num_factors", 8))
            params["layers"] = [8 * f, 4 * f, 2 * f, f]
        self.model_ = getattr(cornac.models, self.estimator)(**params)
        self.model_.fit(train_set)
        # cornac indexes users and items in order of appearance: map back.
        # A validation fold's catalog keeps items with no rows left in its
        # training part: cornac has no index for them (-1), and they score
        # -inf (the map was np.empty there, so a trial read garbage indices).
        self.user_index_ = np.array(
            [train_set.uid_map.get(str(u), -1) for u in range(fold.n_users)]
        )
        order = np.full(fold.n_items, -1, dtype=np.int64)
        for raw, index in train_set.iid_map.items():
            order[int(raw)] = index
        self.item_order_ = order
        return None

    def score_users(self, users):
        known = self.item_order_ >= 0
        scores = np.full((len(users), len(known)), -np.inf)
        for row, user in enumerate(users):
            if self.user_index_[user] >= 0:
                values = self.model_.score(int(self.user_index_[user]))
                scores[row, known] = values[self.item_order_[known]]
        return scores


# ---------------------------------------------------------------- lightfm


class LightFM(_FactorAdapter):
    """LightFM (rectools-lightfm, the maintained fork), WARP loss by default."""

    library_module = "lightfm"

    def fit(self, fold, *, learning_curve=False):
        self._check_protocol("ranking")
        from lightfm import LightFM as Model

        params = dict(self.params)
        epochs = params.pop("epochs", 30)
        model = Model(**params, random_state=self.seed)
        model.fit(fold.train_matrix().tocoo(), epochs=epochs)
        bias_u, factors_u = model.get_user_representations()
        bias_i, factors_i = model.get_item_representations()
        self.user_factors_ = np.column_stack([factors_u, bias_u, np.ones_like(bias_u)])
        self.item_factors_ = np.column_stack([factors_i, np.ones_like(bias_i), bias_i])
        return None


# ------------------------------------------------- side environments


def _torch_threads() -> int:
    """The torch thread count of this process."""
    import torch

    return torch.get_num_threads()


def side_runs() -> Path:
    """Where resumable side runs keep their checkpoints between suite runs.

    ``$SK_RECSYS_SIDE_RUNS``, else ``benchmarks/.side-runs`` (git-ignored).
    """
    default = Path(__file__).resolve().with_name(".side-runs")
    return Path(os.environ.get("SK_RECSYS_SIDE_RUNS", default))


class _SideEnvironment(_Adapter):
    """A peer whose pins conflict with ours, run in its own virtual environment.

    The environment's Python is named by an environment variable
    (``variable``). ``fit`` writes the fold's training rows to a temporary
    directory (a kept one for a ``resumable`` adapter, see ``_directory``)
    as ``train.csv`` (``user,item,value,position``: each user's rows in the
    suite's order, by time then row order when the fold has a time column,
    else row order, and ``position`` their rank in it) with a
    ``job.json`` (estimator, parameters, catalog size, seed, and this
    process's torch thread count, which the side process takes too),
    and runs ``benchmarks/<script>`` there. The script writes
    ``scores.npy`` (every user's score of every item in the fold's order,
    ``-inf`` where it cannot score) and ``result.json`` (``fit_s``: the
    library's own training call, timed in that process, and optionally a
    per-epoch ``curve``), which the suite evaluates with our metric code
    like every other model's. Process start, data loading and scoring are
    not counted in the fit time.
    """

    variable = ""
    script = ""
    guide = ""
    #: A sequential peer reads each user's history in time order.
    sequential = False
    #: The script checkpoints its fit in its directory and goes on from there
    #: when started again: the directory is kept (:func:`side_runs`) until the
    #: fit is scored, so an interrupted suite run resumes the same job.
    resumable = False

    @contextlib.contextmanager
    def _directory(self, rows: str, job: dict):
        """The run's directory (a Path): kept per job when resumable, else temporary."""
        if not self.resumable:
            with tempfile.TemporaryDirectory(prefix="sk-recsys-side-") as directory:
                yield Path(directory)
            return
        key = hashlib.sha256((json.dumps(job, sort_keys=True) + rows).encode())
        name = f"{self.library_module}-{self.estimator}-{key.hexdigest()[:16]}"
        work = side_runs() / name
        work.mkdir(parents=True, exist_ok=True)
        yield work

    @classmethod
    def missing(cls) -> str | None:
        python = os.environ.get(cls.variable)
        if not python:
            return (
                f"{cls.library_module} runs in its own virtual environment (its "
                f"pins conflict with ours); set {cls.variable} to that "
                f"environment's Python ({cls.guide})"
            )
        if not Path(python).exists():
            return f"{cls.variable}={python} does not exist"
        return None

    @property
    def library(self) -> str:
        version = getattr(self, "version_", None)
        if version is None:
            code = f"import {self.library_module} as m; print(m.__version__)"
            version = subprocess.run(
                [os.environ[self.variable], "-c", code],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            self.version_ = version
        return f"{self.library_module} {version}"

    def fit(self, fold, *, learning_curve=False):
        self._check_protocol("ranking")
        if self.sequential and "time" not in fold.train:
            raise ValueError(
                f"{self.library_module}'s {self.estimator} reads each user's "
                "history in time order; use it on a leave-last-out dataset "
                "(a time column)."
            )
        start = time.perf_counter()
        train = fold.train
        keys = [np.arange(len(train)), train["user"]]
        if "time" in train:
            keys.insert(1, train["time"])
        train = train.iloc[np.lexsort(keys)]
        rows = pd.DataFrame(
            {
                "user": train["user"].to_numpy(),
                "item": train["item"].to_numpy(),
                "value": train["value"].to_numpy(),
                "position": train.groupby("user").cumcount().to_numpy(),
            }
        ).to_csv(index=False)
        job = {
            "estimator": self.estimator,
            "params": self.params,
            "n_users": fold.n_users,
            "n_items": fold.n_items,
            "seed": self.seed,
            # the torch threads of this process, which our models and the
            # in-process peers get: the same for a side environment's peer
            "threads": _torch_threads(),
        }
        with self._directory(rows, job) as work:
            (work / "train.csv").write_text(rows)
            (work / "job.json").write_text(json.dumps(job))
            script = Path(__file__).resolve().with_name(self.script)
            done = subprocess.run(
                [os.environ[self.variable], str(script), str(work)],
                # stderr streams through: a side run reports its progress
                # (an hour-long fit is not silent); stdout is kept for errors.
                stdout=subprocess.PIPE,
                text=True,
                env={
                    **os.environ,
                    "OMP_NUM_THREADS": str(job["threads"]),
                    "MKL_NUM_THREADS": str(job["threads"]),
                },
                cwd=work,
            )
            if done.returncode:
                sys.stderr.write(done.stdout[-4000:])
                raise RuntimeError(
                    f"{self.library_module}'s {self.estimator} failed (exit "
                    f"{done.returncode}); its output is above."
                )
            self.scores_ = np.load(work / "scores.npy")
            result = json.loads((work / "result.json").read_text())
            if self.resumable:
                shutil.rmtree(work)
        self.overhead_ = time.perf_counter() - start - result["fit_s"]
        return result.get("curve")

    def overhead_s_(self) -> float:
        return getattr(self, "overhead_", 0.0)

    def score_users(self, users):
        return self.scores_[users]


class RecBole(_SideEnvironment):
    """RecBole's models (``benchmarks/recbole_side.py``).

    At RecBole's defaults except the entry's parameters. A sequential model
    (SASRec, GRU4Rec): its own split holds out each user's latest training
    row for early stopping (10 epochs without a better validation MRR@10),
    every prefix of the rest is a training sample, the best epoch's weights
    are kept; every user is then scored after the whole training sequence.
    A general one (LightGCN, MultiVAE): a random 10% of each user's
    training rows is its early-stopping split, the best epoch is kept and
    every user is scored from the other 90%. The fit time is
    ``trainer.fit`` (its per-epoch validation included, since its early
    stopping needs it). The curve holds each epoch's training loss,
    validation MRR@10 and mean epoch time.
    """

    library_module = "recbole"
    variable = "SK_RECSYS_RECBOLE_PYTHON"
    script = "recbole_side.py"
    guide = "benchmarks/RECBOLE.md"
    # Its sequential fits take hours on the larger sets (every prefix is a
    # sample): they checkpoint every epoch and resume across suite runs.
    resumable = True

    @property
    def sequential(self) -> bool:
        return self.estimator in ("SASRec", "GRU4Rec", "BERT4Rec")


class LensKit(_SideEnvironment):
    """LensKit's scorers (``benchmarks/lenskit_side.py``), implicit feedback.

    ``ImplicitMFScorer`` (ALS), ``ItemKNNScorer`` / ``UserKNNScorer``
    (``feedback="implicit"``), ``EASEScorer``, ``SLIMScorer`` and
    ``FlexMFImplicitScorer``, at LensKit's defaults except the entry's
    parameters; each user is scored from their training items.
    """

    library_module = "lenskit"
    variable = "SK_RECSYS_LENSKIT_PYTHON"
    script = "lenskit_side.py"
    guide = "benchmarks/SIDE_ENVIRONMENTS.md"


class RecTools(_SideEnvironment):
    """RecTools's models (``benchmarks/rectools_side.py``).

    Its transformers ``SASRecModel`` and ``BERT4RecModel`` (sequential: each
    user's rows in the suite's time order) and its ``EASEModel`` /
    ``PureSVDModel``, at RecTools's defaults except the entry's parameters.
    """

    library_module = "rectools"
    variable = "SK_RECSYS_RECTOOLS_PYTHON"
    script = "rectools_side.py"
    guide = "benchmarks/SIDE_ENVIRONMENTS.md"

    @property
    def sequential(self) -> bool:
        return self.estimator in ("SASRecModel", "BERT4RecModel")


SIDE_ENVIRONMENTS = {"recbole": RecBole, "lenskit": LensKit, "rectools": RecTools}
