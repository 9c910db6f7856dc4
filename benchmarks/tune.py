"""Every model of the suite tuned with the same budget: ``python -m benchmarks tune``.

For each (dataset, model) pair of ``suite.toml`` whose model entry has a
``space`` (its search space), ours and the peers' alike:

1. **Search** on a validation split carved from the training rows
   (:func:`benchmarks.suite.validation_fold`: each user's latest training
   row on a leave-last-out dataset, a seeded 10% of each user's training
   rows otherwise; the first fold's for a multi-fold dataset). The test
   rows are never read. ``--trials`` trials (default 20) of Optuna's TPE
   sampler (seeded; its first 10 trials are random), selecting by NDCG@10
   (RMSE for the rating protocol). A space that has fewer settings than
   trials (only choices) is enumerated once, and a model without
   hyperparameters (an empty space) is fitted once.
2. **Refit and test**: the best setting is fitted on the whole training
   rows and evaluated once on the test rows, with ``--seeds`` seeds (3 by
   default; once for an entry marked ``stochastic = false``): mean and
   standard deviation, and each test user's NDCG@10 (mean over seeds) for
   the paired bootstrap of :func:`paired_bootstrap`.

A dataset entry with ``tuned_on = "<other>"`` (the 10M synthetic set, which
names the 1M one: the same generator at a tenth of the size) is not
searched: each model takes the setting chosen on that dataset, which must
be tuned first (a run orders such pairs last), and goes straight to step 2.
The result says so (``selection.reused_from``), and the setting is checked
against the source's again on every rerun.

A search space is a table of the model entry, one key per parameter::

    [models.ease.space]
    l2 = { low = 1.0, high = 10000.0, log = true }   # float (or int bounds)
    n_neighbors = { low = 10, high = 500 }              # int
    loss = { choices = ["bpr", "bce"] }                 # categorical

Results go to ``results/tune/<dataset>/<model>__<config hash>__<machine>.json``
after every trial, with the machine, the library's version and the git
commit. A rerun skips a pair already complete with the same configuration
(entry, space, trials, seeds), on this machine or another, and resumes an
interrupted one of this machine from its stored trials (the sampler is
told them before it asks for more); ``--resume-any-machine`` goes on with
one another machine left unfinished instead of starting anew (its file
keeps the first machine's name, ``continued_on`` records each machine
after it and the first trial it ran, and the table names them all). Each
trial stores its wall time (``wall_s``: the fit and the scoring of the
validation users), and the search time (``search_s``) is their sum, so an
interrupted search keeps what its earlier processes spent. Results stored
before 7 December 2026 lack ``wall_s`` and lost the time of any process
that was interrupted; the report shows those searches as at least the sum
of their fit times.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import _common, peers, suite

TUNE_RESULTS = _common.RESULTS / "tune"
DEFAULT_TRIALS = 20
DEFAULT_SEEDS = 3


# ------------------------------------------------------------------ spaces


def check_space(space: dict, model_name: str) -> dict:
    """The search space of an entry, validated; a one-sentence error if not."""
    for name, spec in space.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{model_name}.space.{name} must be a table.")
        if "choices" in spec:
            if set(spec) != {"choices"} or not spec["choices"]:
                raise ValueError(
                    f"{model_name}.space.{name} must be {{ choices = [...] }} "
                    "with at least one choice."
                )
            continue
        if not {"low", "high"} <= set(spec) <= {"low", "high", "log"}:
            raise ValueError(
                f"{model_name}.space.{name} must have low and high (and "
                "optionally log), or choices."
            )
        if not spec["low"] < spec["high"]:
            raise ValueError(f"{model_name}.space.{name}: low must be below high.")
    return space


def settings_in(space: dict) -> int | None:
    """How many settings a space holds, or None when it has a range."""
    if any("choices" not in spec for spec in space.values()):
        return None
    return int(np.prod([len(spec["choices"]) for spec in space.values()]))


def _distribution(spec: dict):
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if "choices" in spec:
        return CategoricalDistribution(spec["choices"])
    log = bool(spec.get("log", False))
    if isinstance(spec["low"], int) and isinstance(spec["high"], int):
        return IntDistribution(spec["low"], spec["high"], log=log)
    return FloatDistribution(float(spec["low"]), float(spec["high"]), log=log)


def distributions(space: dict) -> dict:
    """Optuna's distribution of every parameter of a space."""
    return {name: _distribution(spec) for name, spec in space.items()}


