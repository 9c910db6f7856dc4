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

from . import suite, tune

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


def _seconds(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


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
            f"| {result['model']} | {result['library']} | "
            + " | ".join(_fmt(mean.get(c)) for c in columns)
            + f" | {_seconds(mean.get('fit_s'))} | "
            + (f"{_seconds(_epoch_s(result))} | " if sequential else "")
            + f"{_seconds(mean.get('eval_s'))} | {result['machine_key']} |"
        )
    return "\n".join(lines)


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
    metric, _ = _primary(rows[0]["protocol"])
    versus = _verdict(ours["model"], peer["model"], compare(ours, peer))
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
        return f"{best['model']} {_fmt(best['mean'].get(metric))}"

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
    """Paired bootstrap of two tuned results' per-user NDCG@10 (a - b)."""
    users_a = a["test"].get("per_user")
    users_b = b["test"].get("per_user")
    if not users_a or not users_b or users_a["users"] != users_b["users"]:
        return None
    return tune.paired_bootstrap(users_a["ndcg@10"], users_b["ndcg@10"])


def _verdict(a_name, b_name, result) -> str:
    if result is None:
        return "no paired comparison (per-user scores missing)"
    interval = (
        f"{result['difference']:+.4f} [{result['low']:+.4f}, {result['high']:+.4f}]"
    )
    if not result["win"]:
        return f"{interval}: no clear winner"
    winner = a_name if result["difference"] > 0 else b_name
    return f"{interval}: {winner} wins"


def tuned_coverage(name, states, config) -> tuple[int, int]:
    """How many of a dataset's planned pairs with a search space are tuned."""
    planned = {
        model
        for dataset, model in suite.planned(config, datasets=[name])
        if "space" in config["models"][model]
    }
    return len(planned & {state["model"] for state in states}), len(planned)


def _ours(state) -> bool:
    return state["model_config"]["library"] == "sk_recsys"


def tuned_section(states) -> str:
    """Summary and per-dataset tables of the tuned results."""
    if not states:
        return "_No tuned results yet: run `python -m benchmarks tune`._"
    config = suite.load_config()
    grouped = defaultdict(list)
    for state in states:
        grouped[state["dataset"]].append(state)
    order = list(config["datasets"])
    names = sorted(grouped, key=lambda n: order.index(n) if n in order else len(order))
    summary = [
        "| dataset | best of ours | best peer | difference (95% interval) |",
        "|---|---|---|---|",
    ]
    tables = []
    for name in names:
        rows = _tuned_order(grouped[name])
        if not rows:
            continue
        metric, _ = _primary(rows[0]["protocol"])
        label = config["datasets"].get(name, {}).get("label", name)
        ours = next((s for s in rows if _ours(s)), None)
        peer = next((s for s in rows if not _ours(s)), None)

        def cell(state, metric=metric):
            if state is None:
                return "-"
            return f"{state['model']} {_mean_std(state['test'][metric])}"

        versus = "-"
        if ours is not None and peer is not None:
            versus = _verdict(ours["model"], peer["model"], compare(ours, peer))
        done, planned = tuned_coverage(name, grouped[name], config)
        if done < planned:
            versus += f" (partial: {done} of {planned} models tuned)"
        summary.append(f"| {label} | {cell(ours)} | {cell(peer)} | {versus} |")
        lines = [
            f"#### {label} (`{name}`), tuned",
            "",
            f"| model | library | {metric} (test) | valid {metric} | trials "
            "| search s | fit s | chosen setting |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for state in rows:
            lines.append(
                f"| {state['model']} | {state['library']} "
                f"| {_mean_std(state['test'][metric])} "
                f"| {_fmt(state['chosen']['valid'])} | {_trials(state)} "
                f"| {_seconds(state['search_s'])} "
                f"| {_seconds(state['test'].get('fit_s', {}).get('mean'))} "
                f"| {_setting(state['chosen']['params'])} |"
            )
        if len(rows) > 1:
            top = _verdict(rows[0]["model"], rows[1]["model"], compare(*rows[:2]))
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
        machines = sorted({state["machine_key"] for state in rows})
        lines += [
            "",
            (
                f"Seeds per stochastic model: {', '.join(map(str, seeds))}"
                if seeds
                else "Every model here is deterministic (one test fit)"
            )
            + f"; search s includes scoring the validation users; "
            f"machine: {', '.join(machines)}.",
            "",
        ]
        tables += lines
    intro = [
        "Every model below got the same search: the same number of trials "
        "(Optuna TPE, seeded) over its space in `suite.toml`, on a validation "
        "split carved from the training rows, selected by the headline metric; "
        "the chosen setting was refit on the whole training rows and tested "
        "once per seed (mean ± std over seeds). A difference is a win only "
        "when its 95% paired-bootstrap interval over test users excludes 0.",
        "",
    ]
    return "\n".join([*intro, *summary, "", *tables])


def plots(results) -> list[Path]:
    """Quality vs fit time per dataset, and learning curves of the neural models."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(exist_ok=True)
    written = []
    for name, rows in _by_dataset(results).items():
        metric, _ = _primary(rows[0]["protocol"])
        figure, axes = plt.subplots(figsize=(6, 4))
        for result in rows:
            x, y = result["mean"].get("fit_s"), result["mean"].get(metric)
            if x is None or y is None:
                continue
            ours = result["library"].startswith("sk_recsys")
            axes.scatter(
                x, y, marker="o" if ours else "x", color="C0" if ours else "C3"
            )
            axes.annotate(
                result["model"],
                (x, y),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        axes.set_xscale("log")
        axes.set_xlabel("fit time (s, log scale)")
        axes.set_ylabel(metric)
        axes.set_title(f"{name}: {metric} vs fit time (o ours, x peers)")
        figure.tight_layout()
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


def main():
    results = suite.load_results()
    skips = suite.load_skips()
    if results:
        plots(results)
    tuned = load_tuned()
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
