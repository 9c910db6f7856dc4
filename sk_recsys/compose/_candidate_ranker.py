"""Two-stage recommendation: candidate generators and a learned ranker."""

from __future__ import annotations

import inspect
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import History, RecommenderMixin, _chunks
from ..data import interaction_matrix
from ..model_selection._split import _check_time_column, _within_user_rank
from ._base import (
    Aligned,
    EstimatorListMixin,
    check_members,
    normalized,
    row_statistics,
    seen_mask,
    side_information,
)
from ._features import (
    context_columns,
    last_per_user,
    side_table,
    tabular_column,
    time_values,
)

__all__ = ["FEATURE_GROUPS", "CandidateRanker"]

#: The feature groups a :class:`CandidateRanker` can give its ranker.
FEATURE_GROUPS = (
    "scores",
    "popularity",
    "activity",
    "recency",
    "user_features",
    "item_features",
    "context",
)


@dataclass
class _Stage:
    """What the features of one stage read: the generators and the rows they saw.

    The training stage holds the generators fitted on the earlier part of
    each user's rows and that part's statistics; the serving stage the
    generators fitted on every row and all rows' statistics.
    """

    generators: list  # of Aligned
    seen: sp.csr_matrix
    popularity: np.ndarray
    activity: np.ndarray
    # (time since each item's last row, mean time of each item's rows, mean
    # time of each user's rows), or None without a time column
    recency: tuple | None
    user_context: pd.DataFrame | None