def trial_budget(space: dict, n_trials: int) -> int:
    """Trials a space gets: ``n_trials``, or its settings when it holds
    fewer (an empty space holds one, the defaults)."""
    n_settings = settings_in(space)
    return n_trials if n_settings is None else min(n_trials, n_settings)


def unsearched_reason(model: dict) -> str | None:
    """Why a model entry is not searched, or None when it has a space.

    The reason is the entry's ``not_searched`` in ``suite.toml``; an entry
    with neither says so, so that no skipped model goes unexplained.
    """
    if "space" in model:
        return None
    return model.get("not_searched", "no reason given")


def _plan(space: dict, n_trials: int, seed: int):
    """The trials to run: a sampler to ask, or the settings to enumerate."""
    n_settings = settings_in(space)
    if n_settings is not None and n_settings <= n_trials:
        names = list(space)
        grid = itertools.product(*(space[name]["choices"] for name in names))
        return None, [dict(zip(names, values, strict=True)) for values in grid]
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    return sampler, None


# -------------------------------------------------------------- evaluation


def objective(protocol: str) -> tuple[str, str]:
    """The selection metric of a protocol and its direction."""
    return ("ndcg@10", "maximize") if protocol == "ranking" else ("rmse", "minimize")


def _entry_with(model: dict, params: dict) -> dict:
    return {**model, "params": {**model.get("params", {}), **params}}


def paired_bootstrap(
    a, b, *, counts=None, n_resamples=1000, seed=0, level=0.95
) -> dict:
    """The mean of ``a - b`` over paired users and its bootstrap interval.

    ``a`` and ``b`` hold one value per test user, in the same user order
    (two models' NDCG@10). Users are resampled with replacement
    ``n_resamples`` times; the interval is the percentile interval at
    ``level``. ``win`` says whether it excludes 0 (then ``a`` is better
    when the difference is positive).

    With ``counts`` (each user's number of test ratings), ``a`` and ``b``
    are each user's sum of squared errors and the statistic is the RMSE
    over the resampled users' ratings, ``RMSE(a) - RMSE(b)`` (``a`` is
    better when it is negative).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError("paired_bootstrap needs two equal-length 1-d arrays.")
    rng = np.random.default_rng(seed)
    rows = rng.integers(len(a), size=(n_resamples, len(a)))
    if counts is None:
        difference = float((a - b).mean())
        means = (a - b)[rows].mean(axis=1)
    else:
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != a.shape:
            raise ValueError("counts needs one number of ratings per user.")
        difference = float(np.sqrt(a.sum() / counts.sum()))
        difference -= float(np.sqrt(b.sum() / counts.sum()))
        n = counts[rows].sum(axis=1)
        means = np.sqrt(a[rows].sum(axis=1) / n) - np.sqrt(b[rows].sum(axis=1) / n)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return {
        "difference": difference,
        "low": float(low),
        "high": float(high),
        "win": bool(low > 0 or high < 0),
        "n_users": len(a),
        "n_resamples": n_resamples,
    }


# ------------------------------------------------------------------- runs


def tune_hash(dataset: dict, model: dict, n_trials: int, n_seeds: int) -> str:
    """Hash of everything that determines a tuned result, but not the machine."""
    text = json.dumps(
        {
            "dataset": dataset,
            "model": model,
            "trials": n_trials,
            "seeds": n_seeds,
            "sampler": "optuna-tpe-seed0",
        },
        sort_keys=True,
    )
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def result_path(dataset_name, model_name, dataset, model, n_trials, n_seeds, machine):
    """Where the tuned result of one configuration lives."""
    key = tune_hash(dataset, model, n_trials, n_seeds)
    name = f"{model_name}__{key}__{suite.machine_key(machine)}.json"
    return TUNE_RESULTS / dataset_name / name


def reused_choice(source_name, source, model_name, model, n_trials, n_seeds) -> dict:
    """The setting chosen for ``model_name`` on ``source_name``, to reuse.

    Read from the source's complete tuned result of the same entry, trials
    and seeds (this machine's first, else any machine's); a
    ``FileNotFoundError`` says what to tune first when there is none.
    """
    found = complete_state(
        result_path(
            source_name, model_name, source, model, n_trials, n_seeds, _common.machine()
        )
    )
    if found is not None:
        path, state = found
        return {"params": state["chosen"]["params"], "result": path.name}
    raise FileNotFoundError(
        f"{model_name} is not tuned on {source_name}, whose setting this dataset "
        f"reuses: run python -m benchmarks tune --datasets {source_name} "
        f"--models {model_name} first"
    )


def complete_state(path: Path) -> tuple[Path, dict] | None:
    """The complete state of this search and its file: this machine's, else
    another's (``path`` is this machine's file of the search).

    The chosen setting and its test scores do not depend on the machine, so
    a search finished anywhere is not run again (its times say where they
    were measured: ``machine_key``). An unfinished one is resumed on the
    machine that started it, so that one search's times come from one
    machine, or elsewhere when asked (:func:`unfinished_elsewhere`).
    """
    for candidate, state in _stored(path):
        if state.get("complete"):
            return candidate, state
    return None


def unfinished_elsewhere(path: Path) -> Path | None:
    """Another machine's unfinished file of this search (the one with most
    trials), or None (``path`` is this machine's file of the search)."""
    found = [
        (len(state["trials"]), candidate)
        for candidate, state in _stored(path)
        if candidate != path and not state.get("complete")
    ]
    return max(found, key=lambda item: item[0])[1] if found else None


def _stored(path: Path):
    """``(file, state)`` of each machine's stored file of this search, this
    machine's (``path``) first: the files differ only by the machine."""
    prefix = path.name.rsplit("__", 1)[0]
    others = sorted(p for p in path.parent.glob(f"{prefix}__*.json") if p != path)
    for candidate in [path, *others]:
        if candidate.exists():
            yield candidate, json.loads(candidate.read_text())


def _continue_here(state, machine) -> None:
    """Record that this machine goes on with a search another one began.

    ``continued_on`` lists each machine after the first with the number of
    the first trial it ran (its trials' times and, for the last one, the
    test fits' come from it): :func:`machines_of` names them all.
    """
    key = suite.machine_key(machine)
    if machines_of(state)[-1][0] != key:
        state.setdefault("continued_on", []).append(
            {"machine_key": key, "machine": machine, "from_trial": len(state["trials"])}
        )


def machines_of(state: dict) -> list[tuple[str, int, int]]:
    """``(machine key, first trial, trials)`` for each machine of a search.

    One entry for a search run on one machine; a search resumed elsewhere
    (``tune --resume-any-machine``) has one more for each machine it went
    on on, and the last ran the test fits.
    """
    steps = [(state["machine_key"], 0)]
    steps += [
        (s["machine_key"], s["from_trial"]) for s in state.get("continued_on", [])
    ]
    ends = [first for _, first in steps[1:]] + [len(state.get("trials", []))]
    return [
        (key, first, end - first) for (key, first), end in zip(steps, ends, strict=True)
    ]


def _write(path, state):
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=1) + "\n")
    temporary.replace(path)  # an interruption never leaves half a file


