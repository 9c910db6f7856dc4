"""The HTTP JSON service over a saved model: routes, validation, reload."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import math
import numbers
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger("sk_recsys.serving")

#: Most users one request may ask for.
MAX_USERS = 10_000


class RequestError(ValueError):
    """A bad request: answered with ``status`` and a one-sentence message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Loaded:
    """A model loaded from a file, with what ``GET /model`` reports."""

    model: object
    path: str
    checksum: str
    loaded_at: float
    stamp: tuple  # (mtime, size) of the file when it was read


def load_model(path, *, warm=True) -> Loaded:
    """Read and verify a model file (raises ValueError on any corruption).

    With ``warm`` (the default), :func:`warm_up` answers two small requests
    before the model is returned.
    """
    from .._persistence import load_checked

    path = os.fspath(path)
    stat = os.stat(path)
    model, checksum = load_checked(path, device="cpu")
    if not hasattr(model, "items_"):
        raise ValueError(f"{path!r} holds an unfitted model; fit it before serving.")
    if warm:
        warm_up(model)
    return Loaded(model, path, checksum, time.time(), (stat.st_mtime_ns, stat.st_size))


def warm_up(model) -> None:
    """Answer two small requests before the model serves (one with a history).

    A fresh process pays one-off costs on its first request, such as
    loading the compiled kernels a kNN fold-in uses (numba: 517 ms of a
    fresh ``UserKNN`` server's first request on MovieLens-100K, 10 ms with
    the warm-up). Paid here, at load or reload, the first client does not
    see them. A model that cannot answer them (no ``users_``, history not
    supported) still serves; the failure is logged.
    """
    users, items = getattr(model, "users_", ()), model.items_
    if not len(users) or not len(items):
        return
    try:
        model.recommend(users[:1], k=1)
        model.recommend(users[:1], k=1, history=[items[:1]])
    except Exception as exc:  # a warm-up never refuses a model
        logger.warning("warm-up request failed, serving anyway: %s", exc)


def _jsonable(values: np.ndarray) -> list:
    """Ids or scores as JSON: numpy scalars as Python, -inf/NaN as null."""
    out = values.tolist()
    if values.dtype.kind == "f":
        return [[None if not math.isfinite(v) else v for v in row] for row in out]
    return out


def _ids(value, name: str) -> list:
    """A non-empty list of ids of one kind (all str, or all int)."""
    if not isinstance(value, list) or not value:
        raise RequestError(f"{name} must be a non-empty list of ids.")
    if len(value) > MAX_USERS:
        raise RequestError(f"{name} has {len(value)} ids; send at most {MAX_USERS}.")
    kinds = set()
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise RequestError(
                f"{name} holds {type(item).__name__} values; ids are strings or "
                "integers."
            )
        kinds.add(isinstance(item, str))
    if len(kinds) > 1:
        raise RequestError(f"{name} mixes string and integer ids; use one kind.")
    return value


def _int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise RequestError(f"{name} must be an integer, got {json.dumps(value)}.")
    if not low <= value <= high:
        raise RequestError(f"{name} must be between {low} and {high}, got {value}.")
    return int(value)


def parse_recommend(body: dict, n_items: int) -> dict:
    """Validate a ``/recommend`` body against the ``recommend`` contract."""
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object.")
    unknown = set(body) - {"users", "k", "exclude_seen", "candidates", "history"}
    if unknown:
        raise RequestError(f"unknown field(s) {sorted(unknown)}.")
    users = _ids(body.get("users"), "users")
    k = _int(body.get("k", 10), "k", 1, n_items)
    exclude_seen = body.get("exclude_seen", True)
    if not isinstance(exclude_seen, bool):
        raise RequestError("exclude_seen must be true or false.")
    candidates = body.get("candidates")
    if candidates is not None:
        candidates = _ids(candidates, "candidates")
    history = body.get("history")
    if history is not None:
        if not isinstance(history, list) or len(history) != len(users):
            raise RequestError(
                "history must be a list with one entry (a list of item ids, or "
                "null) per user."
            )
        history = [None if h is None else _ids(h, "history entries") for h in history]
    return {
        "users": users,
        "k": k,
        "exclude_seen": exclude_seen,
        "candidates": candidates,
        "history": history,
    }


def parse_predict(body: dict) -> tuple[list, list]:
    """Validate a ``/predict`` body: ``{"users": [...], "items": [...]}``."""
    if not isinstance(body, dict) or set(body) != {"users", "items"}:
        raise RequestError('the body must be {"users": [...], "items": [...]}.')
    users, items = _ids(body["users"], "users"), _ids(body["items"], "items")
    if len(users) != len(items):
        raise RequestError(
            f"users has {len(users)} ids and items {len(items)}; one item per user."
        )
    return users, items


