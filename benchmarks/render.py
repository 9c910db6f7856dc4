"""Regenerate the result tables of benchmarks/NOTES.md from results/*.json.

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


def _cell(value, spec: str | None = None) -> str:
    if value is None:
        return "-"
    if spec is not None:
        return format(value, spec)
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
    machines = {row.get("machine_key") for row in result.get("rows", [])} - {None}
    if len(machines) > 1:
        # rows measured by several runs on several machines (a selection
        # script's): each row keeps its own command and machine
        lines[2:] = [
            "Commands: each row's own, stored with it; the latest "
            f"`{result['command']}`  ",
            f"Machines: each row's `machine_key`; the latest run on {where}  ",
        ]
    if result.get("protocol"):
        lines.append(f"Protocol: {result['protocol']}")
    if result.get("kind") in ("scale", "scale_memory"):
        return "\n".join(lines + render_scale(result))
    columns = result["columns"]
    # A result may give a format spec per column ("formats": {"col": ".1f"}).
    specs = result.get("formats", {})
    text = ("library", "model", "variant")
    lines += [
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" if c in text else "---:" for c in columns) + "|",
    ]
    for row in result["rows"]:
        cells = (_cell(row.get(c), specs.get(c)) for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
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


# The scale tables' columns: (JSON key, header). RSS is resident memory
# (VmHWM), "alloc" the allocated heap (glibc mallinfo2), "t+p" the training
# tensors plus parameters; a column is shown when some row has it.
SCALE_TIME = [
    ("interactions", "interactions"),
    ("users", "users"),
    ("items", "items"),
    ("fit_epoch_s", "fit epoch s"),
    ("plain_epoch_s", "plain loop epoch s"),
    ("ratio_to_plain", "fit / plain"),
    ("sparse_epoch_s", "sparse=True epoch s"),
    ("rank_all_s", "rank all s"),
]
SCALE_MEMORY = [
    ("interactions", "interactions"),
    ("tensors_params_mb", "t+p MB"),
    ("step_peak_mb", "step RSS MB"),
    ("step_live_mb", "step alloc MB"),
    ("fit_peak_mb", "fit RSS MB"),
    ("fit_live_mb", "fit alloc MB"),
    ("fit_peak_ratio", "fit RSS / t+p"),
    ("fit_live_ratio", "fit alloc / t+p"),
    ("fit_peak_less_step_ratio", "(fit - step) RSS / t+p"),
    ("fit_live_less_step_ratio", "(fit - step) alloc / t+p"),
    ("rank_peak_mb", "rank RSS MB"),
    ("plain_peak_mb", "plain RSS MB"),
    ("plain_live_mb", "plain alloc MB"),
    ("plain_peak_ratio", "plain RSS / t+p"),
    ("plain_live_ratio", "plain alloc / t+p"),
    ("step_gpu_peak_mb", "step GPU alloc MB"),
    ("fit_gpu_peak_mb", "fit GPU alloc MB"),
    ("fit_gpu_ratio", "fit GPU alloc / t+p"),
    ("rank_gpu_peak_mb", "rank GPU alloc MB"),
    ("plain_gpu_peak_mb", "plain GPU alloc MB"),
]
SCALE_LEGEND = (
    "Memory columns, each the peak over the start of its window: RSS = "
    "resident memory (`*_peak_mb`), alloc = heap allocated and not freed, "
    "glibc `mallinfo2` sampled every 1 ms (`*_live_mb`; a shorter spike can "
    "be missed); step = the warm-up fit of 4 batches before the fit, the "
    "working set of a training step; t+p = the int32 training tensors plus "
    "the parameters (`tensors_params_mb`); (fit - step) / t+p is the part of "
    "the peak that depends on the data (`*_less_step_ratio`); GPU alloc = "
    "`torch.cuda.max_memory_allocated` in the window (`*_gpu_peak_mb`), where "
    "the training tensors and the model live in a GPU run; plain = the plain "
    "torch loop of `skorch_overhead.py` measured the same way in a process of "
    "its own (`--memory-only` runs), for reference."
)


def _scale_cell(key: str, value) -> str:
    if value is None:
        return "-"
    if key.endswith("_ratio") or key == "ratio_to_plain":
        return f"{value:.2f}"
    if key.endswith("_mb"):
        return f"{value:.1f}"
    if key.endswith("_s"):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) else _cell(value)


def _scale_table(rows: list[dict], columns: list[tuple[str, str]]) -> list[str]:
    shown = [(k, h) for k, h in columns if any(row.get(k) is not None for row in rows)]
    return [
        "| " + " | ".join(h for _, h in shown) + " |",
        "|" + "|".join("---:" for _ in shown) + "|",
        *(
            "| " + " | ".join(_scale_cell(k, row.get(k)) for k, _ in shown) + " |"
            for row in rows
        ),
    ]


def _with_derived(row: dict) -> dict:
    """The RSS ratio less the step, for results written before it was stored."""
    row = dict(row)
    if "fit_peak_less_step_ratio" not in row and "step_peak_mb" in row:
        row["fit_peak_less_step_ratio"] = (
            row["fit_peak_mb"] - row["step_peak_mb"]
        ) / row["tensors_params_mb"]
    return row


def _marginal(rows: list[dict], key: str) -> list[str]:
    """Bytes added per interaction between consecutive sizes."""
    return [
        f"{(b[key] - a[key]) * 2**20 / (n_b - n_a):.0f}"
        for a, b in itertools.pairwise(rows)
        if (n_b := b["interactions"]) > (n_a := a["interactions"])
        and key in a
        and key in b
    ]


def render_scale(result: dict) -> list[str]:
    """The scale tables (time, memory), growth of each cost and the plot."""
    rows = [_with_derived(row) for row in result["rows"]]
    lines = [""]
    if result.get("kind") == "scale":
        lines += [*_scale_table(rows, SCALE_TIME), ""]
        memory = SCALE_MEMORY
    else:
        memory = SCALE_TIME[:3] + SCALE_MEMORY[1:]
    lines += [*_scale_table(rows, memory), "", SCALE_LEGEND, ""]
    growth = {
        "fit epoch": _growth(rows, "fit_epoch_s"),
        "plain-loop epoch": _growth(rows, "plain_epoch_s"),
        "sparse=True epoch": _growth(rows, "sparse_epoch_s"),
        "full ranking": _growth(rows, "rank_all_s"),
        "fit peak RSS": _growth(rows, "fit_peak_mb"),
        "fit peak allocated": _growth(rows, "fit_live_mb"),
        "fit peak GPU allocated": _growth(rows, "fit_gpu_peak_mb"),
    }
    shown = ", ".join(f"{k} {v:.2f}" for k, v in growth.items() if v is not None)
    lines += [f"Growth exponent b in cost ~ interactions^b (1 = linear): {shown}."]
    # The fit peak includes a batch's working set, the same at every size:
    # the growth between sizes is what each interaction costs.
    added = [
        f"{label} {', '.join(values)}"
        for label, key in (("RSS", "fit_peak_mb"), ("allocated", "fit_live_mb"))
        if (values := _marginal(rows, key))
    ]
    if added:
        lines += [
            "",
            "Fit peak memory added per interaction between consecutive sizes: "
            f"{'; '.join(added)} bytes (the int32 training tensors hold 8).",
        ]
    if result.get("plot"):
        lines += ["", f"![{result['title']}](results/{result['plot']})"]
    return lines


def main():
    readme = HERE / "NOTES.md"
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
