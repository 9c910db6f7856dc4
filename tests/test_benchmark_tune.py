"""The tuning harness gives every model the same budget and never selects on test.

``python -m benchmarks tune`` is what makes the published comparison fair:
each (dataset, model) pair gets the same number of trials on a validation
split carved from the training rows, and only the chosen setting, refit on
the whole training rows, ever meets the test rows.
"""

import json

import numpy as np
import pytest

pytest.importorskip("optuna")
suite = pytest.importorskip("benchmarks.suite")
peers = pytest.importorskip("benchmarks.peers")
tune = pytest.importorskip("benchmarks.tune")

CONFIG = """
[datasets.tiny]
label = "tiny synthetic"
source = "synthetic"
params = { n_users = 60, n_items = 40, interactions_per_user = 12 }
test_size = 0.2
seed = 0
protocol = "ranking"

[models.ease]
library = "sk_recsys"
estimator = "ease"
stochastic = false
[models.ease.space]
l2 = { low = 1.0, high = 1000.0, log = true }

[models.knn]
library = "sk_recsys"
estimator = "item_knn"
stochastic = false
[models.knn.space]
n_neighbors = { low = 2, high = 30 }
shrinkage = { choices = [0.0, 10.0] }

[models.pop]
library = "sk_recsys"
estimator = "popularity"
space = {}

[models.untuned]
library = "sk_recsys"
estimator = "ease"

[[runs]]
datasets = ["tiny"]
models = ["ease", "knn", "pop", "untuned"]
"""


@pytest.fixture
def harness(tmp_path, monkeypatch):
    """The tiny configuration, results under tmp_path, every fit recorded."""
    config = tmp_path / "suite.toml"
    config.write_text(CONFIG)
    monkeypatch.setattr(tune, "TUNE_RESULTS", tmp_path / "tune")
    fits = []
    make = peers.make

    def recording_make(model, protocol, *, seed=0):
        adapter = make(model, protocol, seed=seed)
        fit = adapter.fit

        def recorded(fold, **kwargs):
            fits.append((model["estimator"], fold.name, dict(adapter.params), seed))
            return fit(fold, **kwargs)

        adapter.fit = recorded
        return adapter

    monkeypatch.setattr(peers, "make", recording_make)
    return config, fits


def test_every_model_gets_the_same_trials_and_test_is_read_once(harness):
    config, fits = harness
    states = tune.run(config, n_trials=5, n_seeds=2)
    by_model = {state["model"]: state for state in states}
    # The model without a space is not tuned (and says so); the others get
    # the same budget, and the one without hyperparameters a single fit.
    assert set(by_model) == {"ease", "knn", "pop"}
    assert len(by_model["ease"]["trials"]) == len(by_model["knn"]["trials"]) == 5
    assert len(by_model["pop"]["trials"]) == 1
    for name, estimator in [("ease", "ease"), ("knn", "item_knn")]:
        own = [fit for fit in fits if fit[0] == estimator]
        # Every trial fits on the validation fold; then one fit on the whole
        # training rows per seed (these models are deterministic: one).
        assert [fit[1] for fit in own] == ["holdout-validation"] * 5 + ["holdout"]
        state = by_model[name]
        chosen = state["chosen"]["params"]
        values = [trial["value"] for trial in state["trials"]]
        assert state["chosen"]["valid"] == max(values)
        assert {k: own[-1][2][k] for k in chosen} == chosen  # the refit setting
        assert state["complete"] and state["seeds"] == [0]
        assert len(state["test"]["per_user"]["ndcg@10"]) == len(
            state["test"]["per_user"]["users"]
        )
    pop = [fit for fit in fits if fit[0] == "popularity"]
    assert [(fit[1], fit[3]) for fit in pop] == [
        ("holdout-validation", 0),
        ("holdout", 0),
        ("holdout", 1),  # stochastic by default: one test fit per seed
    ]


def test_validation_never_holds_a_test_row(harness):
    config, _ = harness
    spec = suite.load_config(config)["datasets"]["tiny"]
    (fold,) = suite.load_folds(spec, None)
    valid = tune.suite.validation_fold(fold)
    pairs = set(zip(fold.test["user"], fold.test["item"], strict=True))
    for frame in (valid.train, valid.test):
        assert not pairs & set(zip(frame["user"], frame["item"], strict=True))


