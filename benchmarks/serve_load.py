"""Load and fault benchmark of ``sk-recsys serve`` (loopback only, bounded).

For an ``EASE`` and a ``MatrixFactorization`` (BPR) model fitted on
MovieLens-100K ``ua.base`` (synthetic data when it is absent), the server
runs in its own process (``sk-recsys serve``) and this script's client
threads, each with one keep-alive connection, send ``--requests``
``/recommend`` requests (one known user, ``k=10``) in total:

- with micro-batching (the default server, and the same waiting 2 ms for
  more requests per batch) and without it (``--no-batching``: one
  ``recommend`` call per request, what a hand-written endpoint does), at 1,
  8 and 64 concurrent clients: throughput, p50 and p99 latency, failed
  requests;
- with micro-batching while another thread reloads the model every 2 s
  (alternating two model files) and pushes a corrupted file once (the
  server must refuse it with 409 and keep serving): failed requests must
  be 0;
- the server's resident memory (VmRSS) after 1,000 requests and after
  ``--memory-requests`` (growth would be a leak).

``--first-requests`` measures instead what a fresh server process costs:
for ``EASE``, ``MatrixFactorization`` and ``UserKNN``, with the load's
warm-up requests and without them (``--no-warm-up``), the time from
starting ``sk-recsys serve`` to its first ``GET /health`` answer and the
latency of its first three ``/recommend`` requests, each folding a
one-item history in for an unknown user (a new user's first visit), best
of ``--repeats`` fresh processes. Results go to
``results/serve_first_request.json``.

Each run is bounded by ``--timeout`` seconds. Results go to
``results/serve_load.json``.

Run: ``python -m benchmarks.serve_load [--requests 20000] [--clients 1 8 64]
[--memory-requests 100000]`` or ``python -m benchmarks.serve_load
--first-requests [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import _common

# (label, extra `sk-recsys serve` options) of each server measured.
MODES = (
    ("micro-batched", ()),
    ("micro-batched, waits 2 ms", ("--max-wait-ms", "2")),
    ("naive: one call per request", ("--no-batching",)),
)


def _data(home):
    from sk_recsys.datasets import load_movielens, make_interactions

    try:
        X, _, _, _ = load_movielens("100k", split="ua", data_home=home, return_X_y=True)
        return X.iloc[:, :2], "MovieLens-100K ua.base"
    except (FileNotFoundError, ValueError, OSError):
        X = make_interactions(
            n_users=1000, n_items=1700, explicit=False, random_state=0, return_X_y=True
        )[0]
        return X.iloc[:, :2], "make_interactions(1000 users, 1700 items)"


def _models(X, folder: Path, *, user_knn=False) -> dict:
    """Two files per model (two seeds or settings): the reload alternates them."""
    import sk_recsys

    files = {}
    specs = {
        "EASE": [sk_recsys.get_model("ease", l2=500.0), sk_recsys.get_model("ease")],
        "MatrixFactorization": [
            sk_recsys.get_model(
                "mf", loss="bpr", n_factors=64, max_epochs=10, random_state=seed
            )
            for seed in (0, 1)
        ],
    }
    if user_knn:
        specs["UserKNN"] = [
            sk_recsys.get_model("user_knn", n_neighbors=k) for k in (50, 100)
        ]
    for name, models in specs.items():
        paths = []
        for i, model in enumerate(models):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model.fit(X)
            path = folder / f"{name}-{i}.safetensors"
            sk_recsys.save(model, path)
            paths.append(path)
        files[name] = paths
    return files


class Served:
    """``sk-recsys serve`` in a subprocess on a free loopback port."""

    def __init__(self, path: Path, *options: str, timeout: float = 60):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [sys.executable, "-m", "sk_recsys.cli", "serve", str(path)]
        command += ["--port", str(self.port), *options]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if request(self.port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)

    def rss_mib(self) -> float:
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(x for x in text.splitlines() if x.startswith("VmRSS"))
        return int(line.split()[1]) / 1024

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def request(port, method, path, body=None, connection=None):
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        if own:
            connection.close()


def load(port, users, n_requests: int, n_clients: int, timeout: float) -> dict:
    """``n_requests`` recommend calls from ``n_clients`` threads; latencies."""
    counter = iter(range(n_requests))
    lock = threading.Lock()
    latencies, failures = [], []
    deadline = time.monotonic() + timeout

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body = {"users": [users[i % len(users)]], "k": 10}
            start = time.perf_counter()
            try:
                status, answer = request(port, "POST", "/recommend", body, connection)
                ok = status == 200 and len(answer["items"][0]) == 10
            except (OSError, http.client.HTTPException, ValueError) as exc:
                ok, status = False, type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - start)
            if not ok:
                with lock:
                    failures.append(status)
        with lock:
            latencies.extend(mine)
        connection.close()

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(n_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    done = np.asarray(latencies)
    return {
        "requests": len(done),
        "failed": len(failures),
        "throughput_rps": len(done) / wall,
        "p50_ms": float(np.percentile(done, 50) * 1000) if len(done) else None,
        "p99_ms": float(np.percentile(done, 99) * 1000) if len(done) else None,
        "wall_s": wall,
    }


def reloader(port, paths, corrupted: Path, stop: threading.Event, log: list):
    """POST /reload every 2 s, alternating files; one corrupted push."""
    i, pushed = 0, False
    while not stop.wait(2.0):
        i += 1
        if not pushed and i == 2:
            status, _ = request(port, "POST", "/reload", {"path": str(corrupted)})
            log.append({"file": "corrupted", "status": status})
            pushed = True
            continue
        path = paths[i % len(paths)]
        status, _ = request(port, "POST", "/reload", {"path": str(path)})
        log.append({"file": path.name, "status": status})


def _first_row(model_name, path, label, options, items, repeats) -> dict:
    """Best of ``repeats`` fresh servers: start-up s, first three requests ms."""
    runs = []
    for repeat in range(repeats):
        start = time.perf_counter()
        server = Served(path, *options)
        started = time.perf_counter() - start
        latencies = []
        try:
            for i in range(3):
                body = {
                    "users": [-1 - i],
                    "k": 10,
                    "history": [[int(items[repeat * 3 + i])]],
                }
                begin = time.perf_counter()
                status, _ = request(server.port, "POST", "/recommend", body)
                latencies.append(time.perf_counter() - begin)
                if status != 200:
                    raise RuntimeError(f"/recommend answered {status}")
        finally:
            server.stop()
        runs.append((started, *latencies))
    best = np.min(np.asarray(runs), axis=0)
    row = {
        "model": model_name,
        "warm_up": label,
        "start_s": float(best[0]),
        "first_ms": float(best[1] * 1000),
        "second_ms": float(best[2] * 1000),
        "third_ms": float(best[3] * 1000),
    }
    print(row, flush=True)
    return row


def first_requests(X, data_name, repeats: int) -> None:
    """Start-up time and first-request latencies of fresh server processes."""
    items = np.unique(X.iloc[:, 1])
    with tempfile.TemporaryDirectory() as folder:
        files = _models(X, Path(folder), user_knn=True)
        with _common.Stopwatch() as watch:
            rows = [
                _first_row(model_name, paths[0], label, options, items, repeats)
                for model_name, paths in files.items()
                for label, options in (("warm-up", ()), ("none", ("--no-warm-up",)))
            ]
    busy = watch.others_busy_cores
    _common.write_result(
        "serve_first_request",
        {
            "title": f"sk-recsys serve: a fresh process's first requests, {data_name}",
            "protocol": (
                "time from starting `sk-recsys serve` (its own process, "
                "OMP_NUM_THREADS=1) to the first GET /health answer, then the "
                "latency of its first three POST /recommend (an unknown user, "
                "a one-item history folded in, k=10); each column is the best "
                f"of {repeats} fresh processes; warm-up: the two requests the "
                "load answers before serving (none: --no-warm-up); other "
                "processes kept "
                + ("?" if busy is None else f"{busy:.1f}")
                + " cores busy meanwhile"
            ),
            "others_busy_cores": busy,
            "columns": [
                "model",
                "warm_up",
                "start_s",
                "first_ms",
                "second_ms",
                "third_ms",
            ],
            "formats": {
                "start_s": ".2f",
                "first_ms": ".1f",
                "second_ms": ".1f",
                "third_ms": ".1f",
            },
            "rows": rows,
        },
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--memory-requests", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--first-requests", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    X, data_name = _data(_common.data_home())
    if args.first_requests:
        first_requests(X, data_name, args.repeats)
        return
    users = [int(u) for u in np.unique(X.iloc[:, 0])]
    rows = []
    memory = {}
    with tempfile.TemporaryDirectory() as folder:
        files = _models(X, Path(folder))
        corrupted = Path(folder) / "corrupted.safetensors"
        raw = bytearray(files["EASE"][0].read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        corrupted.write_bytes(bytes(raw))
        for model_name, paths in files.items():
            for mode, options in MODES:
                server = Served(paths[0], *options)
                try:
                    for n_clients in args.clients:
                        result = load(
                            server.port, users, args.requests, n_clients, args.timeout
                        )
                        rows.append(
                            {
                                "model": model_name,
                                "server": mode,
                                "clients": n_clients,
                                "reloads": "none",
                                **result,
                            }
                        )
                        print(rows[-1], flush=True)
                finally:
                    server.stop()
            server = Served(paths[0])
            try:
                for n_clients in args.clients:
                    stop, log = threading.Event(), []
                    thread = threading.Thread(
                        target=reloader,
                        args=(server.port, paths, corrupted, stop, log),
                    )
                    thread.start()
                    try:
                        result = load(
                            server.port, users, args.requests, n_clients, args.timeout
                        )
                    finally:
                        stop.set()
                        thread.join()
                    refused = [e for e in log if e["file"] == "corrupted"]
                    rows.append(
                        {
                            "model": model_name,
                            "server": "micro-batched",
                            "clients": n_clients,
                            "reloads": f"{len(log)} (corrupted push: "
                            f"{refused[0]['status'] if refused else 'not reached'})",
                            **result,
                        }
                    )
                    print(rows[-1], flush=True)
                if model_name == "EASE":
                    load(server.port, users, 1000, 8, args.timeout)
                    memory["after_1k_mib"] = server.rss_mib()
                    load(server.port, users, args.memory_requests, 8, args.timeout)
                    memory["after_many_mib"] = server.rss_mib()
                    memory["many"] = args.memory_requests
                    print(memory, flush=True)
            finally:
                server.stop()
    _common.write_result(
        "serve_load",
        {
            "title": "sk-recsys serve under load: micro-batched vs one call per "
            f"request, {data_name}",
            "protocol": (
                f"{args.requests} POST /recommend (one known user, k=10) per row "
                "from keep-alive client threads in this process; the server in "
                "its own process (one model thread, OMP_NUM_THREADS=1); "
                f"resident memory of the EASE server after 1,000 requests "
                f"{memory.get('after_1k_mib', float('nan')):.1f} MiB and after "
                f"{memory.get('many', 0):,} more "
                f"{memory.get('after_many_mib', float('nan')):.1f} MiB"
            ),
            "memory": memory,
            "columns": [
                "model",
                "server",
                "clients",
                "reloads",
                "requests",
                "failed",
                "throughput_rps",
                "p50_ms",
                "p99_ms",
            ],
            "formats": {"throughput_rps": ".0f", "p50_ms": ".2f", "p99_ms": ".2f"},
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