def _finite(value) -> bool:
    return value is not None and np.isfinite(value)


def _replay(study, spaces, done: dict) -> None:
    """Tell ``study`` a stored trial the way the interrupted search met it.

    The seeded sampler asks again, so its random state moves on as it did
    (adding the stored trial without asking made a resumed search repeat
    its first settings); it asks the stored setting back, and that trial
    gets the stored value. Should it ask anything else (another Optuna),
    the asked trial is dropped as failed and the stored one added.
    """
    import optuna

    states = optuna.trial.TrialState
    finished = _finite(done["value"])
    state = states.COMPLETE if finished else states.FAIL
    trial = study.ask(spaces)
    if trial.params == done["params"]:
        study.tell(trial, done["value"] if finished else None, state=state)
        return
    study.tell(trial, state=states.FAIL)
    study.add_trial(
        optuna.trial.create_trial(
            params=done["params"],
            distributions=spaces,
            value=done["value"] if finished else None,
            state=state,
        )
    )


def search(model, model_name, valid, protocol, space, n_trials, state, path):
    """Run the trials still missing from ``state``; write after each one."""
    metric, direction = objective(protocol)
    sampler, grid = _plan(space, n_trials, seed=0)
    budget = trial_budget(space, n_trials)
    study = None
    if sampler is not None:
        import optuna

        study = optuna.create_study(direction=direction, sampler=sampler)
        spaces = distributions(space)
        for done in state["trials"]:
            _replay(study, spaces, done)
    while len(state["trials"]) < budget:
        number = len(state["trials"])
        start = time.perf_counter()
        if study is not None:
            trial = study.ask(spaces)
            params = dict(trial.params)
        else:
            trial, params = None, grid[number]
        error = None
        try:
            values, fit_s, _, _, _, others = suite.fit_and_score(
                _entry_with(model, params), valid, protocol
            )
            value = values[metric]
        except Exception as exc:  # a setting that fails is a failed trial
            value, fit_s, values, others = None, None, {}, None
            error = f"{type(exc).__name__}: {exc}"
        if study is not None:
            if _finite(value):
                study.tell(trial, value)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
        wall_s = time.perf_counter() - start
        state["trials"].append(
            {
                "number": number,
                "params": params,
                "value": value,
                "valid": values,
                "fit_s": fit_s,
                "wall_s": wall_s,
                "others_busy_cores": others,
                "error": error,
            }
        )
        # Counted with the trial it belongs to, so that a search stopped
        # part-way and resumed keeps the time its earlier processes spent.
        state["search_s"] += wall_s
        shown = "failed: " + error if error else f"{metric} {value:.4f}"
        print(
            f"    {model_name} trial {number + 1:>2}/{budget} {shown} "
            f"{'' if fit_s is None else f'fit {fit_s:.1f}s '}{params}",
            flush=True,
        )
        _write(path, state)
    return budget