def test_an_interrupted_run_resumes_and_a_finished_one_is_skipped(harness):
    config, fits = harness
    tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    (path,) = (tune.TUNE_RESULTS / "tiny").glob("ease__*.json")
    # Interrupted after two trials: the stored file has no test yet.
    stored = json.loads(path.read_text())
    uninterrupted = [trial["params"] for trial in stored["trials"]]
    first_two = stored["trials"][:2]
    stored["trials"] = first_two
    del stored["complete"]
    path.write_text(json.dumps(stored))
    fits.clear()
    (resumed,) = tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    assert resumed["trials"][:2] == first_two
    # the resumed search asks what the uninterrupted one asked, never a
    # setting it already measured again
    assert [trial["params"] for trial in resumed["trials"]] == uninterrupted
    assert len({json.dumps(params) for params in uninterrupted}) == 4
    assert [fit[1] for fit in fits] == ["holdout-validation"] * 2 + ["holdout"]
    fits.clear()
    tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    assert fits == []  # complete with the same configuration: skipped


def test_a_space_of_few_settings_is_enumerated_once(harness):
    config, _ = harness
    text = config.read_text().replace(
        "n_neighbors = { low = 2, high = 30 }", "n_neighbors = { choices = [5, 10] }"
    )
    config.write_text(text)
    (state,) = tune.run(config, models=["knn"], n_trials=20, n_seeds=1)
    settings = [trial["params"] for trial in state["trials"]]
    assert len(settings) == 4
    assert {tuple(sorted(s.items())) for s in settings} == {
        (("n_neighbors", n), ("shrinkage", s)) for n in (5, 10) for s in (0.0, 10.0)
    }


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"l2": 3}, "must be a table"),
        ({"l2": {"low": 5, "high": 1}}, "low must be below high"),
        ({"l2": {"low": 1}}, "must have low and high"),
        ({"l2": {"choices": []}}, "at least one choice"),
    ],
)
def test_a_bad_space_gets_a_clear_error(space, message):
    with pytest.raises(ValueError, match=message):
        tune.check_space(space, "ease")


def test_paired_bootstrap_marks_a_win_only_when_the_interval_excludes_zero():
    rng = np.random.default_rng(0)
    base = rng.random(500)
    better = tune.paired_bootstrap(base + 0.05, base)
    assert better["win"] and better["low"] > 0
    assert better["difference"] == pytest.approx(0.05)
    noise = tune.paired_bootstrap(base + rng.normal(0, 0.1, 500), base)
    assert not noise["win"] and noise["low"] < 0 < noise["high"]
    again = tune.paired_bootstrap(base + 0.05, base)
    assert again == better  # seeded
    with pytest.raises(ValueError, match="equal-length"):
        tune.paired_bootstrap(base, base[:10])


def test_the_rmse_bootstrap_resamples_users_with_their_ratings():
    # A user with many test ratings weighs more in the RMSE than one with
    # few: the statistic is the RMSE over the resampled users' ratings.
    rng = np.random.default_rng(0)
    counts = rng.integers(1, 30, 400)
    errors_b = rng.random(400) * counts  # sums of squared errors
    errors_a = errors_b * 0.8
    result = tune.paired_bootstrap(errors_a, errors_b, counts=counts)
    expected = np.sqrt(errors_a.sum() / counts.sum())
    expected -= np.sqrt(errors_b.sum() / counts.sum())
    assert result["difference"] == pytest.approx(expected)
    assert result["win"] and result["high"] < 0  # a's RMSE is lower
    same = tune.paired_bootstrap(errors_b, errors_b, counts=counts)
    assert not same["win"] and same["low"] == same["high"] == 0
    with pytest.raises(ValueError, match="one number of ratings per user"):
        tune.paired_bootstrap(errors_a, errors_b, counts=counts[:10])


