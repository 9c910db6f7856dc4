"""Serve a saved model over HTTP: ``sk-recsys serve MODEL_FILE``.

A JSON service on Starlette and uvicorn (the ``serve`` extra):

- ``POST /recommend`` ``{"users": [...], "k": 10, "exclude_seen": true,
  "candidates": [...], "history": [[...], null, ...]}`` answers
  ``{"items": [[...]], "scores": [[...]]}``, the contract of
  ``recommend`` (a padded slot's score is ``null``);
- ``POST /predict`` ``{"users": [...], "items": [...]}`` answers
  ``{"scores": [...]}``;
- ``GET /health`` and ``GET /model`` (class, parameters, version, catalog
  size, the file's SHA-256);
- ``POST /reload`` (``{}`` or ``{"path": ...}``) loads the file beside the
  serving model and swaps them; a file that fails to load (corrupted,
  unfitted, missing) is refused with the reason, and the old model keeps
  serving. ``--watch SECONDS`` reloads when the file changes.

Concurrent ``/recommend`` requests are micro-batched: those that queued
while the model thread was busy (plus any arriving within ``max_wait_ms``,
up to ``max_batch`` users) are answered by one ``recommend`` call, so
throughput grows with concurrency. Requests with ``candidates`` run alone.
A bad request gets a 4xx status and ``{"error": "one sentence"}``, never a
traceback.
"""

from ._app import MAX_USERS, RequestError, create_app, load_model

__all__ = ["MAX_USERS", "RequestError", "create_app", "load_model", "serve"]


def serve(
    model_path,
    *,
    host="127.0.0.1",
    port=8000,
    workers=1,
    max_batch=256,
    max_wait_ms=0.0,
    token=None,
    max_body_bytes=1 << 20,
    watch=None,
    batching=True,
    warm_up=True,
    access_log=False,
    log_level="info",
):
    """Serve ``model_path`` until interrupted (what ``sk-recsys serve`` runs).

    Parameters
    ----------
    model_path : str or path-like
        A file written by :func:`sk_recsys.save`.
    host : str, default="127.0.0.1"
        Loopback by default; pass ``0.0.0.0`` to listen on every interface.
    port : int, default=8000
    workers : int, default=1
        Server processes, each with its own copy of the model. ``POST
        /reload`` reaches one of them: with several, use ``watch``.
    max_batch : int, default=256
        Most users answered by one batched ``recommend`` call.
    max_wait_ms : float, default=0.0
        How long a batch waits for more requests after taking those that
        queued while the previous batch ran. 0 was best at 1, 8 and 64
        clients (``benchmarks/serve_load.py``): batches grow under load by
        themselves, and a lone request never waits.
    token : str, default=None
        Require ``Authorization: Bearer <token>`` on every request.
    max_body_bytes : int, default=1048576
        Larger request bodies get 413.
    watch : float, default=None
        Check the file every ``watch`` seconds and reload when it changes.
    batching : bool, default=True
        ``False`` answers each request with its own ``recommend`` call (what
        a hand-written endpoint does; for comparison).
    warm_up : bool, default=True
        Answer two small requests (one folding a history in) at every load,
        so the first client does not pay a fresh process's one-off costs;
        ``False`` starts (and reloads) sooner.
    access_log : bool, default=False
        Log every request (uvicorn's access log). Off by default: formatting
        a log line per request costs throughput; reloads and errors are
        logged either way.
    log_level : str, default="info"
    """
    import json
    import os

    import uvicorn

    options = {
        "max_batch": max_batch,
        "max_wait_ms": max_wait_ms,
        "token": token,
        "max_body_bytes": max_body_bytes,
        "watch": watch,
        "batching": batching,
        "warm_up": warm_up,
    }
    if workers > 1:
        os.environ["SK_RECSYS_SERVE_OPTIONS"] = json.dumps(
            {"model_path": os.fspath(model_path), **options}
        )
        uvicorn.run(
            "sk_recsys.serving._app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=access_log,
        )
        return
    app = create_app(model_path, **options)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log)