def best_trial(trials: list[dict], protocol: str) -> dict:
    """The trial with the best validation value (the first among ties)."""
    finished = [trial for trial in trials if _finite(trial["value"])]
    if not finished:
        raise RuntimeError("every trial failed; see their errors in the result")
    sign = 1 if objective(protocol)[1] == "maximize" else -1
    return max(finished, key=lambda trial: (sign * trial["value"], -trial["number"]))


def test(model, folds, protocol, params, seeds, name=""):
    """Fit the chosen setting on the whole training rows; score the test rows."""
    entry = _entry_with(model, params)
    runs = []
    library = None
    for seed in seeds:
        for fold in folds:
            values, fit_s, _, adapter, _, others = suite.fit_and_score(
                entry, fold, protocol, seed=seed, per_user=True
            )
            library = adapter.library
            per_user = values.pop("per_user", None)
            runs.append(
                {
                    "seed": seed,
                    "fold": fold.name,
                    **values,
                    "fit_s": fit_s,
                    "others_busy_cores": others,
                    "per_user": per_user,
                }
            )
            print(
                f"    {name} test seed {seed} {fold.name}: "
                + " ".join(
                    f"{k} {v:.4f}" for k, v in values.items() if isinstance(v, float)
                ),
                flush=True,
            )
    return runs, library


def summarise(runs, protocol) -> dict:
    """Mean and standard deviation over seeds of each metric (folds averaged)."""
    names = suite.RANKING_METRICS if protocol == "ranking" else suite.RATING_METRICS
    summary = {}
    for name in (*names, "fit_s"):
        per_seed = {}
        for run in runs:
            if run.get(name) is not None:
                per_seed.setdefault(run["seed"], []).append(run[name])
        if per_seed:
            means = [float(np.mean(values)) for values in per_seed.values()]
            summary[name] = {"mean": float(np.mean(means)), "std": float(np.std(means))}
    # Each test user's values per fold, averaged over seeds: NDCG@10, or the
    # sum of squared errors and the number of test ratings. On several folds
    # (u1..u5) each (fold, user) is one unit of the bootstrap.
    pieces = []
    for fold in dict.fromkeys(run["fold"] for run in runs):
        users = [r["per_user"] for r in runs if r.get("per_user") and r["fold"] == fold]
        if users:
            keys = [key for key in users[0] if key != "users"]
            means = {k: np.mean([u[k] for u in users], axis=0).tolist() for k in keys}
            pieces.append((fold, users[0]["users"], means))
    if len(pieces) == 1:
        _, users, means = pieces[0]
        summary["per_user"] = {"users": users, **means}
    elif pieces:
        summary["per_user"] = {
            "users": [[fold, user] for fold, users, _ in pieces for user in users],
            **{
                key: [value for _, _, means in pieces for value in means[key]]
                for key in pieces[0][2]
            },
        }
    return summary