def test_every_fold_of_a_multi_fold_dataset_enters_the_bootstrap():
    # u1..u5: each (fold, user) is one unit, averaged over seeds; the
    # interval is of the whole test set, not of the first fold only.
    def run(seed, fold, users, sse):
        per_user = {"users": users, "sse": sse, "count": [1] * len(users)}
        return {"seed": seed, "fold": fold, "rmse": 1.0, "per_user": per_user}

    runs = [
        run(0, "u1", [1, 2], [1.0, 2.0]),
        run(1, "u1", [1, 2], [3.0, 4.0]),
        run(0, "u2", [2], [5.0]),
        run(1, "u2", [2], [7.0]),
    ]
    per_user = tune.summarise(runs, "rating")["per_user"]
    assert per_user == {
        "users": [["u1", 1], ["u1", 2], ["u2", 2]],
        "sse": [2.0, 3.0, 6.0],
        "count": [1.0, 1.0, 1.0],
    }
    one_fold = tune.summarise(runs[:2], "rating")["per_user"]
    assert one_fold["users"] == [1, 2]  # one fold: users as they are


def test_pairs_tuned_in_parallel_match_one_process(harness, tmp_path, monkeypatch):
    config, _ = harness
    serial = {s["model"]: s for s in tune.run(config, n_trials=3, n_seeds=1)}
    monkeypatch.setattr(tune, "TUNE_RESULTS", tmp_path / "parallel")
    parallel = tune.run(config, n_trials=3, n_seeds=1, jobs=2)
    assert {s["model"] for s in parallel} == set(serial)
    for state in parallel:
        again = serial[state["model"]]
        assert [t["params"] for t in state["trials"]] == [
            t["params"] for t in again["trials"]
        ]
        assert state["chosen"] == again["chosen"]
        assert state["test"]["ndcg@10"] == again["test"]["ndcg@10"]
    assert list((tmp_path / "parallel" / "tiny").glob("*.json"))


def test_the_tuned_tables_say_who_wins_and_how_sure(harness):
    report = pytest.importorskip("benchmarks.report")
    config, _ = harness
    states = tune.run(config, n_trials=3, n_seeds=1)
    text = report.tuned_section(states)
    assert "| tiny |" in text  # the summary row of the dataset
    for state in states:
        assert f"| {state['model']} | sk_recsys" in text
    # The top two are compared over the same test users.
    assert "Top two, paired bootstrap over test users" in text
    ease, knn = (next(s for s in states if s["model"] == m) for m in ("ease", "knn"))
    result = report.compare(ease, knn)
    assert result["n_users"] == len(ease["test"]["per_user"]["users"])
    assert report.compare(ease, ease)["win"] is False  # a model never beats itself


def test_a_dataset_tuned_on_another_reuses_its_choice_without_searching(harness):
    config, fits = harness
    # A larger set from the same generator reuses the choices made on the
    # small one; it is listed first, and still tuned after its source.
    text = config.read_text().replace(
        'datasets = ["tiny"]', 'datasets = ["bigger", "tiny"]'
    )
    text += """
[datasets.bigger]
label = "bigger synthetic"
source = "synthetic"
params = { n_users = 90, n_items = 40, interactions_per_user = 12 }
test_size = 0.2
seed = 0
protocol = "ranking"
tuned_on = "tiny"
"""
    config.write_text(text)
    # Without the source's result there is nothing to reuse: it says so.
    assert (
        tune.run(config, datasets=["bigger"], models=["ease"], n_trials=3, n_seeds=1)
        == []
    )
    states = tune.run(config, models=["ease", "knn"], n_trials=3, n_seeds=1)
    assert [s["dataset"] for s in states] == ["tiny", "tiny", "bigger", "bigger"]
    small = {s["model"]: s for s in states if s["dataset"] == "tiny"}
    for state in states[2:]:
        assert state["trials"] == [] and state["complete"]
        assert state["chosen"]["params"] == small[state["model"]]["chosen"]["params"]
        assert state["selection"]["reused_from"].startswith(state["model"] + "__")
        assert state["chosen"]["valid"] is None  # never validated on this set
    # Nothing of the bigger set is fitted on a validation split: one test fit.
    bigger = [fit for fit in fits if fit[1] == "holdout" and fit[0] == "ease"]
    assert len(bigger) == 2  # tiny's refit, bigger's refit
    assert not [f for f in fits[-2:] if f[1] == "holdout-validation"]
    report = pytest.importorskip("benchmarks.report")
    assert "| 0 (setting of tiny) |" in report.tuned_section(states)


