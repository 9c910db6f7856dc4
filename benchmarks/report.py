"""Tables, leaderboard and plots of the benchmark suite, from its stored JSON.

Called by ``python -m benchmarks render`` (and after ``run`` and ``tune``):
rewrites the part of ``benchmarks/README.md`` between ``<!-- tuned:start -->``
and ``<!-- tuned:end -->`` (every model tuned with the same budget), between
``<!-- suite:start -->`` and ``<!-- suite:end -->`` (defaults), the
leaderboard of the top-level ``README.md`` between
``<!-- leaderboard:start -->`` and ``<!-- leaderboard:end -->``, and the PNG
plots under ``benchmarks/plots/``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import peers, suite, tune

HERE = Path(__file__).resolve().parent
PLOTS = HERE / "plots"
RANKING_COLUMNS = ("ndcg@10", "precision@10", "recall@10", "map@10", "auc")
RATING_COLUMNS = ("rmse", "mae")


def _replace_between(path: Path, start: str, end: str, body: str) -> None:
    text = path.read_text()
    if start not in text:
        raise ValueError(f"{path} has no {start} marker; add the two markers first.")
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{start}\n{body}\n{end}{tail}")


def _fmt(value, digits=4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _metric(result, name) -> str:
    """A result's metric, with its standard deviation over seeds if several."""
    value = result["mean"].get(name)
    std = result.get("seed_std", {}).get(name)
    if value is None or std is None:
        return _fmt(value)
    return _mean_std({"mean": value, "std": std})


def _model_label(result) -> str:
    seeds = result.get("seeds")
    return result["model"] + (f" ({len(seeds)} seeds)" if seeds else "")


def _seconds(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _search_seconds(state: dict) -> str:
    """A tuned pair's search time; ">=" where some of it was lost."""
    seconds, lower_bound = tune.search_seconds(state)
    return (">= " if lower_bound else "") + _seconds(seconds)


def _by_dataset(results):
    """Results grouped by dataset, in the order of the configuration."""
    grouped = defaultdict(list)
    for result in results:
        grouped[result["dataset"]].append(result)
    order = list(suite.load_config()["datasets"])
    return dict(
        sorted(
            grouped.items(),
            key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order),
        )
    )


def _primary(protocol: str) -> tuple[str, bool]:
    """The headline metric of a protocol and whether higher is better."""
    return ("ndcg@10", True) if protocol == "ranking" else ("rmse", False)


def _sort_key(result):
    metric, higher = _primary(result["protocol"])
    value = result["mean"].get(metric)
    if value is None:
        return float("inf")
    return -value if higher else value


def _epoch_s(result) -> float | None:
    """Mean seconds per training epoch, for models that report epochs."""
    fit_s = {fold["fold"]: fold["fit_s"] for fold in result["folds"]}
    times = []
    for curve in result.get("learning_curves") or []:
        if curve.get("mean_epoch_s") is not None:
            times.append(curve["mean_epoch_s"])
        elif curve.get("epoch"):
            times.append(fit_s[curve["fold"]] / len(curve["epoch"]))
    return float(sum(times) / len(times)) if times else None


def dataset_table(results: list[dict]) -> str:
    """One Markdown table: every model measured on one dataset, best first.

    Next-item (leave-last-out) datasets add HR@10 and the seconds per epoch.
    """
    protocol = results[0]["protocol"]
    columns = RANKING_COLUMNS if protocol == "ranking" else RATING_COLUMNS
    sequential = results[0]["dataset_config"].get("holdout") == "leave-last-out"
    if sequential:
        columns = ("ndcg@10", "hit_rate@10", "map@10", "auc")
    lines = [
        "| model | library | "
        + " | ".join(columns)
        + " | fit s | "
        + ("s/epoch | " if sequential else "")
        + "score s | machine |",
        "|---|---|" + "---:|" * (len(columns) + 2 + sequential) + "---|",
    ]
    for result in sorted(results, key=_sort_key):
        mean = result["mean"]
        lines.append(
            f"| {_model_label(result)} | {result['library']} | "
            + " | ".join(_metric(result, c) for c in columns)
            + f" | {_seconds(mean.get('fit_s'))} | "
            + (f"{_seconds(_epoch_s(result))} | " if sequential else "")
            + f"{_seconds(mean.get('eval_s'))} | {_where(result)} |"
        )
    return "\n".join(lines)