def tune_pair(
    dataset_name,
    dataset,
    model_name,
    model,
    folds,
    *,
    n_trials,
    n_seeds,
    source=None,
    any_machine=False,
):
    """Search, refit and test one pair, resuming from its stored trials.

    ``source`` is the configuration of the dataset named by the entry's
    ``tuned_on``: its chosen setting is reused and nothing is searched.
    ``any_machine``: with no unfinished search of this machine, go on with
    another machine's (see :func:`machines_of`) instead of starting anew.
    """
    machine = _common.machine()
    protocol = dataset["protocol"]
    space = check_space(dict(model.get("space", {})), model_name)
    path = result_path(
        dataset_name, model_name, dataset, model, n_trials, n_seeds, machine
    )
    reused = None
    if dataset.get("tuned_on"):
        reused = reused_choice(
            dataset["tuned_on"], source, model_name, model, n_trials, n_seeds
        )
    found = complete_state(path)
    done = found[1] if found else None
    # a reused choice that changed since makes a complete state stale
    if done is not None and (
        reused is None or done["chosen"]["params"] == reused["params"]
    ):
        print(
            f"  {dataset_name:<16} {model_name:<20} already tuned on "
            f"{done['machine_key']}"
        )
        return done
    if not path.exists() and any_machine:
        path = unfinished_elsewhere(path) or path
    if path.exists():
        state = json.loads(path.read_text())
        begun = state["machine_key"]
        print(
            f"  {dataset_name:<16} {model_name:<20} resuming after "
            f"{len(state['trials'])} trial(s)"
            + ("" if begun == suite.machine_key(machine) else f" begun on {begun}")
        )
        _continue_here(state, machine)
    else:
        state = {
            "dataset": dataset_name,
            "dataset_config": dataset,
            "model": model_name,
            "model_config": model,
            "protocol": protocol,
            "selection": {
                "metric": objective(protocol)[0],
                "validation": "benchmarks.suite.validation_fold of the first fold",
                "sampler": "optuna TPESampler(seed=0)",
                "trials": n_trials,
            },
            "trials": [],
            "search_s": 0.0,
            "machine": machine,
            "machine_key": suite.machine_key(machine),
        }
        print(f"  {dataset_name:<16} {model_name:<20} tuning")
    state["commit"] = _common.git_commit()
    # the torch threads its fits run with (a side environment's peer too)
    state["torch_threads"] = machine["torch_threads"]
    if reused is not None:
        print(f"    {model_name} reuses the setting chosen on {dataset['tuned_on']}")
        state["selection"]["reused_from"] = reused["result"]
        state["budget"] = 0
        # No validation value of its own: this dataset was never searched.
        chosen = {"params": reused["params"], "value": None}
    else:
        valid = suite.validation_fold(folds[0])
        before = len(state["trials"])
        budget = search(
            model, model_name, valid, protocol, space, n_trials, state, path
        )
        state["budget"] = budget
        if len(state["trials"]) > before:
            _write(path, state)
        chosen = best_trial(state["trials"], protocol)
    seeds = list(range(n_seeds)) if model.get("stochastic", True) else [0]
    start = time.perf_counter()
    runs, library = test(model, folds, protocol, chosen["params"], seeds, model_name)
    state.update(
        {
            "chosen": {"params": chosen["params"], "valid": chosen["value"]},
            "test_runs": [
                {k: v for k, v in r.items() if k != "per_user"} for r in runs
            ],
            "test": summarise(runs, protocol),
            "test_s": time.perf_counter() - start,
            "library": library,
            "seeds": seeds,
            "complete": True,
        }
    )
    _write(path, state)
    return state


class Planned(NamedTuple):
    """One pair of ``tune --plan``: its budget, its time and where it stands."""

    dataset: str
    model: str
    trials: int
    seeds: int
    seconds: float | None  # the whole pair's time; None when nothing says
    left_s: float | None  # the part of it still to spend
    basis: str  # how ``seconds`` was found (see :func:`plan`)
    done_on: str | None  # the machine its search was completed on


def _trial_seconds(trial: dict) -> float:
    """A stored trial's wall time, or its fit time if stored before wall times."""
    return trial["wall_s"] if "wall_s" in trial else trial.get("fit_s") or 0.0


def search_seconds(state: dict) -> tuple[float, bool]:
    """A stored search's time, and whether it is only a lower bound.

    Trials stored before their own wall time was kept (``wall_s``) count
    only in ``search_s`` of the process that finished the search, so a
    search interrupted then lost its earlier processes' time; the sum of
    its trials' times (their fit times where no wall time was kept) is
    then the better (lower) bound.
    """
    trials = sum(_trial_seconds(trial) for trial in state.get("trials", []))
    if state["search_s"] < trials:
        return trials, True
    return state["search_s"], False


