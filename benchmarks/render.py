"""Regenerate the result tables of benchmarks/README.md from results/*.json.

Run: ``python benchmarks/render.py``. Everything between the
``<!-- results:start -->`` and ``<!-- results:end -->`` markers is rewritten.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value).replace("|", "\\|")


def render_result(result: dict) -> str:
    """One result file as a Markdown section: title, command, machine, table."""
    machine = result["machine"]
    where = f"{machine['cpu']}, {machine['cores']} cores"
    if machine.get("gpu"):
        where += f", {machine['gpu']}"
    where += f"; Python {machine['python']}, torch {machine['torch']}"
    lines = [
        f"### {result['title']}",
        "",
        f"Command: `{result['command']}`  ",
        f"Machine: {where}  ",
    ]
    if result.get("protocol"):
        lines.append(f"Protocol: {result['protocol']}")
    columns = result["columns"]
    lines += [
        "",
        "| " + " | ".join(columns) + " |",
        "|"
        + "|".join("---" if c in ("library", "model") else "---:" for c in columns)
        + "|",
    ]
    for row in result["rows"]:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    if result.get("kind") == "scale":
        lines += ["", *render_scale(result)]
    return "\n".join(lines)


def _growth(rows: list[dict], key: str) -> float | None:
    """Exponent b of cost ~ interactions**b, fitted over every size."""
    points = [(r["interactions"], r[key]) for r in rows if r.get(key)]
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(v) for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def render_scale(result: dict) -> list[str]:
    """The growth of each cost (1.0 = linear in interactions) and the plot."""
    rows = result["rows"]
    growth = {
        "fit epoch": _growth(rows, "fit_epoch_s"),
        "plain-loop epoch": _growth(rows, "plain_epoch_s"),
        "sparse=True epoch": _growth(rows, "sparse_epoch_s"),
        "full ranking": _growth(rows, "rank_all_s"),
        "fit peak memory": _growth(rows, "fit_peak_mb"),
    }
    shown = ", ".join(f"{k} {v:.2f}" for k, v in growth.items() if v is not None)
    lines = [f"Growth exponent b in cost ~ interactions^b (1 = linear): {shown}."]
    # The fit peak includes a batch's working set, the same at every size:
    # the growth between sizes is what each interaction costs.
    marginal = [
        f"{(b['fit_peak_mb'] - a['fit_peak_mb']) * 2**20 / (n_b - n_a):.0f}"
        for a, b in itertools.pairwise(rows)
        if (n_b := b["interactions"]) > (n_a := a["interactions"])
    ]
    if marginal:
        lines += [
            "",
            "Fit peak memory added per interaction between consecutive sizes: "
            f"{', '.join(marginal)} bytes (the int32 training tensors hold 8).",
        ]
    if result.get("plot"):
        lines += ["", f"![{result['title']}](results/{result['plot']})"]
    return lines


def main():
    readme = HERE / "README.md"
    text = readme.read_text()
    sections = [
        render_result(json.loads(path.read_text()))
        for path in sorted((HERE / "results").glob("*.json"))
    ]
    body = "\n\n".join(sections) if sections else "_No results yet._"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{body}\n{END}{tail}")
    print(f"rendered {len(sections)} result file(s) into {readme}")


if __name__ == "__main__":
    main()
