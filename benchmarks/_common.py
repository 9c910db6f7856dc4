"""Helpers shared by the benchmark scripts: machine description, results I/O."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
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


def _busy_cpu_s() -> float | None:
    """CPU seconds every process of the machine has used since boot (Linux)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    busy = sum(int(value) for i, value in enumerate(fields[:8]) if i not in (3, 4))
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class Stopwatch:
    """Wall seconds of a block, and how many cores other processes kept busy.

    A timing is only comparable with another if the machine was not shared
    in between: on the 2-core AMD EPYC of these benchmarks a second busy
    process once slowed a SASRec epoch 2.2x, though a plain matrix product
    ran at full speed beside another. ``others_busy_cores`` is the
    mean number of cores that processes other than this one and its
    (waited-for) children used during the block: about 0 when it ran alone,
    about 1 beside one other busy process; ``None`` where ``/proc/stat`` is
    not there.

    Examples
    --------
    >>> with Stopwatch() as watch:
    ...     total = sum(range(1000))
    >>> watch.seconds >= 0
    True
    """

    def __enter__(self):
        self._busy, self._own = _busy_cpu_s(), _own_cpu_s()
        self._start = time.perf_counter()
        self.seconds = self.others_busy_cores = None
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._start
        busy = _busy_cpu_s()
        if busy is not None and self._busy is not None and self.seconds > 0:
            others = (busy - self._busy) - (_own_cpu_s() - self._own)
            self.others_busy_cores = max(0.0, others / self.seconds)
        return False


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