def spent_s(state: dict) -> float:
    """Seconds a stored search and its test fits took (see :func:`search_seconds`)."""
    return search_seconds(state)[0] + (state.get("test_s") or 0.0)


def _trial_s(state: dict) -> float | None:
    """Mean seconds of a stored trial (fit and validation scoring)."""
    times = [_trial_seconds(trial) for trial in state["trials"]]
    times = [t for t in times if t]
    return float(np.mean(times)) if times else None


def plan(config_path=suite.CONFIG, *, datasets=None, models=None, n_trials, n_seeds):
    """The planned pairs with the time each takes, measured where it can be.

    ``basis`` says how a pair's ``seconds`` was found:

    - ``"measured"``: the pair is complete; the time its search and test
      fits took (on ``done_on``).
    - ``"from N trials"``: a search interrupted on this machine; its stored
      trials plus the rest (trials to go and test fits) at their mean time.
      ``"from N trials begun on <machine>"``: the same for a search another
      machine left unfinished, which ``tune --resume-any-machine`` goes on
      with (else it starts anew here).
    - ``"defaults xR"``: not started; a pair costs about ``trials + seeds``
      fits and evaluations, read from the entry's stored run at its default
      parameters (any machine), times ``R``, the median ratio of measured
      to so-estimated time over this model's complete searches (over all
      models' when it has none), on every dataset of the suite whatever
      ``datasets`` and ``models`` select. Search spaces reach bigger and longer
      settings than the defaults: on the stored searches of 7 December
      2026 the ratio was 0.1-11, median about 1.8.
    - ``"defaults"``: a dataset that reuses another's setting (no trials);
      its test fits at the default run's cost.
    - ``"no stored run"``: nothing to estimate from (``seconds`` is None).
    """
    config = suite.load_config(config_path)
    stored = {}
    for result in suite.load_results():
        mean = result["mean"]
        if mean.get("fit_s") is not None:
            cost = mean["fit_s"] + (mean.get("eval_s") or 0.0)
            stored[(result["dataset"], result["model"])] = cost
    machine = _common.machine()
    # Every pair of the suite is read, so that the ratios below (and so a
    # pair's estimate) do not depend on which pairs were asked for.
    chosen = set(suite.planned(config, datasets=datasets, models=models))
    pairs = []
    for dataset_name, model_name in suite.planned(config):
        model = config["models"][model_name]
        if "space" not in model:
            continue
        space = check_space(dict(model["space"]), model_name)
        trials = 0 if _reuses(config, dataset_name) else trial_budget(space, n_trials)
        seeds = n_seeds if model.get("stochastic", True) else 1
        cost = stored.get((dataset_name, model_name))
        unscaled = None if cost is None else cost * (trials + seeds)
        path = result_path(
            dataset_name,
            model_name,
            config["datasets"][dataset_name],
            model,
            n_trials,
            n_seeds,
            machine,
        )
        found = complete_state(path)
        partial = None  # read only for a pair that is shown
        if found is None and (dataset_name, model_name) in chosen:
            begun = path if path.exists() else unfinished_elsewhere(path)
            if begun is not None:
                partial = json.loads(begun.read_text())
        pairs.append(
            (dataset_name, model_name, trials, seeds, unscaled, found, partial)
        )
    ratios: dict[str, list[float]] = {}
    for _, model_name, trials, _, unscaled, found, _ in pairs:
        # searched pairs only: a reused setting's test fits say nothing of
        # what a search costs
        if found is not None and unscaled and trials:
            ratios.setdefault(model_name, []).append(spent_s(found[1]) / unscaled)
    overall = [r for values in ratios.values() for r in values]
    rows = []
    for dataset_name, model_name, trials, seeds, unscaled, found, partial in pairs:
        if (dataset_name, model_name) not in chosen:
            continue
        done_on = None
        if found is not None:
            seconds, left, basis = spent_s(found[1]), 0.0, "measured"
            done_on = found[1]["machine_key"]
        elif partial is not None and (mean_trial := _trial_s(partial)) is not None:
            stored_trials = len(partial["trials"])
            left = (max(trials - stored_trials, 0) + seeds) * mean_trial
            seconds = spent_s(partial) + left
            basis = f"from {stored_trials} trials"
            if partial["machine_key"] != suite.machine_key(machine):
                # resumed here only with --resume-any-machine
                basis += f" begun on {partial['machine_key']}"
        elif unscaled is None:
            seconds, left, basis = None, None, "no stored run"
        elif trials == 0:  # a reused setting: test fits only
            seconds = left = unscaled
            basis = "defaults"
        else:
            ratio = float(np.median(ratios.get(model_name) or overall or [1.0]))
            seconds = left = unscaled * ratio
            basis = f"defaults x{ratio:.1f}"
        rows.append(
            Planned(
                dataset_name, model_name, trials, seeds, seconds, left, basis, done_on
            )
        )
    return rows


