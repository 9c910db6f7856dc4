"""`sk-recsys serve`: a real server on a loopback port, under load and faults."""

import http.client
import json
import shutil
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sk_recsys
from sk_recsys._persistence import file_checksum

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")

from sk_recsys.serving import create_app  # noqa: E402

TIMEOUT = 10  # seconds, for every request and for start and stop


def _fit(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return model.fit(X)


@pytest.fixture(scope="module")
def data():
    from sk_recsys.datasets import make_interactions

    return make_interactions(
        n_users=120,
        n_items=60,
        interactions_per_user=10,
        explicit=False,
        random_state=0,
        return_X_y=True,
    )[0]


@pytest.fixture(scope="module")
def files(data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    ease = folder / "ease.safetensors"
    knn = folder / "knn.safetensors"
    sk_recsys.save(_fit(sk_recsys.EASE(), data), ease)
    sk_recsys.save(_fit(sk_recsys.ItemKNN(n_neighbors=5), data), knn)
    return {"ease": ease, "knn": knn}


class Server:
    """uvicorn in a thread on 127.0.0.1, a free port; stopped by the test."""

    def __init__(self, app):
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the server did not stop"

    def request(self, method, path, body=None, *, raw=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            payload = (
                raw
                if raw is not None
                else (None if body is None else json.dumps(body).encode())
            )
            connection.request(method, path, body=payload, headers=headers or {})
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()


@pytest.fixture
def served(files, tmp_path):
    path = tmp_path / "model.safetensors"
    shutil.copy(files["ease"], path)
    with Server(create_app(path, max_wait_ms=20)) as server:
        server.path = path
        yield server


def test_loading_warms_the_model_up_and_a_failed_warm_up_still_serves(
    files, monkeypatch, caplog
):
    # A fresh process's first fold-in pays one-off loads (numba's kernels for
    # the kNN models: 517 ms against 10 ms, benchmarks/serve_load.py
    # --first-requests); load_model pays them unless told not to.
    from sk_recsys.serving._app import load_model

    original = sk_recsys.ItemKNN.recommend
    histories = []

    def spy(self, users, k=10, **kwargs):
        histories.append(kwargs.get("history"))
        return original(self, users, k, **kwargs)

    monkeypatch.setattr(sk_recsys.ItemKNN, "recommend", spy)
    loaded = load_model(files["knn"])
    assert None in histories
    assert any(history is not None for history in histories)
    histories.clear()
    load_model(files["knn"], warm=False)
    assert histories == []

    def broken(self, *args, **kwargs):
        raise RuntimeError("no history here")

    monkeypatch.setattr(sk_recsys.ItemKNN, "recommend", broken)
    with caplog.at_level("WARNING", logger="sk_recsys.serving"):
        again = load_model(files["knn"])
    assert "no history here" in caplog.text
    assert again.checksum == loaded.checksum


def test_recommend_answers_as_the_model_does(served, files, data):
    model = sk_recsys.load(files["ease"])
    users = [int(u) for u in data.iloc[:5, 0]]
    status, body = served.request("POST", "/recommend", {"users": users, "k": 4})
    assert status == 200
    expected_ids, expected_scores = model.recommend(users, k=4)
    assert body["items"] == expected_ids.tolist()
    np.testing.assert_allclose(body["scores"], expected_scores, rtol=1e-6)
    # candidates and history follow the contract too
    status, body = served.request(
        "POST",
        "/recommend",
        {
            "users": [users[0], 10**9],
            "k": 2,
            "candidates": [1, 2, 3, 4, 5],
            "history": [None, [1, 2]],
        },
    )
    ids, _ = model.recommend(
        [users[0], 10**9], k=2, candidates=[1, 2, 3, 4, 5], history=[None, [1, 2]]
    )
    assert status == 200 and body["items"] == ids.tolist()


def test_predict_health_and_model_info(served, files, data):
    model = sk_recsys.load(files["ease"])
    pairs = data.iloc[:6, :2].to_numpy().astype(int)
    status, body = served.request(
        "POST",
        "/predict",
        {"users": pairs[:, 0].tolist(), "items": pairs[:, 1].tolist()},
    )
    assert status == 200
    np.testing.assert_allclose(body["scores"], model.predict(pairs), rtol=1e-6)
    assert served.request("GET", "/health")[1]["status"] == "ok"
    status, info = served.request("GET", "/model")
    assert status == 200
    assert info["class"].endswith("EASE") and info["n_items"] == model.n_items_
    assert info["sha256"] == file_checksum(served.path)


def test_concurrent_requests_are_batched(served):
    users = list(range(40))

    def ask(user):
        return served.request("POST", "/recommend", {"users": [user], "k": 3})

    before = served.request("GET", "/health")[1]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, users))
    after = served.request("GET", "/health")[1]
    assert all(status == 200 for status, _ in answers)
    requests = after["requests_batched"] - before["requests_batched"]
    batches = after["batches"] - before["batches"]
    assert requests == len(users)
    assert batches < requests, "concurrent requests must share model calls"
    # each answer is that user's own list
    alone = served.request("POST", "/recommend", {"users": [7], "k": 3})[1]
    assert answers[7][1]["items"] == alone["items"]


BAD_BODIES = [
    (b"{not json", 400, "not valid JSON"),
    (json.dumps({"users": "u1"}).encode(), 400, "non-empty list"),
    (json.dumps({"users": []}).encode(), 400, "non-empty list"),
    (json.dumps({"users": [1.5]}).encode(), 400, "strings or integers"),
    (json.dumps({"users": [1, "a"]}).encode(), 400, "mixes"),
    (json.dumps({"users": [1], "k": 0}).encode(), 400, "between 1"),
    (json.dumps({"users": [1], "k": 10**6}).encode(), 400, "between 1"),
    (json.dumps({"users": [1], "k": "5"}).encode(), 400, "integer"),
    (json.dumps({"users": [1], "exclude_seen": "yes"}).encode(), 400, "true or"),
    (json.dumps({"users": [1], "history": [[1], [2]]}).encode(), 400, "per user"),
    (json.dumps({"users": [1], "colour": 1}).encode(), 400, "unknown field"),
    (json.dumps([1, 2]).encode(), 400, "JSON object"),
]


@pytest.mark.parametrize("raw, status, message", BAD_BODIES)
def test_bad_requests_get_a_one_sentence_4xx(served, raw, status, message):
    got, body = served.request("POST", "/recommend", raw=raw)
    assert got == status and message in body["error"]
    assert "Traceback" not in body["error"]
    # and the service still answers
    assert served.request("GET", "/health")[0] == 200


def test_unknown_users_and_routes(served):
    status, body = served.request("POST", "/recommend", {"users": [10**9], "k": 3})
    assert status == 200 and len(body["items"][0]) == 3  # popularity
    status, body = served.request("GET", "/nowhere")
    assert status == 404 and "not an endpoint" in body["error"]
    status, body = served.request("GET", "/recommend")
    assert status == 405


def test_size_limit_and_token(files):
    app = create_app(files["ease"], token="s3cret", max_body_bytes=200)
    with Server(app) as server:
        status, body = server.request("POST", "/recommend", {"users": [1]})
        assert status == 401 and "bearer token" in body["error"]
        auth = {"Authorization": "Bearer s3cret"}
        status, _ = server.request("POST", "/recommend", {"users": [1]}, headers=auth)
        assert status == 200
        status, body = server.request(
            "POST", "/recommend", {"users": list(range(100))}, headers=auth
        )
        assert status == 413 and "limit of 200 bytes" in body["error"]


def test_reload_swaps_and_refuses_a_corrupted_file(served, files, tmp_path):
    before = served.request("GET", "/model")[1]
    status, body = served.request("POST", "/reload", {"path": str(files["knn"])})
    assert status == 200 and body["sha256"] == file_checksum(files["knn"])
    assert served.request("GET", "/model")[1]["class"].endswith("ItemKNN")
    broken = tmp_path / "broken.safetensors"
    raw = bytearray(files["ease"].read_bytes())
    raw[-5] ^= 0xFF
    broken.write_bytes(bytes(raw))
    status, body = served.request("POST", "/reload", {"path": str(broken)})
    assert status == 409 and "corrupted" in body["error"]
    assert "previous model keeps serving" in body["error"]
    status, info = served.request("GET", "/model")
    assert info["class"].endswith("ItemKNN") and info["sha256"] != before["sha256"]
    assert served.request("POST", "/recommend", {"users": [1], "k": 2})[0] == 200


def test_watch_reloads_a_changed_file(files, tmp_path):
    path = tmp_path / "watched.safetensors"
    shutil.copy(files["ease"], path)
    with Server(create_app(path, watch=0.05)) as server:
        shutil.copy(files["knn"], tmp_path / "next")
        (tmp_path / "next").replace(path)  # atomic, as a deploy would
        deadline = time.monotonic() + TIMEOUT
        while not server.request("GET", "/model")[1]["class"].endswith("ItemKNN"):
            assert time.monotonic() < deadline, "the changed file was not reloaded"
            time.sleep(0.05)


ids = st.one_of(st.integers(-5, 200), st.text(max_size=5))
values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children)
    ),
    max_leaves=10,
)
bodies = st.one_of(
    values,
    st.fixed_dictionaries(
        {"users": st.lists(ids, max_size=5)},
        optional={
            "k": st.one_of(st.integers(-3, 100), values),
            "exclude_seen": st.one_of(st.booleans(), values),
            "candidates": st.one_of(st.lists(ids, max_size=5), values),
            "history": st.one_of(st.lists(st.lists(ids, max_size=3)), values),
        },
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=bodies, path=st.sampled_from(["/recommend", "/predict", "/reload"]))
def test_fuzzed_requests_never_break_the_service(served, body, path):
    if path == "/reload" and isinstance(body, dict) and "path" in body:
        body = {"path": "/nonexistent/model"}
    status, answer = served.request("POST", path, body)
    assert status in (200, 400, 409, 413, 422), (status, answer)
    if status != 200:
        assert isinstance(answer["error"], str) and "Traceback" not in answer["error"]
    assert served.request("GET", "/health")[0] == 200


def test_cli_serves_a_model_file_and_refuses_a_bad_one(files, tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "sk_recsys.cli", "serve", str(files["ease"])]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--max-wait-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/health")
                assert connection.getresponse().status == 200
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "sk-recsys serve did not start"
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(TIMEOUT)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\0" * 64)
    done = subprocess.run(
        [sys.executable, "-m", "sk_recsys.cli", "serve", str(bad), "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "not a sk_recsys model file" in done.stderr
