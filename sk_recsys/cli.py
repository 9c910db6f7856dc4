"""The ``sk-recsys`` command: list registered models, evaluate them on a dataset.

``sk-recsys models`` prints every registered model (plugins included):
name, family, origin and a plain-text summary; ``--verbose`` shows each
model's ``module:Class`` path instead of the summary.
``sk-recsys evaluate`` fits each model on a training split and prints a
leaderboard of full-catalog ranking metrics with fit and ranking times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main"]

_DATASETS = ("synthetic", "movielens-100k")


#: The widest line ``sk-recsys models`` prints (a 100-column terminal).
_WIDTH = 100

# reStructuredText inline markup and the plain text it stands for.
_ROLE = re.compile(r":[\w:.-]+:`([^`]+)`")
_MARKUP = [
    (re.compile(r"``([^`]+)``"), r"\1"),  # ``literal``
    (re.compile(r"`([^`<]+?)\s*(?:<[^>]*>)?`_{0,2}"), r"\1"),  # `link <url>`_
    (re.compile(r"\*\*([^*]+)\*\*"), r"\1"),  # **strong**
    (re.compile(r"\*([^*\s][^*]*)\*"), r"\1"),  # *emphasis*
]


def _role(match) -> str:
    """``:class:`~a.B``` -> ``B``; ``:ref:`text <label>``` -> ``text``."""
    text = match.group(1)
    if "<" in text:
        return text.split("<", 1)[0].strip()
    if text.startswith("~"):
        return text[1:].rsplit(".", 1)[-1]
    return text


def _plain(text: str) -> str:
    """A docstring's reStructuredText line as plain text.

    >>> _plain("Factorise, ``min |R - U V^T|^2``, see :class:`~sk_recsys.models.EASE`.")
    'Factorise, min |R - U V^T|^2, see EASE.'
    """
    text = _ROLE.sub(_role, text)
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def _family(model) -> str:
    """The model's ``_family`` class attribute (``"-"`` when it has none)."""
    return str(getattr(type(model), "_family", "") or "-")


def _models_table() -> pd.DataFrame:
    from .plugins import PluginWarning, available_models, get_model
    from .plugins._registry import _BUILTINS

    rows = []
    for name, target in available_models().items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PluginWarning)
            try:
                model = get_model(name)
            except ValueError:
                for warning in caught:
                    print(f"warning: {warning.message}", file=sys.stderr)
                continue
        doc = (type(model).__doc__ or "").strip().splitlines()
        rows.append(
            {
                "name": name,
                "family": _family(model),
                "origin": "built-in" if name in _BUILTINS else "plugin",
                "summary": _plain(doc[0]) if doc else "",
                "class": target,
            }
        )
    return pd.DataFrame(rows, columns=["name", "family", "origin", "summary", "class"])


def _format_table(table: pd.DataFrame, width: int = _WIDTH) -> str:
    """Left-aligned columns; the last one is cut (``...``) to fit ``width``."""
    columns = list(table.columns)
    cells = [[str(value) for value in row] for row in table.itertuples(index=False)]
    widths = [
        max([len(column), *(len(row[i]) for row in cells)])
        for i, column in enumerate(columns)
    ]
    room = width - sum(widths[:-1]) - 2 * (len(columns) - 1)
    widths[-1] = max(min(widths[-1], room), len(columns[-1]))

    def line(values):
        *head, last = values
        if len(last) > widths[-1]:
            last = last[: widths[-1] - 3].rstrip() + "..."
        parts = [value.ljust(w) for value, w in zip(head, widths, strict=False)]
        return "  ".join([*parts, last]).rstrip()

    return "\n".join([line(columns), *(line(row) for row in cells)])


def _print_models(verbose: bool = False) -> None:
    table = _models_table()
    shown = ["name", "family", "origin", "class" if verbose else "summary"]
    print(_format_table(table[shown]))


