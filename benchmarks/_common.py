"""Helpers shared by the benchmark scripts: machine description, results I/O."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """Describe the machine a result was measured on."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def _script() -> str:
    """The running script, relative to the repository root when inside it."""
    script = Path(sys.argv[0]).resolve()
    root = RESULTS.parents[1]
    if script.is_relative_to(root):
        return script.relative_to(root).as_posix()
    return Path(sys.argv[0]).as_posix()


def command() -> str:
    """The command line that runs this benchmark, as results record it."""
    return "python " + " ".join([_script(), *sys.argv[1:]])


def write_result(name: str, payload: dict) -> Path:
    """Write ``payload`` (plus the command and machine) to results/<name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "command": command(),
        "machine": machine(),
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def data_home() -> Path | None:
    """$SK_RECSYS_DATA, else ../shared/data beside the repository, else None."""
    home = os.environ.get("SK_RECSYS_DATA")
    if home:
        return Path(home)
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"
    return beside if beside.is_dir() else None


def git_commit() -> str:
    """The repository's commit, with ``+dirty`` when the tree has changes."""
    root = RESULTS.parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (commit or "unknown") + ("+dirty" if dirty else "")