def _tune_loaded(
    config_path, dataset_name, model_name, n_trials, n_seeds, results, any_machine
):
    """One pair in a worker process: its own data, one torch thread."""
    import torch

    global TUNE_RESULTS
    TUNE_RESULTS = Path(results)
    torch.set_num_threads(1)
    config = suite.load_config(config_path)
    dataset = config["datasets"][dataset_name]
    folds = suite.load_folds(dataset, _common.data_home())
    return tune_pair(
        dataset_name,
        dataset,
        model_name,
        config["models"][model_name],
        folds,
        n_trials=n_trials,
        n_seeds=n_seeds,
        source=_source(config, dataset),
        any_machine=any_machine,
    )


def _source(config, dataset):
    """The configuration of the dataset whose settings ``dataset`` reuses."""
    return config["datasets"].get(dataset.get("tuned_on"))


def _reuses(config, dataset_name) -> bool:
    """Whether a dataset reuses another's settings (``tuned_on``)."""
    return "tuned_on" in config["datasets"][dataset_name]


def run(
    config_path=suite.CONFIG,
    *,
    datasets=None,
    models=None,
    n_trials,
    n_seeds,
    jobs=1,
    any_machine=False,
):
    """Tune every planned pair with a search space; the states written.

    ``jobs > 1`` tunes that many pairs at once, each in its own process
    with one torch thread (a pair's own trials stay sequential, so its
    result is the one a single process gives). A pair whose every trial
    fails is reported and the others go on. ``any_machine`` goes on with
    a search another machine left unfinished (see :func:`tune_pair`).
    """
    config = suite.load_config(config_path)
    home = _common.data_home()
    pairs = []
    for dataset_name, model_name in suite.planned(
        config, datasets=datasets, models=models
    ):
        model = config["models"][model_name]
        why = unsearched_reason(model)
        if why is not None:
            print(f"  {dataset_name:<16} {model_name:<20} not searched: {why}")
            continue
        reason = peers.missing(model)
        if reason:
            print(f"  {dataset_name:<16} {model_name:<20} skipped: {reason}")
            continue
        pairs.append((dataset_name, model_name))
    # A dataset that reuses another's settings comes after that one is tuned.
    pairs.sort(key=lambda pair: _reuses(config, pair[0]))
    failures = (RuntimeError, FileNotFoundError, ValueError)
    states = []
    if jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        phases = [
            [pair for pair in pairs if not _reuses(config, pair[0])],
            [pair for pair in pairs if _reuses(config, pair[0])],
        ]
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            for phase in phases:
                futures = [
                    (
                        pair,
                        pool.submit(
                            _tune_loaded,
                            str(config_path),
                            *pair,
                            n_trials,
                            n_seeds,
                            str(TUNE_RESULTS),
                            any_machine,
                        ),
                    )
                    for pair in phase
                ]
                for (dataset_name, model_name), future in futures:
                    try:
                        states.append(future.result())
                    except failures as error:
                        print(f"  {dataset_name:<16} {model_name:<20} failed: {error}")
        return states
    loaded = {}
    for dataset_name, model_name in pairs:
        dataset = config["datasets"][dataset_name]
        if dataset_name not in loaded:
            try:
                loaded[dataset_name] = suite.load_folds(dataset, home)
            except (FileNotFoundError, ValueError) as error:
                print(f"  {dataset_name}: skipped ({error})")
                loaded[dataset_name] = None
        if loaded[dataset_name] is None:
            continue
        try:
            states.append(
                tune_pair(
                    dataset_name,
                    dataset,
                    model_name,
                    config["models"][model_name],
                    loaded[dataset_name],
                    n_trials=n_trials,
                    n_seeds=n_seeds,
                    source=_source(config, dataset),
                    any_machine=any_machine,
                )
            )
        except failures as error:
            print(f"  {dataset_name:<16} {model_name:<20} failed: {error}")
    return states