def _machine(record) -> str:
    """The machine of a result or tuned state, with its torch threads where not one.

    A search resumed on other machines (``tune --resume-any-machine``)
    names each with the trials it ran; the last one ran the test fits.
    """
    if record.get("continued_on"):
        machines = {record["machine_key"]: record["machine"]}
        for step in record["continued_on"]:
            machines[step["machine_key"]] = step["machine"]
        parts = []
        steps = tune.machines_of(record)
        for number, (key, first, count) in enumerate(steps, 1):
            threads = machines[key].get("torch_threads", 1)
            ran = [f"trials {first + 1}-{first + count}"] if count > 1 else []
            ran += [f"trial {first + 1}"] if count == 1 else []
            if number == len(steps):
                ran.append("test fits")
            parts.append(
                key
                + ("" if threads == 1 else f", {threads} threads")
                + f" ({', '.join(ran) or 'no trials'})"
            )
        return ", then ".join(parts)
    threads = record.get("torch_threads")
    if threads is None:
        # Stored before results said so: a side environment's peer ran on
        # one thread whatever the suite process had.
        side = record["model_config"]["library"] in peers.SIDE_ENVIRONMENTS
        threads = 1 if side else record["machine"].get("torch_threads", 1)
    return record["machine_key"] + ("" if threads == 1 else f", {threads} threads")


def _where(result) -> str:
    """The row's machine, its torch threads where not one, and whether shared.

    A fit during which other processes kept half a core or more busy
    (:class:`benchmarks._common.Stopwatch`) says so: its time is not one
    of the machine alone.
    """
    where = _machine(result)
    others = result["mean"].get("others_busy_cores")
    if others is not None and others >= 0.5:
        where += f", shared: {others:.1f} other cores busy"
    return where


def suite_section(results, skips) -> str:
    """The Markdown of every dataset's table, with estimators and skipped peers."""
    if not results:
        return "_No suite results yet: run `python -m benchmarks run`._"
    config = suite.load_config()
    parts = []
    for name, rows in _by_dataset(results).items():
        label = config["datasets"].get(name, {}).get("label", name)
        folds = ", ".join(f["fold"] for f in rows[0]["folds"])
        parts += [
            f"#### {label} (`{name}`)",
            "",
            f"Protocol: {rows[0]['protocol']}; folds: {folds}; "
            + (
                "metrics are means over folds."
                if len(rows[0]["folds"]) > 1
                else "one split."
            ),
            "",
            dataset_table(rows),
            "",
        ]
        plot = PLOTS / f"{name}_quality_vs_time.png"
        if plot.exists():
            parts += [f"![{name}: quality vs fit time](plots/{plot.name})", ""]
        curve = PLOTS / f"{name}_learning_curves.png"
        if curve.exists():
            parts += [f"![{name}: learning curves](plots/{curve.name})", ""]
    estimators = sorted({(r["model"], r["library"], r["estimator"]) for r in results})
    parts += ["#### Estimators as configured", "", "| entry | library | estimator |"]
    parts += ["|---|---|---|"]
    parts += [f"| {m} | {lib} | `{est}` |" for m, lib, est in estimators]
    machines = {r["machine_key"]: r["machine"] for r in results}
    parts += ["", "#### Machines", ""]
    for key, machine in sorted(machines.items()):
        gpu = machine.get("gpu") or "no GPU"
        parts.append(
            f"- `{key}`: {machine['cpu']}, {machine['cores']} cores, {gpu}; "
            f"Python {machine['python']}, torch {machine['torch']}, "
            f"{machine['platform']}"
        )
    if skips:
        parts += ["", "#### Peers that did not run here", ""]
        parts += [f"- `{s['model']}` ({s['library']}): {s['reason']}" for s in skips]
    return "\n".join(parts)