def _interrupt_at_the_third_trial(config, monkeypatch):
    """Stop EASE's 4-trial search as Ctrl-C would, at its third trial.

    Returns the real ``fit_and_score``, to put back before resuming.
    """
    score = suite.fit_and_score
    calls = []

    def stopped_at_the_third_trial(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args)
        return score(*args, **kwargs)

    monkeypatch.setattr(suite, "fit_and_score", stopped_at_the_third_trial)
    with pytest.raises(KeyboardInterrupt):
        tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    return score


def test_an_interrupted_search_keeps_the_time_its_first_process_spent(
    harness, monkeypatch
):
    # The search time of a pair is what a user budgets for: a search that was
    # stopped and resumed counts the time of every process that ran it.
    config, _ = harness
    score = _interrupt_at_the_third_trial(config, monkeypatch)
    (path,) = (tune.TUNE_RESULTS / "tiny").glob("ease__*.json")
    stored = json.loads(path.read_text())
    assert len(stored["trials"]) == 2
    first = sum(trial["wall_s"] for trial in stored["trials"])
    assert first > 0 and stored["search_s"] == pytest.approx(first)
    monkeypatch.setattr(suite, "fit_and_score", score)
    (resumed,) = tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    walls = [trial["wall_s"] for trial in resumed["trials"]]
    assert walls[:2] == [trial["wall_s"] for trial in stored["trials"]]
    assert resumed["search_s"] == pytest.approx(sum(walls))


def test_a_search_whose_early_time_was_lost_shows_a_lower_bound(harness):
    # Results stored before trials kept their own time lost what an
    # interrupted process spent; the table shows at least their fit times.
    report = pytest.importorskip("benchmarks.report")
    config, _ = harness
    (state,) = tune.run(config, models=["ease"], n_trials=3, n_seeds=1)
    assert f"| {report._seconds(state['search_s'])} |" in report.tuned_section([state])
    old = json.loads(json.dumps(state))
    for trial in old["trials"]:
        del trial["wall_s"]
    fits = sum(trial["fit_s"] for trial in old["trials"])
    old["search_s"] = 0.0  # the process that finished ran no trial
    assert f"| >= {report._seconds(fits)} |" in report.tuned_section([old])
    old["search_s"] = fits * 2  # one process ran them all: its time is kept
    assert f"| {report._seconds(fits * 2)} |" in report.tuned_section([old])


def test_the_rating_protocol_selects_the_lowest_validation_rmse(harness):
    # MovieLens-100K u1..u5 is tuned by RMSE: the lowest validation error
    # wins, and the refit is tested on every fold by RMSE.
    config, fits = harness
    # The tiny dataset again, with 1-5 ratings.
    ratings = (
        CONFIG.split("[models.ease]")[0]
        .replace("[datasets.tiny]", "[datasets.tiny-ratings]")
        .replace('protocol = "ranking"', 'protocol = "rating"')
    )
    text = (
        config.read_text()
        + ratings
        + """
[models.mf-mse]
library = "sk_recsys"
estimator = "mf"
params = { loss = "mse", max_epochs = 2, random_state = 0 }
[models.mf-mse.space]
l2 = { low = 0.001, high = 10.0, log = true }

[[runs]]
datasets = ["tiny-ratings"]
models = ["mf-mse"]
"""
    )
    config.write_text(text)
    (state,) = tune.run(config, datasets=["tiny-ratings"], n_trials=4, n_seeds=1)
    values = [trial["value"] for trial in state["trials"]]
    assert len(values) == 4 and len(set(values)) > 1
    assert state["chosen"]["valid"] == min(values)
    assert set(state["test"]) >= {"rmse", "mae"}
    assert [fit[1] for fit in fits] == ["holdout-validation"] * 4 + ["holdout"]
    # Each test user's squared errors and ratings are kept: they give back
    # the RMSE, and the paired bootstrap of two models' RMSE.
    users = state["test"]["per_user"]
    total = np.sqrt(np.sum(users["sse"]) / np.sum(users["count"]))
    assert total == pytest.approx(state["test"]["rmse"]["mean"])
    report = pytest.importorskip("benchmarks.report")
    worse = json.loads(json.dumps(state))
    worse["model"] = "worse"
    worse["test"]["per_user"]["sse"] = [2 * v + 1 for v in users["sse"]]
    verdict = report._verdict("mf-mse", "worse", report.compare(state, worse), False)
    assert verdict.endswith(": mf-mse wins") and verdict.startswith("-")