def create_app(
    model_path,
    *,
    max_batch: int = 256,
    max_wait_ms: float = 0.0,
    token: str | None = None,
    max_body_bytes: int = 1 << 20,
    watch: float | None = None,
    batching: bool = True,
    warm_up: bool = True,
):
    """The Starlette application serving ``model_path``.

    Parameters are those of ``sk-recsys serve`` (see :mod:`sk_recsys.serving`).
    """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ._batcher import MicroBatcher

    state = {"current": load_model(model_path, warm=warm_up)}
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sk-recsys-model")
    reload_lock = asyncio.Lock()

    async def run(function):
        return await asyncio.get_running_loop().run_in_executor(executor, function)

    batcher = MicroBatcher(
        lambda: state["current"].model,
        run,
        max_batch=max_batch,
        max_wait=max_wait_ms / 1000,
    )

    def error(message: str, status: int) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def read_json(request):
        if token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                raise RequestError("a valid bearer token is required.", 401)
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isdigit()
            and int(declared) > max_body_bytes
        ):
            raise RequestError(
                f"the body is larger than the limit of {max_body_bytes} bytes.", 413
            )
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise RequestError(
                    f"the body is larger than the limit of {max_body_bytes} bytes.",
                    413,
                )
        try:
            return json.loads(body) if body else {}
        except (ValueError, UnicodeDecodeError):
            raise RequestError("the body is not valid JSON.") from None

    def endpoint(handler):
        async def wrapped(request):
            try:
                return await handler(request)
            except RequestError as exc:
                return error(str(exc), exc.status)
            except ValueError as exc:  # the model refused the request
                return error(str(exc).splitlines()[0], 400)
            except Exception as exc:
                logger.exception("request failed")
                return error(f"internal error ({type(exc).__name__}).", 500)

        return wrapped

    @endpoint
    async def recommend(request):
        body = await read_json(request)
        loaded = state["current"]
        query = parse_recommend(body, loaded.model.n_items_)
        if query["candidates"] is None and batching:
            ids, scores = await batcher.submit(
                query["users"], query["k"], query["exclude_seen"], query["history"]
            )
        else:
            model = loaded.model
            ids, scores = await run(
                lambda: model.recommend(
                    query["users"],
                    k=query["k"],
                    exclude_seen=query["exclude_seen"],
                    candidates=query["candidates"],
                    history=query["history"],
                )
            )
        return JSONResponse({"items": _jsonable(ids), "scores": _jsonable(scores)})

    @endpoint
    async def predict(request):
        users, items = parse_predict(await read_json(request))
        model = state["current"].model
        frame = np.empty((len(users), 2), dtype=object)
        frame[:, 0], frame[:, 1] = users, items
        scores = await run(lambda: model.predict(frame))
        return JSONResponse({"scores": _jsonable(np.asarray(scores)[None])[0]})

    @endpoint
    async def health(request):
        return JSONResponse(
            {
                "status": "ok",
                "requests_batched": batcher.n_requests,
                "batches": batcher.n_batches,
            }
        )

    @endpoint
    async def model_info(request):
        from .. import __version__

        loaded = state["current"]
        model = loaded.model
        params = {
            name: value
            if isinstance(value, str | int | float | bool | None)
            else repr(value)
            for name, value in model.get_params(deep=False).items()
        }
        return JSONResponse(
            {
                "class": f"{type(model).__module__}.{type(model).__qualname__}",
                "params": params,
                "sk_recsys_version": __version__,
                "n_users": int(model.n_users_),
                "n_items": int(model.n_items_),
                "path": loaded.path,
                "sha256": loaded.checksum,
                "loaded_at": loaded.loaded_at,
            }
        )

    async def swap(path) -> Loaded:
        """Load ``path`` beside the serving model, then swap (one at a time)."""
        async with reload_lock:
            fresh = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(load_model, path, warm=warm_up)
            )
            previous = state["current"]
            state["current"] = fresh
            logger.info(
                "reloaded %s (sha256 %s, was %s)",
                path,
                fresh.checksum,
                previous.checksum,
            )
            return fresh

    @endpoint
    async def reload(request):
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) - {"path"}:
            raise RequestError('the body must be {} or {"path": "MODEL_FILE"}.')
        path = body.get("path", state["current"].path)
        if not isinstance(path, str):
            raise RequestError("path must be a string.")
        try:
            fresh = await swap(path)
        except (ValueError, OSError, TypeError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            logger.error("reload of %s refused: %s", path, message)
            raise RequestError(
                f"reload refused, the previous model keeps serving: {message}", 409
            ) from None
        return JSONResponse({"status": "reloaded", "sha256": fresh.checksum})

    async def watcher():
        """Reload when the served file changes (mtime or size), every ``watch`` s."""
        while True:
            await asyncio.sleep(watch)
            path = state["current"].path
            try:
                stat = os.stat(path)
            except OSError:
                continue
            if (stat.st_mtime_ns, stat.st_size) == state["current"].stamp:
                continue
            try:
                await swap(path)
            except Exception as exc:  # keep serving the old model
                logger.error("reload of %s refused: %s", path, exc)
                # Do not retry the same bad file on every tick.
                state["current"].stamp = (stat.st_mtime_ns, stat.st_size)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        batcher.start()
        task = asyncio.get_running_loop().create_task(watcher()) if watch else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            await batcher.stop()
            executor.shutdown(wait=False, cancel_futures=True)

    async def not_routed(request, exc):
        return error(
            f"{request.method} {request.url.path} is not an endpoint of this "
            "service (POST /recommend, /predict, /reload; GET /health, /model).",
            exc.status_code,
        )

    app = Starlette(
        exception_handlers={404: not_routed, 405: not_routed},
        routes=[
            Route("/recommend", recommend, methods=["POST"]),
            Route("/predict", predict, methods=["POST"]),
            Route("/reload", reload, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/model", model_info, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.models = state
    app.state.batcher = batcher
    return app


def app_from_environment():
    """The app of ``sk-recsys serve --workers N``: options from the environment."""
    options = json.loads(os.environ["SK_RECSYS_SERVE_OPTIONS"])
    return create_app(Path(options.pop("model_path")), **options)
