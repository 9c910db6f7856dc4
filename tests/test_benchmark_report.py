"""The results page shows each model once, at its current setting, legibly."""

import itertools
import subprocess
import sys
import time

import pytest

report = pytest.importorskip("benchmarks.report")
suite = pytest.importorskip("benchmarks.suite")
_common = pytest.importorskip("benchmarks._common")

DATASET = {"source": "synthetic", "protocol": "ranking"}


def _result(model, params, machine, ndcg):
    return {
        "dataset": "tiny",
        "model": model,
        "dataset_config": DATASET,
        "model_config": {"library": "sk_recsys", "estimator": model, "params": params},
        "machine_key": machine,
        "mean": {"ndcg@10": ndcg},
    }


def test_a_superseded_setting_and_a_second_machine_are_not_shown_twice():
    config = {
        "datasets": {"tiny": DATASET},
        "models": {
            "ease": {"library": "sk_recsys", "estimator": "ease", "params": {"l2": 10}},
            "pop": {"library": "sk_recsys", "estimator": "pop", "params": {}},
        },
    }
    results = [
        _result("ease", {"l2": 500}, "a", 0.30),  # an older setting
        _result("ease", {"l2": 10}, "b", 0.31),  # the configured one
        _result("pop", {}, "a", 0.10),
        _result("pop", {}, "b", 0.11),
        _result("gone", {}, "b", 0.2),  # no longer configured: kept until replaced
    ]
    shown = {(r["model"], r["machine_key"]) for r in report.shown(results, config)}
    # Machine b measured most of the dataset, so its pop row is the one kept.
    assert shown == {("ease", "b"), ("pop", "b"), ("gone", "b")}


def test_a_models_other_seeds_join_its_row_as_mean_and_spread():
    config = {
        "datasets": {"tiny": DATASET},
        "models": {"mf": {"library": "sk_recsys", "estimator": "mf", "params": {}}},
    }
    seeds = [_result("mf", {}, "a", ndcg) for ndcg in (0.30, 0.32, 0.34)]
    for seed, result in enumerate(seeds):
        result["mean"]["fit_s"] = 10.0 * (seed + 1)
        if seed:  # seed 0's result predates the seed field
            result["seed"] = seed
    older = _result("mf", {"n": 1}, "a", 0.5)  # another setting is not a seed
    (row,) = report.shown([*seeds, {**older, "seed": 1}], config)
    assert row["seeds"] == [0, 1, 2]
    assert row["mean"]["ndcg@10"] == pytest.approx(0.32)
    assert row["mean"]["fit_s"] == pytest.approx(20.0)
    assert row["seed_std"]["ndcg@10"] == pytest.approx(0.0163, abs=1e-4)
    row = {**row, "protocol": "ranking", "library": "x", "machine": {}, "folds": []}
    table = report.dataset_table([row])
    assert "| mf (3 seeds) | x | 0.3200 ± 0.0163 |" in table
    (alone,) = report.shown(seeds[:1], config)
    assert "seeds" not in alone and alone["mean"]["ndcg@10"] == 0.30


def test_a_search_over_a_changed_space_is_not_shown_twice():
    ease = {"library": "sk_recsys", "estimator": "ease", "space": {"l2": {}}}
    wider = {**ease, "space": {"l2": {}, "n": {}}}
    config = {"datasets": {"tiny": DATASET}, "models": {"ease": wider}}

    def state(model_config, machine):
        return {
            "dataset": "tiny",
            "model": "ease",
            "dataset_config": DATASET,
            "model_config": model_config,
            "machine_key": machine,
        }

    older = [state(ease, "a")]
    # until the current space's search is complete, the older one stays
    assert report.shown_tuned(older, config) == older
    states = [*older, state(wider, "a"), state(wider, "b"), state(ease, "b")]
    (kept,) = report.shown_tuned(states, config)
    assert kept["model_config"] == wider