def test_the_summary_names_every_planned_dataset_tuned_or_not(harness):
    # A reader must see which datasets are not tuned yet, not miss them.
    report = pytest.importorskip("benchmarks.report")
    config, _ = harness
    states = tune.run(config, models=["ease"], n_trials=2, n_seeds=1)
    text = report.tuned_section(states)
    suite_config = suite.load_config()
    for name in dict.fromkeys(dataset for dataset, _ in suite.planned(suite_config)):
        label = suite_config["datasets"][name]["label"]
        _, planned = report.tuned_coverage(name, [], suite_config)
        if planned:
            assert f"| {label} | - | - | not tuned yet (0 of {planned} " in text
    # The tuned one has its row (named by key); with no peer tuned beside it,
    # the difference column says so instead of comparing.
    (row,) = [line for line in text.splitlines() if line.startswith("| tiny | ease ")]
    assert row.endswith("| - | no peer tuned yet |")


def test_a_tuned_table_from_two_machines_names_each_rows_machine(harness):
    # Search and fit times from different machines do not compare: a table
    # that mixes them says which machine measured each row.
    report = pytest.importorskip("benchmarks.report")
    config, _ = harness
    states = tune.run(config, n_trials=3, n_seeds=1)
    one = report.tuned_section(states)
    assert "| machine |" not in one and "machine: " in one
    other = {**states[0], "machine_key": "other-machine-2c", "torch_threads": 1}
    mixed = report.tuned_section([other, *states[1:]])
    assert "| search s | fit s | machine | chosen setting |" in mixed
    assert (
        f"| other-machine-2c | {report._setting(other['chosen']['params'])} |" in mixed
    )
    assert "times compare only within one" in mixed
    # the same machine at another torch thread count does not compare either
    threads = {**states[0], "torch_threads": states[0]["torch_threads"] + 1}
    mixed = report.tuned_section([threads, *states[1:]])
    assert f"{threads['torch_threads']} threads | " in mixed
    assert "times compare only within one" in mixed


def test_validation_rows_of_another_machine_are_kept_and_not_measured_again(
    tmp_path, monkeypatch
):
    # A selection script run on a new machine keeps what another measured
    # (its validation scores hold anywhere) and says which machine each
    # row's times come from.
    selection = pytest.importorskip("benchmarks.selection")
    common = pytest.importorskip("benchmarks._common")
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    old = {"model": "ease", "params": {"l2": 10.0}, "best_ndcg@10": 0.3, "fit_s": 1.0}
    other = {**common.machine(), "cpu": "Another CPU"}
    path = tmp_path / "baseline_selection_tiny.json"
    path.write_text(json.dumps({"machine": other, "rows": [old]}))
    (stored,) = selection.stored_rows(path)
    assert stored["machine_key"] == suite.machine_key(other)
    mine = suite.machine_key(common.machine())
    new = {**old, "params": {"l2": 50.0}, "best_ndcg@10": 0.4, "machine_key": mine}
    selection.write("baseline_selection_tiny", "tiny", [new], 10)
    written = json.loads(path.read_text())
    assert {row["machine_key"] for row in written["rows"]} == {
        mine,
        suite.machine_key(other),
    }
    assert "machine_key" in written["columns"]
    assert written["best"]["ease"]["params"] == {"l2": 50.0}