def _load(args):
    """Return X, y, the item features (or None), the splits and a description."""
    from .datasets import load_movielens, make_interactions
    from .model_selection import UserKFold, train_test_split

    official = None
    item_features = None
    if args.dataset == "synthetic":
        data = make_interactions(random_state=args.random_state)
        X, y, item_features = data.X, data.y, data.item_features
        name = "synthetic (make_interactions, 1000 users x 500 items)"
    elif args.dataset == "movielens-100k":
        try:
            if args.cv:
                data = load_movielens("100k")
                X, y = data.X, data.y
            else:
                data = load_movielens("100k", split="ua")
                X = pd.concat([data.X_train, data.X_test], ignore_index=True)
                y = np.concatenate([data.y_train, data.y_test])
                n_train = len(data.X_train)
                official = (np.arange(n_train), np.arange(n_train, len(X)))
            item_features = data.item_features
        except OSError as exc:
            raise SystemExit(f"sk-recsys: {exc}") from None
        name = "MovieLens-100K"
    else:
        path = Path(args.dataset)
        if not path.is_file():
            raise SystemExit(
                f"sk-recsys: --dataset {args.dataset!r} is neither one of "
                f"{', '.join(_DATASETS)} nor an existing CSV file."
            )
        X = pd.read_csv(path)
        y = None
        if args.rating_column:
            if args.rating_column not in X.columns:
                raise SystemExit(
                    f"sk-recsys: {path} has no column {args.rating_column!r}; its "
                    f"columns are {', '.join(map(str, X.columns))}."
                )
            y = X.pop(args.rating_column).to_numpy(dtype=float)
        name = str(path)
    if not args.use_ratings:
        y = None
    if args.cv:
        splits = list(UserKFold(args.cv, random_state=args.random_state).split(X))
        protocol = f"UserKFold({args.cv}) cross-validation"
    elif official is not None:
        splits = [official]
        protocol = "official ua split (10 test ratings per user)"
    else:
        X = X.reset_index(drop=True)
        X_train, X_test = train_test_split(
            X, test_size=0.2, random_state=args.random_state
        )
        splits = [(X_train.index.to_numpy(), X_test.index.to_numpy())]
        protocol = "per-user 80/20 holdout"
    feedback = (
        "implicit feedback (--use-ratings fits on y)"
        if y is None
        else "ratings passed to fit as y"
    )
    n_users, n_items = X.iloc[:, 0].nunique(), X.iloc[:, 1].nunique()
    description = (
        f"{name}: {n_users} users, {n_items} items, {len(X)} interactions "
        f"({feedback}); {protocol}; full-catalog ranking, training items excluded"
    )
    if item_features is not None:
        description += "; item features passed to fit"
    return X, y, item_features, splits, description