class CandidateRanker(
    EstimatorListMixin, MetaEstimatorMixin, RecommenderMixin, BaseEstimator
):
    """Candidate generators followed by a learned scikit-learn ranker.

    The first stage asks each generator for its ``n_candidates`` best items
    per user (training items excluded) and unions the lists; the second
    stage scores every candidate with ``ranker``, a scikit-learn model that
    reads features of the (user, candidate) pair, and orders the list by
    that score. Items that are no candidate follow the candidates, in the
    first generator's order, so ``score_items`` ranks the whole catalog
    consistently with ``recommend``.

    **Training is leak-free.** ``fit`` holds out a ``holdout`` share of
    each user's rows, fits clones of the generators on the other rows,
    builds the candidates of the users with held-out rows, and trains the
    ranker to tell the held-out items (label 1) from the other candidates
    (label 0); the features describe what the generators saw, never the
    held-out rows. The generators are then refitted on every row
    (``generators_``) to serve. Rows outside ``X`` (a test fold) never
    reach the labels. ``holdout_strategy="time"`` holds out each user's
    latest rows and fits the generators on the rows before them, as a
    deployed model predicts the future; ``"random"`` holds out a seeded
    random share and fits on the rest. ``"auto"`` (the default) is
    ``"time"`` when ``X`` has the time column, else ``"random"``. **Hold
    out as you will evaluate**: a ranker trained on each user's latest rows
    learns what users pick next, which differs from a random sample of
    their items (on MovieLens, where sign-up asks for popular films first,
    the late picks are rarer films, and a time-trained ranker lost a third
    of its NDCG@10 on the random ``ua`` split). ``n_rounds > 1`` repeats the
    holdout on the next block of rows (earlier ones for ``"time"``, other
    random ones for ``"random"``: with ``holdout=0.2, n_rounds=5`` every row
    labels once), for a larger training set at ``n_rounds`` generator fits.

    **Features** (``features="auto"``: every group the data has):

    - ``scores``: each generator's score, standardised over its list for
      that user (``g0_score``: the score minus the list's mean, over the
      list's standard deviation, so it reads the same when the refit on
      every row moves the generator's scale) and its rank
      (``g0_rank``: 0 first, ``n_candidates`` when it did not propose it);
    - ``popularity``: the item's number of distinct users;
    - ``activity``: the user's number of rows (plus the ``history`` given);
    - ``recency`` (needs the time column): time since the item's last row
      (``item_age``) and the user's mean row time minus the item's
      (``user_item_time_gap``);
    - ``user_features`` / ``item_features``: the numeric, boolean and
      categorical columns of the frames passed to ``fit`` (``user_``/``item_``
      prefixes; a str column is categorical when it has at most 255
      distinct values and they repeat (fewer than half the rows); text that
      identifies rows, such as titles, and images are skipped);
    - ``context``: the other columns of ``X`` (not user, item or time), as
      the value on the user's latest row;
    - ``extra_features``: a callable ``f(users, items)`` of raw-id arrays
      (one entry per pair; ``None`` for an anonymous session) returning a
      DataFrame or 2-D array of more columns.

    Missing values (an unknown user's features, an item a generator does
    not know) are NaN and categorical columns are pandas categories: the
    default ``HistGradientBoostingClassifier`` reads both; a ranker that
    does not can be a ``Pipeline`` with an imputer and an encoder.

    It is a scikit-learn meta-estimator: ``get_params`` nests through both
    stages (``generators__0__n_neighbors``, ``ranker__max_depth``), so one
    ``GridSearchCV`` tunes them together.

    Parameters
    ----------
    generators : recommender or list of recommenders
        sk_recsys recommenders (built-in, or plugins built on
        :class:`~sk_recsys.RecommenderMixin`); cloned in ``fit``.
    ranker : estimator, default=None
        A classifier with ``predict_proba`` or ``decision_function``, or a
        learning-to-rank model with ``predict`` whose ``fit`` takes
        ``group`` (LightGBM's ``LGBMRanker``: one query per user) or ``qid``
        (XGBoost's ``XGBRanker``). ``None``: a
        ``HistGradientBoostingClassifier`` with smaller, slower trees than
        scikit-learn's defaults (``learning_rate=0.05, max_iter=300,
        max_leaf_nodes=15, min_samples_leaf=100``), which generalised better
        across users on MovieLens (``docs/compose.rst``). Pass a ranker
        explicitly to tune its parameters (``ranker__max_leaf_nodes``).
    n_candidates : int, default=100
        Items each generator proposes per user.
    features : "auto" or list of str, default="auto"
        Feature groups given to the ranker, from :data:`FEATURE_GROUPS`.
    holdout : float or int, default=0.2
        Share of each user's rows (float in (0, 1), rounded half up) or
        number of rows per user (int) held out per round to label the
        ranker's training; every user keeps at least one row for the
        generators.
    n_rounds : int, default=1
        Holdout rounds (see above). A smaller ``holdout`` over more rounds
        keeps the training stage's generators closer to the served ones
        (fitted on every row), at one generator fit per round: on
        MovieLens-100K ``holdout=0.05, n_rounds=4`` ranked better than
        ``holdout=0.2`` once (``docs/compose.rst``).
    holdout_strategy : {"auto", "time", "random"}, default="auto"
        Which rows are held out (see above).
    time_column : int, str or None, default=2
        Column of ``X`` with each row's time (numbers or datetimes): orders
        the ``"time"`` holdout and feeds the ``recency`` features. ``None``,
        or an ``X`` without that column: no time.
    extra_features : callable, default=None
        ``f(users, items) -> DataFrame or array (n_pairs, n_columns)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the random holdout and the default ranker.

    Attributes
    ----------
    generators_ : list of recommenders
        The generators fitted on every row of ``X``.
    ranker_ : estimator or None
        The fitted ranker; None (with a warning in ``fit``) when no ranker
        could be trained (no user with two rows, or candidates of one
        class only): the model then serves the first generator's ranking.
    feature_names_ : list of str
        The ranker's input columns, in order.
    n_ranker_rows_, ranker_positive_rate_ : int, float
        Size of the ranker's training set and the share of its positives.
    users_, items_, n_users_, n_items_, interactions_
        See :class:`sk_recsys.base.RecommenderMixin`.

    Examples
    --------
    >>> from sk_recsys.compose import CandidateRanker
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import EASE, ItemKNN
    >>> X = make_interactions(n_users=100, n_items=60, explicit=False,
    ...                       random_state=0, return_X_y=True)[0]
    >>> model = CandidateRanker([EASE(), ItemKNN()], n_candidates=20,
    ...                         random_state=0).fit(X)
    >>> model.recommend([0, 1], k=5)[0].shape
    (2, 5)
    >>> sorted(model.get_params())[:3]
    ['extra_features', 'features', 'generators']
    """

    _members_param = "generators"
    _family = "composite"

    _parameter_constraints = {
        "generators": "no_validation",
        "ranker": "no_validation",
        "n_candidates": [Interval(numbers.Integral, 1, None, closed="left")],
        "features": [StrOptions({"auto"}), list, tuple],
        "holdout": [
            Interval(numbers.Real, 0, 1, closed="neither"),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "n_rounds": [Interval(numbers.Integral, 1, None, closed="left")],
        "holdout_strategy": [StrOptions({"auto", "time", "random"})],
        "time_column": [numbers.Integral, str, None],
        "extra_features": [callable, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        generators,
        ranker=None,
        *,
        n_candidates=100,
        features="auto",
        holdout=0.2,
        n_rounds=1,
        holdout_strategy="auto",
        time_column=2,
        extra_features=None,
        random_state=None,
    ):
        self.generators = generators
        self.ranker = ranker
        self.n_candidates = n_candidates
        self.features = features
        self.holdout = holdout
        self.n_rounds = n_rounds
        self.holdout_strategy = holdout_strategy
        self.time_column = time_column
        self.extra_features = extra_features
        self.random_state = random_state

    # ------------------------------------------------------------------ fit

    def fit(self, X, y=None, *, item_features=None, user_features=None):
        """Learn the ranker from held-out rows, then refit the generators on all.

        Each holdout round fits clones of the generators on the rows kept
        and labels their candidates with the held-out rows; the ranker
        learns from every round's candidates; the generators are then
        refitted on every row to serve.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_interactions, >= 2)
            User ids in column 0, item ids in column 1, then the time column
            and any context.
        y : array-like of shape (n_interactions,), default=None
            Passed to the generators (every held-out row is a positive).
        item_features, user_features : DataFrame, default=None
            Passed to the generators, and the ranker's side features.

        Returns
        -------
        self : CandidateRanker
        """
        self._validate_params()
        _check_time_column(self.time_column)
        generators = check_members(self.generators, "generators", "CandidateRanker")
        groups = self._feature_groups()
        ranker = self._ranker()
        data = self._fit_interactions(
            X, y, item_features=item_features, user_features=user_features
        )
        fit_params = side_information(item_features, user_features)
        times = time_values(X, self.time_column)
        context = context_columns(X, self.time_column) if "context" in groups else {}
        self._user_table_ = (
            side_table(user_features, self.users_, "user_")
            if "user_features" in groups
            else None
        )
        self._item_table_ = (
            side_table(item_features, self.items_, "item_")
            if "item_features" in groups
            else None
        )
        self._groups_ = groups

        self.ranker_, self.feature_names_ = None, []
        self.n_ranker_rows_, self.ranker_positive_rate_ = 0, float("nan")
        frames, targets, groups_sizes = [], [], []
        rounds = self._rounds(data.users, times)
        for train, held in rounds:
            rows = np.flatnonzero(train)
            X_part = _safe_indexing(X, rows)
            y_part = None if y is None else _safe_indexing(y, rows)
            models = [clone(g).fit(X_part, y_part, **fit_params) for g in generators]
            stage = self._stage(models, data, rows, times, context)
            labels = interaction_matrix(
                data.users[held], data.items[held], None, shape=self.interactions_.shape
            )
            frame, target, group = self._training_set(stage, labels)
            frames.append(frame)
            targets.append(target)
            groups_sizes.append(group)
            del models, stage
        if frames:
            frame = pd.concat(frames, ignore_index=True)
            target = np.concatenate(targets)
            self.n_ranker_rows_ = len(frame)
            self.ranker_positive_rate_ = float(target.mean()) if len(target) else 0.0
            if len(target) and target.min() != target.max():
                self.feature_names_ = list(frame.columns)
                self.ranker_ = self._fit_ranker(
                    ranker, frame, target, np.concatenate(groups_sizes)
                )
            del frames, frame
        if self.ranker_ is None:
            warnings.warn(
                "CandidateRanker could not train its ranker: "
                + (
                    "no user has enough rows to hold some out"
                    if not rounds
                    else "its training candidates are all of one class (no "
                    "held-out item among them, or only those)"
                )
                + f"; it serves {type(generators[0]).__name__}'s ranking. Raise "
                "n_candidates or holdout, or give users more rows.",
                UserWarning,
                stacklevel=2,
            )

        self.generators_ = [clone(g).fit(X, y, **fit_params) for g in generators]
        self._stage_ = self._stage(
            self.generators_, data, np.arange(len(data.users)), times, context
        )
        return self

    def _feature_groups(self) -> tuple:
        if isinstance(self.features, str):
            return FEATURE_GROUPS
        unknown = [name for name in self.features if name not in FEATURE_GROUPS]
        if unknown:
            raise ValueError(
                f"Unknown feature group(s) {unknown}; choose from "
                f"{list(FEATURE_GROUPS)} or pass features='auto'."
            )
        return tuple(self.features)

    def _ranker(self):
        if self.ranker is None:
            from sklearn.ensemble import HistGradientBoostingClassifier

            return HistGradientBoostingClassifier(
                learning_rate=0.05,
                max_iter=300,
                max_leaf_nodes=15,
                min_samples_leaf=100,
                random_state=self.random_state,
            )
        if not any(
            callable(getattr(self.ranker, name, None))
            for name in ("predict_proba", "decision_function", "predict")
        ) or not callable(getattr(self.ranker, "fit", None)):
            raise ValueError(
                f"ranker is a {type(self.ranker).__name__}; pass a scikit-learn "
                "estimator with fit and predict_proba, decision_function or "
                "predict."
            )
        return clone(self.ranker)

    def _rounds(self, users: np.ndarray, times) -> list:
        """(training rows, held-out rows) masks of each holdout round.

        Each user's rows are ordered by time (``"time"``) or at random;
        round ``r`` holds out the ``r``-th block of ``holdout`` rows from the
        end of that order. With ``"time"`` the generators see only the rows
        before the block (the future never explains the past); with
        ``"random"`` every row outside the block (cross-fitting). A user
        takes part in a round while rows are left for the generators.
        """
        strategy = self.holdout_strategy
        if strategy == "auto":
            strategy = "random" if times is None else "time"
        if strategy == "time" and times is None:
            raise ValueError(
                "holdout_strategy='time' needs a time column in X; pass "
                "time_column (the column's position or name) or use 'random'."
            )
        if strategy == "time":
            key = times
        else:
            key = check_random_state(self.random_state).random_sample(len(users))
        rank, count = _within_user_rank(users, key)
        if isinstance(self.holdout, numbers.Integral):
            size = np.full(len(users), int(self.holdout))
        else:
            size = np.floor(self.holdout * count + 0.5).astype(np.int64)
        size = np.minimum(size, count - 1)
        rounds = []
        for r in range(self.n_rounds):
            end, start = count - r * size, count - (r + 1) * size
            held = (rank >= start) & (rank < end) & (start >= 1)
            if not held.any():
                break
            train = rank < start if strategy == "time" else ~held
            rounds.append((train, held))
        return rounds

    def _stage(self, models, data, rows, times, context) -> _Stage:
        """The generators and statistics of the rows ``rows`` of the fit data."""
        users, items = data.users[rows], data.items[rows]
        seen = interaction_matrix(users, items, None, shape=self.interactions_.shape)
        popularity = np.diff(sp.csc_matrix(seen).indptr).astype(np.float64)
        activity = np.bincount(users, minlength=self.n_users_).astype(np.float64)
        recency = None
        if times is not None and "recency" in self._groups_:
            stage_times = times[rows]
            last = np.full(self.n_items_, -np.inf)
            np.maximum.at(last, items, stage_times)
            item_age = np.where(np.isinf(last), np.nan, stage_times.max() - last)
            with np.errstate(invalid="ignore", divide="ignore"):
                item_time = np.bincount(
                    items, stage_times, minlength=self.n_items_
                ) / np.bincount(items, minlength=self.n_items_)
                user_time = np.bincount(
                    users, stage_times, minlength=self.n_users_
                ) / np.bincount(users, minlength=self.n_users_)
            recency = (item_age, item_time, user_time)
        user_context = None
        if context:
            latest = last_per_user(
                users, None if times is None else times[rows], self.n_users_
            )
            columns = {}
            for name, values in context.items():
                column = tabular_column(values[rows][np.maximum(latest, 0)])
                if column is not None:
                    column[latest < 0] = np.nan
                    columns[f"context_{name}"] = column
            user_context = pd.DataFrame(columns) if columns else None
        generators = [Aligned(m, self.users_, self.items_) for m in models]
        return _Stage(generators, seen, popularity, activity, recency, user_context)

    def _training_set(self, stage: _Stage, labels: sp.csr_matrix):
        """Candidates of the users with held-out rows, their features and labels."""
        label_users = np.flatnonzero(np.diff(labels.indptr))
        coo = labels.tocoo()
        label_keys = coo.row.astype(np.int64) * self.n_items_ + coo.col
        frames, targets, groups = [], [], []
        for chunk in _chunks(len(label_users), self.n_items_):
            codes = label_users[chunk]
            rows, cols, frame, _ = self._candidates(stage, codes, None)
            frames.append(frame)
            keys = codes[rows].astype(np.int64) * self.n_items_ + cols
            targets.append(np.isin(keys, label_keys))
            groups.append(np.bincount(rows, minlength=len(codes)))
        frame = pd.concat(frames, ignore_index=True)
        group = np.concatenate(groups)
        return frame, np.concatenate(targets).astype(np.int64), group[group > 0]

    def _fit_ranker(self, ranker, frame, target, group):
        parameters = inspect.signature(ranker.fit).parameters
        if "group" in parameters:
            return ranker.fit(frame, target, group=group)
        if "qid" in parameters:
            qid = np.repeat(np.arange(len(group)), group)
            return ranker.fit(frame, target, qid=qid)
        return ranker.fit(frame, target)

    # ------------------------------------------------------------- features

    def _candidates(self, stage: _Stage, codes: np.ndarray, history: History | None):
        """The candidate pairs of users ``codes`` and their feature frame.

        Returns the pairs' rows (positions in ``codes``) and item columns,
        the features, and the first generator's scores of every item.
        """
        n_items = self.n_items_
        depth = min(self.n_candidates, n_items)
        union = torch.zeros((len(codes), n_items), dtype=torch.bool)
        member_scores, member_ranks = [], []
        for generator in stage.generators:
            scores = generator.scores(codes, history).cpu()
            values, index = torch.topk(
                seen_mask(scores, stage.seen, codes, history), depth, dim=1
            )
            positions = torch.arange(depth, dtype=torch.int32).expand_as(index)
            rank = torch.full((len(codes), n_items), depth, dtype=torch.int32)
            rank.scatter_(
                1, index, torch.where(torch.isfinite(values), positions, depth)
            )
            union |= rank < depth
            # Each user's list statistics: a score read relative to them
            # means the same when the generator's scale moves (a longer
            # history, the refit on every row).
            mean, spread = row_statistics(values, "zscore")
            member_scores.append((scores, mean, spread))
            member_ranks.append(rank)
        rows_t, cols_t = union.nonzero(as_tuple=True)
        rows, cols = np.array(rows_t.numpy()), np.array(cols_t.numpy())
        columns = {}
        groups = self._groups_
        if "scores" in groups:
            for i, ((scores, mean, spread), rank) in enumerate(
                zip(member_scores, member_ranks, strict=True)
            ):
                values = scores[rows_t, cols_t]
                z = ((values - mean[rows_t, 0]) / spread[rows_t, 0]).double().numpy()
                z[~np.isfinite(z)] = np.nan
                columns[f"g{i}_score"] = z
                columns[f"g{i}_rank"] = rank[rows_t, cols_t].numpy().astype(np.float64)
        if "popularity" in groups:
            columns["item_popularity"] = stage.popularity[cols]
        if "activity" in groups:
            activity = np.where(codes >= 0, stage.activity[np.maximum(codes, 0)], 0.0)
            if history is not None:
                activity = activity + np.diff(history.indptr)
            columns["user_activity"] = activity[rows]
        if stage.recency is not None:
            item_age, item_time, user_time = stage.recency
            columns["item_age"] = item_age[cols]
            user_mean = np.where(codes >= 0, user_time[np.maximum(codes, 0)], np.nan)
            columns["user_item_time_gap"] = user_mean[rows] - item_time[cols]
        frame = pd.DataFrame(columns)
        user_rows = codes[rows]
        tables = [
            (stage.user_context, user_rows),
            (self._user_table_, user_rows),
            (self._item_table_, cols),
        ]
        for table, index in tables:
            if table is not None:
                frame = pd.concat(
                    [frame, _take(table, index)], axis=1, ignore_index=False
                )
        if self.extra_features is not None:
            frame = pd.concat([frame, self._extra(user_rows, cols)], axis=1)
        return rows, cols, frame, member_scores[0][0]

    def _extra(self, user_codes, item_codes) -> pd.DataFrame:
        # Unknown users (served from a history) have no id: None.
        raw_users = np.asarray(self.users_, dtype=object)[np.maximum(user_codes, 0)]
        raw_users[user_codes < 0] = None
        extra = self.extra_features(raw_users, np.asarray(self.items_)[item_codes])
        if not isinstance(extra, pd.DataFrame):
            extra = np.asarray(extra, dtype=np.float64)
            extra = extra.reshape(len(item_codes), -1)
            extra = pd.DataFrame(
                extra, columns=[f"extra_{j}" for j in range(extra.shape[1])]
            )
        if len(extra) != len(item_codes):
            raise ValueError(
                f"extra_features returned {len(extra)} rows for {len(item_codes)} "
                "(user, item) pairs; return one row per pair."
            )
        return extra.reset_index(drop=True)

    def _rank_scores(self, frame: pd.DataFrame) -> np.ndarray:
        ranker = self.ranker_
        if hasattr(ranker, "predict_proba"):
            return ranker.predict_proba(frame)[:, -1]
        if hasattr(ranker, "decision_function"):
            return np.asarray(ranker.decision_function(frame)).ravel()
        return np.asarray(ranker.predict(frame)).ravel()

    # -------------------------------------------------------------- scoring

    def _user_scores(self, codes, history=None):
        """Candidates scored by the ranker, above the rest in the first
        generator's order (each row: candidates >= m, others in [m-2, m-1])."""
        if self.ranker_ is None:
            return self._stage_.generators[0].scores(codes, history).float()
        rows, cols, frame, first = self._candidates(self._stage_, codes, history)
        ranked = np.zeros(0)
        if len(rows):
            frame = frame[self.feature_names_]
            ranked = self._rank_scores(frame).astype(np.float64)
        floor = np.zeros(len(codes))
        if len(rows):
            floor[:] = np.inf
            np.minimum.at(floor, rows, ranked)
            floor[np.isinf(floor)] = 0.0
        share = normalized(first, first, "minmax").double()
        out = share + torch.from_numpy(floor - 2.0)[:, None]
        out[torch.from_numpy(rows), torch.from_numpy(cols)] = torch.from_numpy(ranked)
        return out.float()

    def _score_users(self, users):
        return self._user_scores(users)

    def _score_history(self, rows):  # history goes to the generators instead
        return None


def _take(table: pd.DataFrame, index: np.ndarray) -> pd.DataFrame:
    """Rows ``index`` of a per-id table; -1 (unknown id) gives missing values."""
    taken = table.iloc[np.maximum(index, 0)].reset_index(drop=True)
    unknown = index < 0
    if unknown.any():
        taken = taken.copy()
        taken.loc[unknown, :] = np.nan
    return taken