def _tuned_leader(label, states, config, name) -> str | None:
    """The leaderboard row of a fully tuned dataset, else None."""
    if not states:
        return None
    done, planned = tuned_coverage(name, states, config)
    rows = _tuned_order(states)
    ours = next((s for s in rows if _ours(s)), None)
    peer = next((s for s in rows if not _ours(s)), None)
    if ours is None or peer is None or done < planned:
        return None  # a partly tuned dataset stays on its default runs
    metric, higher = _primary(rows[0]["protocol"])
    versus = _verdict(ours["model"], peer["model"], compare(ours, peer), higher)
    return (
        f"| {label} | {metric} "
        f"| {ours['model']} {_mean_std(ours['test'][metric])} "
        f"| {peer['model']} {_mean_std(peer['test'][metric])} "
        f"| tuned, same budget; {versus} |"
    )


def _default_leader(label, rows) -> str:
    """The leaderboard row of a dataset from its runs as configured."""
    metric, _ = _primary(rows[0]["protocol"])

    def cell(ours: bool) -> str:
        candidates = sorted(
            (r for r in rows if r["library"].startswith("sk_recsys") == ours),
            key=_sort_key,
        )
        if not candidates:
            return "-"
        best = candidates[0]
        return f"{_model_label(best)} {_metric(best, metric)}"

    return (
        f"| {label} | {metric} | {cell(True)} | {cell(False)} "
        "| as configured (ours chosen on validation, peers at defaults) |"
    )


def leaderboard(results, tuned=()) -> str:
    """Our best model vs the best peer on each dataset (headline metric).

    A dataset whose every model with a search space is tuned (``python -m
    benchmarks tune``) is ranked by those results, with the paired-bootstrap
    interval of the difference; the others by their runs as configured,
    which the last column says. Datasets follow the configuration's order.
    """
    if not results:
        return "_No suite results yet: run `python -m benchmarks run`._"
    config = suite.load_config()
    lines = [
        "| dataset | metric | best sk_recsys | best peer | setting |",
        "|---|---|---|---|---|",
    ]
    by_tuned = defaultdict(list)
    for state in tuned:
        by_tuned[state["dataset"]].append(state)
    for name, rows in _by_dataset(results).items():
        label = config["datasets"].get(name, {}).get("label", name)
        lines.append(
            _tuned_leader(label, by_tuned.get(name, []), config, name)
            or _default_leader(label, rows)
        )
    return "\n".join(lines)


# ------------------------------------------------------------- tuned results


def load_tuned() -> list[dict]:
    """Every complete result of ``python -m benchmarks tune``."""
    states = [
        json.loads(path.read_text())
        for path in sorted(tune.TUNE_RESULTS.glob("*/*.json"))
    ]
    return [state for state in states if state.get("complete")]


def _tuned_value(state, metric=None):
    metric = metric or _primary(state["protocol"])[0]
    entry = state["test"].get(metric)
    return None if entry is None else entry["mean"]


def _tuned_order(states):
    _, higher = _primary(states[0]["protocol"])
    known = [s for s in states if _tuned_value(s) is not None]
    return sorted(known, key=lambda s: -_tuned_value(s) if higher else _tuned_value(s))


def _mean_std(entry, digits=4) -> str:
    if entry is None:
        return "-"
    if entry["std"] == 0:
        return f"{entry['mean']:.{digits}f}"
    return f"{entry['mean']:.{digits}f} ± {entry['std']:.{digits}f}"