def _evaluate(args) -> pd.DataFrame:
    from sklearn.model_selection import cross_validate
    from tqdm.auto import tqdm

    from .metrics import get_scorer
    from .plugins import available_models, get_model

    X, y, item_features, splits, description = _load(args)
    params = {} if item_features is None else {"item_features": item_features}
    k = args.k
    scoring = {
        f"precision@{k}": get_scorer(f"precision@{k}"),
        f"recall@{k}": get_scorer(f"recall@{k}"),
        f"f1@{k}": get_scorer(f"f1@{k}"),
        f"ndcg@{k}": get_scorer(f"ndcg@{k}"),
        "auc": get_scorer("auc"),
    }
    names = args.models or list(available_models())
    print(description)
    rows = []
    progress = tqdm(names, desc="evaluating", unit="model", file=sys.stderr)
    for name in progress:
        progress.set_postfix_str(name)
        try:
            model = get_model(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                result = cross_validate(
                    model,
                    X,
                    y,
                    cv=splits,
                    scoring=scoring,
                    error_score="raise",
                    params=params,
                )
        except Exception as exc:  # one broken model must not hide the others
            progress.write(f"{name}: failed: {type(exc).__name__}: {exc}")
            continue
        row = {"model": name}
        row.update({metric: result[f"test_{metric}"].mean() for metric in scoring})
        row["fit_s"] = result["fit_time"].mean()
        row["rank_s"] = result["score_time"].mean()
        rows.append(row)
    board = pd.DataFrame(rows)
    if len(board):
        board = board.sort_values(f"ndcg@{k}", ascending=False, ignore_index=True)
    return board


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sk-recsys",
        description="scikit-learn compatible recommender systems.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    models = commands.add_parser("models", help="list every registered model")
    models.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="show each model's module:Class path instead of its summary",
    )
    evaluate = commands.add_parser(
        "evaluate", help="fit models and print a ranking leaderboard"
    )
    evaluate.add_argument(
        "--dataset",
        default="synthetic",
        help="synthetic (default), movielens-100k (needs $SK_RECSYS_DATA) or a "
        "CSV file with user ids in column 0 and item ids in column 1",
    )
    evaluate.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help="registry names to evaluate (default: every registered model)",
    )
    evaluate.add_argument("--k", type=int, default=10, help="list length (default 10)")
    evaluate.add_argument(
        "--cv",
        type=int,
        metavar="N",
        help="N-fold UserKFold cross-validation instead of one holdout split",
    )
    evaluate.add_argument(
        "--use-ratings",
        action="store_true",
        help="pass ratings to fit as y (default: fit on the interactions only, "
        "the usual protocol for top-K ranking)",
    )
    evaluate.add_argument(
        "--rating-column",
        default=None,
        metavar="NAME",
        help="for a CSV: the column holding ratings or weights (used with "
        "--use-ratings)",
    )
    evaluate.add_argument(
        "--random-state", type=int, default=0, help="seed (default 0)"
    )
    evaluate.add_argument(
        "--output",
        metavar="FILE",
        help="also write the leaderboard to FILE (.json or .csv)",
    )
    serve = commands.add_parser(
        "serve",
        help="serve a saved model over HTTP (JSON; needs the 'serve' extra)",
        description="Serve MODEL_FILE (written by sk_recsys.save) as a JSON "
        "service: POST /recommend, /predict, /reload; GET /health, /model.",
    )
    serve.add_argument("model_file", metavar="MODEL_FILE")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="default 8000")
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes (default 1)"
    )
    serve.add_argument(
        "--max-batch",
        type=int,
        default=256,
        help="most users answered by one batched recommend call (default 256)",
    )
    serve.add_argument(
        "--max-wait-ms",
        type=float,
        default=0.0,
        help="how long a batch waits for more requests after taking those "
        "that queued meanwhile (default 0)",
    )
    serve.add_argument(
        "--token",
        default=os.environ.get("SK_RECSYS_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' (default: $SK_RECSYS_TOKEN)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=1 << 20,
        help="larger request bodies get 413 (default 1 MiB)",
    )
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--no-batching",
        action="store_true",
        help="answer each request with its own recommend call (for comparison)",
    )
    serve.add_argument(
        "--no-warm-up",
        action="store_true",
        help="skip the two warm-up requests at each load (starts sooner; the "
        "first request then pays the one-off costs)",
    )
    serve.add_argument(
        "--watch",
        type=float,
        metavar="SECONDS",
        help="reload MODEL_FILE when it changes, checking every SECONDS",
    )
    return parser


def _serve(args) -> int:
    for name in ("port", "workers", "max_batch", "max_body_bytes"):
        if getattr(args, name) < 1:
            raise SystemExit(f"sk-recsys: --{name.replace('_', '-')} must be >= 1.")
    try:
        from .serving import serve
    except ImportError as exc:
        raise SystemExit(
            f"sk-recsys serve needs the serve extra ({exc}): pip install "
            "'sk-recsys[serve]'."
        ) from None
    try:
        serve(
            args.model_file,
            host=args.host,
            port=args.port,
            workers=args.workers,
            max_batch=args.max_batch,
            max_wait_ms=args.max_wait_ms,
            token=args.token,
            max_body_bytes=args.max_body_bytes,
            watch=args.watch,
            batching=not args.no_batching,
            warm_up=not args.no_warm_up,
            access_log=args.access_log,
        )
    except (ValueError, OSError) as exc:
        raise SystemExit(f"sk-recsys serve: {exc}") from None
    return 0


def main(argv=None) -> int:
    """Run the ``sk-recsys`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success.

    Examples
    --------
    >>> from sk_recsys.cli import main
    >>> main(["models"])  # doctest: +SKIP
    """
    args = _parser().parse_args(argv)
    if args.command == "models":
        _print_models(verbose=args.verbose)
        return 0
    if args.command == "serve":
        return _serve(args)
    if args.k < 1:
        raise SystemExit("sk-recsys: --k must be a positive integer.")
    if args.cv is not None and args.cv < 2:
        raise SystemExit("sk-recsys: --cv must be at least 2.")
    board = _evaluate(args)
    if board.empty:
        print("No model could be evaluated.")
        return 1
    print(board.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.output:
        path = Path(args.output)
        if path.suffix == ".json":
            path.write_text(json.dumps(board.to_dict(orient="records"), indent=2))
        else:
            board.to_csv(path, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