def test_labels_of_crowded_points_do_not_overlap():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5.5))
    # Twelve models in a tight cluster, as the neural models of ua sit.
    xs = [10 + 0.3 * i for i in range(12)]
    ys = [0.30 + 0.0005 * (i % 3) for i in range(12)]
    axes.scatter(xs, ys)
    axes.set_xscale("log")
    axes.set_xlim(0.01, 1000)
    axes.set_ylim(0.1, 0.35)
    figure.tight_layout()
    notes = report.place_labels(axes, xs, ys, [f"model-{i}" for i in range(12)])
    from matplotlib.text import Text

    renderer = figure.canvas.get_renderer()
    boxes = []
    for note in notes:  # the text's own box (an annotation's covers its line)
        note.update_positions(renderer)
        boxes.append(Text.get_window_extent(note, renderer).extents)
    assert len(boxes) == 12
    for a, b in itertools.combinations(boxes, 2):
        assert report._overlap(a, b) == 0
    plt.close(figure)


def test_a_result_measured_on_two_machines_says_each_row_has_its_own():
    render = pytest.importorskip("benchmarks.render")
    machine = {"cpu": "CPU", "cores": 2, "python": "3.11", "torch": "2"}
    result = {
        "title": "Validation on tiny",
        "command": "python latest.py",
        "machine": machine,
        "columns": ["model", "fit_s", "machine_key"],
        "rows": [
            {"model": "a", "fit_s": 1.0, "machine_key": "old-2c"},
            {"model": "b", "fit_s": 2.0, "machine_key": "new-2c"},
        ],
    }
    text = render.render_result(result)
    assert "Machines: each row's `machine_key`" in text
    assert "| a | 1.0000 | old-2c |" in text
    one = render.render_result({**result, "rows": result["rows"][:1]})
    assert "Machine: CPU, 2 cores" in one and "Machines:" not in one


def test_a_row_timed_on_more_than_one_torch_thread_says_so():
    # Fit times of the suite compare at one torch thread; a row measured on
    # more (a long peer fit given both cores) must not pass for one.
    def result(model, threads, fit_s):
        return {
            **_result(model, {}, "m-2c", 0.1),
            "protocol": "ranking",
            "library": "lib",
            "machine": {"torch_threads": threads},
            "mean": {"ndcg@10": 0.1, "fit_s": fit_s},
        }

    table = report.dataset_table([result("a", 1, 5.0), result("b", 2, 9.0)])
    assert "| a | lib |" in table and table.count("m-2c |") == 1
    assert "m-2c, 2 threads |" in table


def test_a_row_timed_on_a_shared_machine_says_so():
    # A second busy process slowed a SASRec epoch 2.2x on the 2-core AMD
    # machine: a fit timed beside one must not pass for a fit alone.
    def result(model, others):
        return {
            **_result(model, {}, "m-2c", 0.1),
            "protocol": "ranking",
            "library": "lib",
            "machine": {"torch_threads": 1},
            "mean": {"ndcg@10": 0.1, "fit_s": 5.0, "others_busy_cores": others},
        }

    table = report.dataset_table(
        [result("alone", 0.02), result("beside", 1.04), result("old", None)]
    )
    assert "| alone | lib |" in table and "| old | lib |" in table
    assert table.count("m-2c |") == 2
    assert "m-2c, shared: 1.0 other cores busy |" in table


def test_the_stopwatch_counts_other_processes_and_not_its_own(monkeypatch):
    # The machine's busy CPU seconds rise by 5 over 2 s of wall time, 3 of
    # them this process's own (or its waited-for children's): the other
    # processes kept 1 core busy.
    clock = iter([100.0, 102.0])
    busy = iter([1000.0, 1005.0])
    own = iter([10.0, 13.0])
    monkeypatch.setattr(_common.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(_common, "_busy_cpu_s", lambda: next(busy))
    monkeypatch.setattr(_common, "_own_cpu_s", lambda: next(own))
    with _common.Stopwatch() as watch:
        pass
    assert watch.seconds == 2.0
    assert watch.others_busy_cores == pytest.approx(1.0)


def test_the_stopwatch_sees_a_busy_process_beside_it():
    if _common._busy_cpu_s() is None:
        pytest.skip("no /proc/stat on this system")
    spin = "import time\nend = time.time() + 30\nwhile time.time() < end: pass"
    busy = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.3)  # let it start
        with _common.Stopwatch() as watch:
            time.sleep(1.0)
    finally:
        busy.kill()
        busy.wait()
    # the spinning process alone keeps most of a core busy; this one slept
    assert watch.others_busy_cores >= 0.5