def _setting(params: dict) -> str:
    def short(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{k}={short(v)}" for k, v in params.items()) or "(none)"


def _trials(state) -> str:
    """The trials column: their number, or where the setting was chosen."""
    source = state["selection"].get("reused_from")
    if source:
        return f"0 (setting of {state['dataset_config']['tuned_on']})"
    return str(len(state["trials"]))


def compare(a: dict, b: dict) -> dict | None:
    """Paired bootstrap of two tuned results over their test users (a - b).

    Of their per-user NDCG@10 on the ranking protocol, of their RMSE on the
    rating protocol.
    """
    users_a = a["test"].get("per_user")
    users_b = b["test"].get("per_user")
    if not users_a or not users_b or users_a["users"] != users_b["users"]:
        return None
    if "sse" in users_a and "sse" in users_b:
        return tune.paired_bootstrap(
            users_a["sse"], users_b["sse"], counts=users_a["count"]
        )
    return tune.paired_bootstrap(users_a["ndcg@10"], users_b["ndcg@10"])


def _verdict(a_name, b_name, result, higher=True) -> str:
    """``higher``: whether a larger value of the metric is better."""
    if result is None:
        return "no paired comparison (per-user scores missing)"
    interval = (
        f"{result['difference']:+.4f} [{result['low']:+.4f}, {result['high']:+.4f}]"
    )
    if not result["win"]:
        return f"{interval}: no clear winner"
    winner = a_name if (result["difference"] > 0) == higher else b_name
    return f"{interval}: {winner} wins"


def tuned_coverage(name, states, config) -> tuple[int, int]:
    """How many of a dataset's planned pairs with a search space are tuned."""
    planned = {
        model
        for dataset, model in suite.planned(config, datasets=[name])
        if "space" in config["models"][model]
    }
    return len(planned & {state["model"] for state in states}), len(planned)


def not_searched(name, config) -> list[tuple[str, str]]:
    """A dataset's planned models without a search space, with the reason
    (``tune.unsearched_reason``)."""
    reasons = (
        (model, tune.unsearched_reason(config["models"][model]))
        for _, model in suite.planned(config, datasets=[name])
    )
    return [(model, why) for model, why in reasons if why is not None]


def _ours(state) -> bool:
    return state["model_config"]["library"] == "sk_recsys"


def tuned_section(states, config=None) -> str:
    """Summary and per-dataset tables of the tuned results.

    Under each dataset's table, the models it plans without a search space
    are listed with the reason (``not_searched`` in ``suite.toml``); their
    runs as configured are in the second table.
    """
    if not states:
        return "_No tuned results yet: run `python -m benchmarks tune`._"
    config = config or suite.load_config()
    grouped = defaultdict(list)
    for state in states:
        grouped[state["dataset"]].append(state)
    order = list(config["datasets"])
    # Every dataset the suite plans, tuned or not yet, so that the summary
    # never hides one; then any stored dataset the configuration dropped.
    planned_datasets = [dataset for dataset, _ in suite.planned(config)]
    names = sorted(
        dict.fromkeys([*planned_datasets, *grouped]),
        key=lambda n: order.index(n) if n in order else len(order),
    )
    summary = [
        "| dataset | best of ours | best peer | difference (95% interval) |",
        "|---|---|---|---|",
    ]
    tables = []
    for name in names:
        rows = _tuned_order(grouped[name]) if grouped.get(name) else []
        label = config["datasets"].get(name, {}).get("label", name)
        if not rows:
            _, planned_here = tuned_coverage(name, [], config)
            if planned_here:
                summary.append(
                    f"| {label} | - | - | not tuned yet (0 of {planned_here} "
                    "models); the defaults table below has its numbers |"
                )
            continue
        metric, higher = _primary(rows[0]["protocol"])
        ours = next((s for s in rows if _ours(s)), None)
        peer = next((s for s in rows if not _ours(s)), None)

        def cell(state, metric=metric):
            if state is None:
                return "-"
            return f"{state['model']} {_mean_std(state['test'][metric])}"

        skipped = not_searched(name, config)
        if ours is not None and peer is not None:
            versus = _verdict(ours["model"], peer["model"], compare(ours, peer), higher)
        else:  # nothing to compare with yet: say which side is missing
            versus = "no peer tuned yet" if peer is None else "none of ours tuned yet"
        peers_skipped = [
            model
            for model, _ in skipped
            if config["models"][model]["library"] != "sk_recsys"
        ]
        done, planned = tuned_coverage(name, grouped[name], config)
        notes = [f"partial: {done} of {planned} models tuned"] if done < planned else []
        if peers_skipped:
            n = len(peers_skipped)
            notes.append(f"{n} peer{'s' * (n > 1)} not searched: see its table")
        if notes:
            versus += f" ({'; '.join(notes)})"
        summary.append(f"| {label} | {cell(ours)} | {cell(peer)} | {versus} |")
        machines = sorted({_machine(state) for state in rows})
        # Times measured on different machines (or thread counts) do not
        # compare: each row then names its own.
        mixed = len(machines) > 1
        lines = [
            f"#### {label} (`{name}`), tuned",
            "",
            f"| model | library | {metric} (test) | valid {metric} | trials "
            f"| search s | fit s | {'machine | ' if mixed else ''}chosen setting |",
            "|---|---|---:|---:|---:|---:|---:|" + ("---|" if mixed else "") + "---|",
        ]
        for state in rows:
            lines.append(
                f"| {state['model']} | {state['library']} "
                f"| {_mean_std(state['test'][metric])} "
                f"| {_fmt(state['chosen']['valid'])} | {_trials(state)} "
                f"| {_search_seconds(state)} "
                f"| {_seconds(state['test'].get('fit_s', {}).get('mean'))} "
                + (f"| {_machine(state)} " if mixed else "")
                + f"| {_setting(state['chosen']['params'])} |"
            )
        if len(rows) > 1:
            top = _verdict(
                rows[0]["model"], rows[1]["model"], compare(*rows[:2]), higher
            )
            lines += [
                "",
                f"Top two, paired bootstrap over test users (1,000 resamples): "
                f"{rows[0]['model']} - {rows[1]['model']} = {top}.",
            ]
        seeds = sorted(
            {
                len(state["seeds"])
                for state in rows
                if state["model_config"].get("stochastic", True)
            }
        )
        lines += [
            "",
            (
                f"Seeds per stochastic model: {', '.join(map(str, seeds))}"
                if seeds
                else "Every model here is deterministic (one test fit)"
            )
            + "; search s includes scoring the validation users"
            + (
                " (>= marks a search interrupted before trial times were kept: "
                "the sum of its fit times); "
                if any(tune.search_seconds(state)[1] for state in rows)
                else "; "
            )
            + (
                f"machines: {'; '.join(machines)} (times compare only within one)."
                if mixed
                else f"machine: {machines[0]}."
            ),
            "",
        ]
        if skipped:
            lines += [
                "Not searched here (each one's run as configured is in the "
                "second table):",
                "",
                *(
                    f"- `{model}` ({config['models'][model]['library']}): {why}."
                    for model, why in skipped
                ),
                "",
            ]
        tables += lines
    intro = [
        "Every model below got the same search: the same number of trials "
        "(Optuna TPE, seeded) over its space in `suite.toml`, on a validation "
        "split carved from the training rows, selected by the headline metric; "
        "the chosen setting was refit on the whole training rows and tested "
        "once per seed (mean ± std over seeds). A difference is a win only "
        "when its 95% paired-bootstrap interval over test users excludes 0 "
        "(of NDCG@10; of the RMSE over the resampled users' ratings on the "
        "rating protocol, where the lower wins).",
        "",
    ]
    return "\n".join([*intro, *summary, "", *tables])


def _overlap(a, b) -> float:
    """Area shared by two display-space boxes ``(x0, y0, x1, y1)``."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0.0) * max(height, 0.0)


def place_labels(axes, xs, ys, labels, *, fontsize=7):
    """Label each point where its text overlaps no other label or point.

    Greedy: points in order of x, each label trying positions on rings
    around its point (nearest first, eight directions each) and taking the
    first whose box stays inside the axes and clear of every label placed
    and every marker; when none is clear, the one with the least overlap.
    A label set away from its point gets a thin leader line. Call it once
    the axes' limits and the figure's layout are final.
    """
    import math

    figure = axes.figure
    renderer = figure.canvas.get_renderer()
    frame = axes.get_window_extent(renderer).extents
    centres = axes.transData.transform(list(zip(xs, ys, strict=True)))
    scale = figure.dpi / 72  # offset points to pixels
    taken = [(x - 4, y - 4, x + 4, y + 4) for x, y in centres]
    candidates = [
        (radius * math.cos(math.radians(angle)), radius * math.sin(math.radians(angle)))
        for radius in (4, 10, 18, 28, 40, 55)
        for angle in (30, -30, 150, -150, 90, -90, 0, 180)
    ]
    placed = []
    for index in sorted(range(len(labels)), key=lambda i: (xs[i], ys[i])):
        point = (xs[index], ys[index])
        # The label's size, once; each candidate's box is then arithmetic.
        probe = axes.annotate(labels[index], point, fontsize=fontsize)
        x0, y0, x1, y1 = probe.get_window_extent(renderer).extents
        probe.remove()
        width, height = x1 - x0, y1 - y0
        cx, cy = centres[index]
        best = None
        for dx, dy in candidates:
            left = cx + dx * scale - (width if dx < 0 else 0.0)
            bottom = cy + dy * scale - (height if dy < 0 else 0.0)
            box = (left, bottom, left + width, bottom + height)
            inside = (
                box[0] >= frame[0]
                and box[1] >= frame[1]
                and box[2] <= frame[2]
                and box[3] <= frame[3]
            )
            clash = sum(_overlap(box, other) for other in taken)
            clash += 0.0 if inside else 1e9
            if best is None or clash < best[0]:
                best = (clash, dx, dy, box)
            if clash == 0:
                break
        _, dx, dy, box = best
        far = math.hypot(dx, dy) * scale > 12
        note = axes.annotate(
            labels[index],
            point,
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=fontsize,
            ha="left" if dx >= 0 else "right",
            va="bottom" if dy >= 0 else "top",
            arrowprops=(
                {"arrowstyle": "-", "lw": 0.5, "color": "0.6"} if far else None
            ),
        )
        taken.append(box)
        placed.append(note)
    return placed


def plots(results) -> list[Path]:
    """Quality vs fit time per dataset, and learning curves of the neural models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(exist_ok=True)
    written = []
    for name, rows in _by_dataset(results).items():
        metric, _ = _primary(rows[0]["protocol"])
        figure, axes = plt.subplots(figsize=(8, 5.5))
        xs, ys, labels = [], [], []
        for result in rows:
            x, y = result["mean"].get("fit_s"), result["mean"].get(metric)
            if x is None or y is None:
                continue
            ours = result["library"].startswith("sk_recsys")
            axes.scatter(
                x, y, marker="o" if ours else "x", color="C0" if ours else "C3"
            )
            xs.append(x)
            ys.append(y)
            labels.append(result["model"])
        axes.set_xscale("log")
        axes.margins(x=0.15, y=0.1)  # room for the labels of the outer points
        axes.set_xlabel("fit time (s, log scale)")
        axes.set_ylabel(metric)
        axes.set_title(f"{name}: {metric} vs fit time (o ours, x peers)")
        figure.tight_layout()
        place_labels(axes, xs, ys, labels)
        path = PLOTS / f"{name}_quality_vs_time.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)

        curves = [
            (r["model"], c)
            for r in rows
            for c in r.get("learning_curves", [])[:1]
            if any(k.startswith("test_") for k in c)
        ]
        if not curves:
            continue
        figure, axes = plt.subplots(figsize=(6, 4))
        for model, curve in curves:
            key = next(k for k in curve if k.startswith("test_"))
            axes.plot(curve["epoch"], curve[key], label=model)
        axes.set_xlabel("epoch")
        axes.set_ylabel(key.removeprefix("test_") + " on the test rows")
        axes.set_title(f"{name}: learning curves (fold {curves[0][1]['fold']})")
        axes.legend(fontsize=8)
        figure.tight_layout()
        path = PLOTS / f"{name}_learning_curves.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def _one_per_pair(items, matches) -> list[dict]:
    """One item per (dataset, model): a current one if any, from one machine.

    ``matches(dataset_name, model_name)`` returns the test an item of that
    pair passes when it is current; the others are kept only while the
    pair has no current one. Of several machines' items, the one from the
    machine with the most items on the dataset is kept.
    """
    groups = defaultdict(list)
    machines = defaultdict(lambda: defaultdict(int))
    for item in items:
        groups[item["dataset"], item["model"]].append(item)
        machines[item["dataset"]][item["machine_key"]] += 1
    kept = []
    for (dataset_name, model_name), group in groups.items():
        is_current = matches(dataset_name, model_name)
        current = [item for item in group if is_current(item)]
        counts = machines[dataset_name]
        kept.append(max(current or group, key=lambda i: counts[i["machine_key"]]))
    return kept


def shown(results, config=None) -> list[dict]:
    """One result per (dataset, model): the current setting, one machine.

    A result measured at a setting the configuration no longer gives (an
    older entry, or an older choice of a selection script) is superseded
    once the current setting has a result; until then it stays. Of several
    machines' results, the one from the machine that measured most of the
    dataset is kept, so that a table's times come from one machine where
    they can.
    """
    config = config or suite.load_config()

    def matches(dataset_name, model_name):
        key = _current_hash(dataset_name, model_name, config)
        return lambda r: (
            suite.config_hash(r["dataset_config"], r["model_config"]) == key
        )

    by_run = defaultdict(dict)  # the results of one configuration, by seed
    for result in results:
        by_run[_run_key(result)][result.get("seed", 0)] = result
    return [
        _with_seeds(kept, by_run[_run_key(kept)])
        for kept in _one_per_pair(results, matches)
    ]


def _run_key(result) -> tuple:
    """What the seeds of one run share: dataset, model, machine, configuration."""
    return (
        result["dataset"],
        result["model"],
        result["machine_key"],
        suite.config_hash(result["dataset_config"], result["model_config"]),
    )


def _with_seeds(kept: dict, by_seed: dict[int, dict]) -> dict:
    """A shown result merged with its other seeds' results (``run --seed``).

    ``by_seed`` holds the results of the same configuration on the same
    machine, by seed: the merged row's numbers are means over the seeds,
    its ``seed_std`` the metrics' standard deviation over them (``np.std``,
    as the tuned tables), its learning curve the kept result's own.
    """
    if len(by_seed) < 2:
        return kept
    runs = [by_seed[seed] for seed in sorted(by_seed)]
    mean, std = {}, {}
    for name in kept["mean"]:
        values = [run["mean"].get(name) for run in runs]
        if any(value is None for value in values):
            mean[name] = None
            continue
        mean[name] = float(np.mean(values))
        if name in suite.RANKING_METRICS or name in suite.RATING_METRICS:
            std[name] = float(np.std(values))
    return {**kept, "mean": mean, "seed_std": std, "seeds": sorted(by_seed)}


def shown_tuned(states, config=None) -> list[dict]:
    """One tuned result per (dataset, model): the configured search, one machine.

    A search run over an entry the configuration has since changed (a new
    search space) is superseded once the current entry's search is complete;
    of several machines', the one that tuned most of the dataset is kept.
    """
    config = config or suite.load_config()

    def matches(dataset_name, model_name):
        model = config["models"].get(model_name)
        dataset = config["datasets"].get(dataset_name)
        return lambda s: s["model_config"] == model and s["dataset_config"] == dataset

    return _one_per_pair(states, matches)


def _current_hash(dataset_name, model_name, config) -> str | None:
    """The configuration hash the pair's result has today, if it can run."""
    dataset = config["datasets"].get(dataset_name)
    model = config["models"].get(model_name)
    if dataset is None or model is None:
        return None
    try:
        model = suite.resolve_model(model, dataset_name, dataset)
    except FileNotFoundError:
        return None
    return suite.config_hash(dataset, model)


def main():
    results = shown(suite.load_results())
    skips = suite.load_skips()
    if results:
        plots(results)
    tuned = shown_tuned(load_tuned())
    _replace_between(
        HERE / "README.md",
        "<!-- tuned:start -->",
        "<!-- tuned:end -->",
        tuned_section(tuned),
    )
    _replace_between(
        HERE / "README.md",
        "<!-- suite:start -->",
        "<!-- suite:end -->",
        suite_section(results, skips),
    )
    _replace_between(
        HERE.parent / "README.md",
        "<!-- leaderboard:start -->",
        "<!-- leaderboard:end -->",
        leaderboard(results, tuned),
    )
    print(
        f"rendered {len(tuned)} tuned and {len(results)} suite result(s), "
        "leaderboard and plots"
    )