def test_a_search_completed_on_another_machine_is_not_run_again(harness, monkeypatch):
    # The chosen setting and its test scores hold on any machine: a rerun on
    # a new one skips what another finished (an unfinished search is resumed
    # where it started unless asked, so its times come from one machine).
    config, fits = harness
    (first,) = tune.run(config, models=["ease"], n_trials=3, n_seeds=1)
    measured = len(fits)
    common = pytest.importorskip("benchmarks._common")
    real = common.machine

    def elsewhere():
        return {**real(), "cpu": "Another CPU"}

    monkeypatch.setattr(common, "machine", elsewhere)
    (again,) = tune.run(config, models=["ease"], n_trials=3, n_seeds=1)
    assert len(fits) == measured  # nothing fitted
    assert again["machine_key"] == first["machine_key"]
    assert again["chosen"] == first["chosen"]
    rows = tune.plan(config, models=["ease"], n_trials=3, n_seeds=1)
    assert [row[-1] for row in rows] == [first["machine_key"]]
    # A different search (more trials) is not the same: it runs.
    tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    assert len(fits) > measured


def test_a_search_left_unfinished_elsewhere_goes_on_only_when_asked(
    harness, monkeypatch
):
    # Sessions do not always get the machine that began a long search: with
    # --resume-any-machine the new one goes on from the stored trials (the
    # search the uninterrupted one would have made), and the table says
    # which machine ran which trials and the test fits.
    report = pytest.importorskip("benchmarks.report")
    common = pytest.importorskip("benchmarks._common")
    config, fits = harness
    (whole,) = tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    (path,) = (tune.TUNE_RESULTS / "tiny").glob("ease__*.json")
    stored = json.loads(path.read_text())
    stored["trials"] = stored["trials"][:2]
    del stored["complete"]
    path.write_text(json.dumps(stored))
    real = common.machine
    monkeypatch.setattr(common, "machine", lambda: {**real(), "cpu": "Another CPU"})
    here = suite.machine_key(common.machine())
    rows = tune.plan(config, models=["ease"], n_trials=4, n_seeds=1)
    assert rows[0].basis == f"from 2 trials begun on {stored['machine_key']}"
    fits.clear()
    (resumed,) = tune.run(
        config, models=["ease"], n_trials=4, n_seeds=1, any_machine=True
    )
    assert [fit[1] for fit in fits] == ["holdout-validation"] * 2 + ["holdout"]
    assert [t["params"] for t in resumed["trials"]] == [
        t["params"] for t in whole["trials"]
    ]
    assert resumed["machine_key"] == stored["machine_key"] != here
    assert tune.machines_of(resumed) == [(stored["machine_key"], 0, 2), (here, 2, 2)]
    assert list((tune.TUNE_RESULTS / "tiny").glob("ease__*.json")) == [path]
    label = report._machine(resumed)
    assert label.startswith(f"{stored['machine_key']}") and "(trials 1-2)" in label
    assert f"then {here}" in label and label.endswith("(trials 3-4, test fits)")
    assert f"| {label} |" in report.tuned_section([resumed, whole])
    # Without the flag a new machine starts its own search.
    path.write_text(json.dumps(stored))
    fits.clear()
    (anew,) = tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    assert len(fits) == 5 and anew["machine_key"] == here
    assert "continued_on" not in anew


def test_another_seed_adds_a_result_beside_seed_0s_for_stochastic_models(
    harness, tmp_path, monkeypatch
):
    config, fits = harness
    monkeypatch.setattr(suite, "SUITE_RESULTS", tmp_path / "suite")
    first = suite.run(config, models=["ease", "pop"], curves=False)
    assert len(first) == 2
    # EASE is marked deterministic: a second seed would repeat seed 0.
    (extra,) = suite.run(config, models=["ease", "pop"], curves=False, seed=1)
    assert extra.name.startswith("pop__") and extra.name.endswith("__seed1.json")
    assert extra.with_name(extra.name.replace("__seed1", "")) in first
    assert json.loads(extra.read_text())["seed"] == 1
    assert [fit[3] for fit in fits if fit[0] == "popularity"] == [0, 1]
    assert suite.run(config, models=["pop"], curves=False, seed=1) == []


