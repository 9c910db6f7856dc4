"""Regenerate the result tables of benchmarks/README.md from results/*.json.

Run: ``python benchmarks/render.py``. Everything between the
``<!-- results:start -->`` and ``<!-- results:end -->`` markers is rewritten.
"""

from __future__ import annotations

import json
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
    return "\n".join(lines)


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
