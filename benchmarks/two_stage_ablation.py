"""Why CandidateRanker's learned gain is gone when it serves: an ablation.

On the validation split of a dataset's training rows (the suite's seeded
10% of each user's rows; the test rows are never read), ``CandidateRanker``
over the three generators ``two_stage.py`` chose, with their selected
settings and the default ranker, 100 candidates, a random holdout,
varying one thing at a time:

- the holdout share and the rounds (``holdout=0.2`` once, ``0.1`` twice,
  ``0.05`` four times: the generators of the ranker's training stage see
  72%, 81% and 85.5% of the rows the served ones see 90% of);
- the feature groups (``scores`` only), and within them the standardised
  scores dropped (ranks only), with and without monotone constraints
  (``HistGradientBoostingClassifier(monotonic_cst=...)``: a candidate
  does not lose by a generator ranking it higher);
- the best generator as the only one, scores only: plain, with ties in
  the ranker's output broken by that generator's score, and monotone with
  that tie-break (which must give back the generator's own order);
- two features of the user's taste for the candidate's side information:
  the share of the user's training items in each of the candidate's
  genres (``genre_affinity``) and the candidate's year minus the mean year
  of the user's items (``year_gap``), from the rows of the stage the
  ranker reads (no held-out row enters them).

The ranks-only, tie-break and taste rows need hooks ``CandidateRanker``
does not expose (a subclass below drops or adds columns in ``_candidates``
and orders ``_user_scores`` lexicographically); they are diagnostics, not
options.
NDCG@10 by our scorer, full catalog, training items excluded.

Run: ``python -m benchmarks.two_stage_ablation [--dataset ml100k-ua]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if not __package__:  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import _common, suite, two_stage


def _diagnostic_class():
    import torch

    from sk_recsys.compose import CandidateRanker

    class Diagnostic(CandidateRanker):
        """``drop``: column suffixes removed from the ranker's features;
        ``tie_break``: ties in the ranker's output keep the first
        generator's order (each user's candidates scored by position)."""

        drop: tuple = ()
        tie_break: bool = False
        taste: bool = False

        def _candidates(self, stage, codes, history):
            rows, cols, frame, first = super()._candidates(stage, codes, history)
            if self.taste:
                frame = frame.assign(
                    **_taste(self._item_table_, stage, codes, rows, cols)
                )
            if self.drop:
                frame = frame.drop(
                    columns=[c for c in frame.columns if c.endswith(self.drop)]
                )
            return rows, cols, frame, first

        def _user_scores(self, codes, history=None):
            if not self.tie_break:
                return super()._user_scores(codes, history)
            rows, cols, frame, first = self._candidates(self._stage_, codes, history)
            ranked = self._rank_scores(frame[self.feature_names_])
            rows_t, cols_t = torch.from_numpy(rows), torch.from_numpy(cols)
            tie = first[rows_t, cols_t].double().numpy()
            order = np.lexsort((-tie, -ranked, rows))
            starts = np.searchsorted(rows[order], np.arange(len(codes)))
            position = np.empty(len(order))
            position[order] = np.arange(len(order)) - starts[rows[order]]
            out = first.double() - first.double().max() - 1.0
            out[rows_t, cols_t] = torch.from_numpy(len(order) - position)
            return out

    return Diagnostic


def _taste(items, stage, codes, rows, cols) -> dict:
    """``genre_affinity`` and ``year_gap`` of each candidate pair.

    ``items`` is the ranker's item table (MovieLens's genre flags and
    ``item_year``), the user profile the mean over the stage's training
    items.
    """
    from sklearn.preprocessing import normalize

    # the genre flags: the numeric columns holding only 0 and 1
    flags = [
        c
        for c in items.columns
        if items[c].dtype.kind in "iubf" and items[c].dropna().isin((0, 1)).all()
    ]
    genres = np.nan_to_num(items[flags].to_numpy(np.float64))
    year = items["item_year"].to_numpy(np.float64)
    year = np.where(np.isnan(year), np.nanmean(year), year)
    profile = normalize(
        (stage.seen[np.maximum(codes, 0)] != 0).astype(np.float64), "l1"
    )
    shares = np.asarray(profile @ genres)[rows]
    candidate = genres[cols]
    return {
        "genre_affinity": (shares * candidate).sum(1) / np.maximum(candidate.sum(1), 1),
        "year_gap": year[cols] - np.asarray(profile @ year).ravel()[rows],
    }


def _monotone_ranker(columns):
    """CandidateRanker's default ranker, monotone in ``columns`` (a higher
    score never lowers a candidate, a worse rank never raises it)."""
    from sk_recsys.compose import CandidateRanker

    return (
        CandidateRanker([], random_state=0)
        ._ranker()
        .set_params(
            monotonic_cst={
                name: 1 if name.endswith("_score") else -1 for name in columns
            }
        )
    )


def variants(chosen: list) -> list:
    """(label, generator names, CandidateRanker parameters, diagnostic hooks)."""
    every = [f"g{i}_{kind}" for i in range(len(chosen)) for kind in ("score", "rank")]
    ranks = [name for name in every if name.endswith("_rank")]
    best = chosen[0]
    return [
        ("holdout=0.2, 1 round (the benchmark's setting)", chosen, {}, {}),
        ("holdout=0.1, 2 rounds", chosen, {"holdout": 0.1, "n_rounds": 2}, {}),
        ("holdout=0.05, 4 rounds", chosen, {"holdout": 0.05, "n_rounds": 4}, {}),
        ("scores group only", chosen, {"features": ["scores"]}, {}),
        (
            "scores group only, ranks only",
            chosen,
            {"features": ["scores"]},
            {"drop": ("_score",)},
        ),
        (
            "scores group only, ranks only, monotone",
            chosen,
            {"features": ["scores"], "ranker": _monotone_ranker(ranks)},
            {"drop": ("_score",)},
        ),
        (
            f"{best} the only generator, scores only",
            [best],
            {"features": ["scores"]},
            {},
        ),
        (
            f"{best} the only generator, scores only, ties by its score",
            [best],
            {"features": ["scores"]},
            {"tie_break": True},
        ),
        (
            f"{best} the only generator, scores only, monotone, ties by its score",
            [best],
            {
                "features": ["scores"],
                "ranker": _monotone_ranker(("g0_score", "g0_rank")),
            },
            {"tie_break": True},
        ),
        (
            "holdout=0.05, 4 rounds, with genre affinity and year gap",
            chosen,
            {"holdout": 0.05, "n_rounds": 4},
            {"taste": True},
        ),
    ]


def main(argv=None):
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml100k-ua")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train, _, user_features, item_features = two_stage.load(
        args.dataset, _common.data_home()
    )
    valid_train, valid = suite._user_split(
        train, suite.VALIDATION_SHARE, suite.VALIDATION_SEED
    )
    valid_train = valid_train.reset_index(drop=True)
    features = (user_features, item_features)
    params = two_stage.tuned_params(args.dataset)
    stored = json.loads(
        (_common.RESULTS / f"two_stage_{args.dataset}.json").read_text()
    )
    chosen = stored["generators"]
    rows = []

    def record(label, metrics):
        rows.append(
            {"variant": label, "ndcg@10": metrics["ndcg@10"], "fit_s": metrics["fit_s"]}
        )
        print(f"  {label:<72} {metrics['ndcg@10']:.4f}  fit {metrics['fit_s']:.1f} s")

    for name in chosen:
        model = two_stage.make_generator(name, params[name])
        metrics = two_stage.measure_ours(model, valid_train, valid, features, "v")
        record(f"{name} alone", metrics)
    diagnostic = _diagnostic_class()
    for label, names, parameters, hooks in variants(chosen):
        model = diagnostic(
            [two_stage.make_generator(name, params[name]) for name in names],
            n_candidates=100,
            holdout_strategy="random",
            random_state=0,
            **parameters,
        )
        model.drop = hooks.get("drop", ())
        model.tie_break = hooks.get("tie_break", False)
        model.taste = hooks.get("taste", False)
        start = time.perf_counter()
        metrics = two_stage.measure_ours(model, valid_train, valid, features, "v")
        metrics["fit_s"] = time.perf_counter() - start
        record(label, metrics)
    _common.write_result(
        f"two_stage_ablation_{args.dataset}",
        {
            "title": f"CandidateRanker ablation on {args.dataset}'s validation split",
            "dataset": args.dataset,
            "generators": chosen,
            "protocol": (
                "validation split of the training rows (a seeded 10% of each "
                "user's rows); the generators' settings chosen by "
                "baseline_selection.py; 100 candidates, random holdout, default "
                "ranker unless the variant says; fit_s includes scoring"
            ),
            "columns": ["variant", "ndcg@10", "fit_s"],
            "formats": {"ndcg@10": ".4f", "fit_s": ".1f"},
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