def test_the_plan_measures_what_it_can_and_scales_the_rest(
    harness, tmp_path, monkeypatch
):
    # A user budgets the tuned suite from --plan: a finished search shows
    # the time it took, a begun one its stored trials plus the rest at their
    # mean, and a pair not begun its default run times trials and seeds,
    # scaled by what finished searches cost against that estimate.
    config, _ = harness
    monkeypatch.setattr(suite, "SUITE_RESULTS", tmp_path / "suite")
    suite.run(config, models=["ease", "knn"], curves=False)
    defaults = {
        result["model"]: result["mean"]["fit_s"] + (result["mean"]["eval_s"] or 0.0)
        for result in suite.load_results()
    }

    def plan():
        rows = tune.plan(config, models=["ease", "knn"], n_trials=4, n_seeds=1)
        return {row.model: row for row in rows}

    fresh = plan()
    assert fresh["ease"].basis == "defaults x1.0" and fresh["ease"].done_on is None
    assert fresh["ease"].seconds == pytest.approx(defaults["ease"] * (4 + 1))
    assert fresh["ease"].left_s == fresh["ease"].seconds

    score = _interrupt_at_the_third_trial(config, monkeypatch)
    (path,) = (tune.TUNE_RESULTS / "tiny").glob("ease__*.json")
    walls = [trial["wall_s"] for trial in json.loads(path.read_text())["trials"]]
    begun = plan()["ease"]
    assert begun.basis == "from 2 trials"
    # two trials and the test fit to go, at the stored trials' mean
    assert begun.left_s == pytest.approx(3 * np.mean(walls))
    assert begun.seconds == pytest.approx(sum(walls) + begun.left_s)

    monkeypatch.setattr(suite, "fit_and_score", score)
    (state,) = tune.run(config, models=["ease"], n_trials=4, n_seeds=1)
    done = plan()
    assert done["ease"].basis == "measured" and done["ease"].left_s == 0.0
    assert done["ease"].done_on == state["machine_key"]
    assert done["ease"].seconds == pytest.approx(state["search_s"] + state["test_s"])
    # knn has no finished search: the ratio of the models that have one
    ratio = done["ease"].seconds / fresh["ease"].seconds
    assert done["knn"].basis == f"defaults x{ratio:.1f}"
    assert done["knn"].seconds == pytest.approx(fresh["knn"].seconds * ratio)
    # Asking for knn alone gives the same estimate: the ratio comes from the
    # whole suite's finished searches, not from the selection's.
    (alone,) = tune.plan(config, models=["knn"], n_trials=4, n_seeds=1)
    assert alone == done["knn"]


def test_a_model_without_a_search_space_is_listed_with_its_reason(harness):
    # A reader of the tuned tables must see which planned models were not
    # searched, and why, rather than find them silently missing.
    report = pytest.importorskip("benchmarks.report")
    config, _ = harness
    text = config.read_text().replace(
        "[models.untuned]\n",
        '[models.untuned]\nnot_searched = "one fit takes a day here"\n',
    )
    text = text.replace('"pop", "untuned"]', '"pop", "untuned", "slow-peer"]')
    text += """
[models.slow-peer]
library = "implicit"
estimator = "AlternatingLeastSquares"
"""
    config.write_text(text)
    states = tune.run(config, n_trials=2, n_seeds=1)
    assert {state["model"] for state in states} == {"ease", "knn", "pop"}
    page = report.tuned_section(states, suite.load_config(config))
    assert "- `untuned` (sk_recsys): one fit takes a day here." in page
    assert "- `slow-peer` (implicit): no reason given." in page
    (summary,) = [
        line for line in page.splitlines() if line.startswith("| tiny synthetic |")
    ]
    assert "no peer tuned yet (1 peer not searched: see its table)" in summary


def test_every_model_the_suite_does_not_search_says_why():
    config = suite.load_config()
    unexplained = {
        model
        for _, model in suite.planned(config)
        if "space" not in config["models"][model]
        and "not_searched" not in config["models"][model]
    }
    assert unexplained == set()
