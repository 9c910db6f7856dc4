"""Approximate retrieval: the top items by inner product without scoring them all.

Models whose score is an inner product of a user vector and an item vector
(:class:`~sk_recsys.models.MatrixFactorization`,
:class:`~sk_recsys.models.ImplicitALS`, :class:`~sk_recsys.models.BayesianMF`,
:class:`~sk_recsys.models.SASRec`, :class:`~sk_recsys.models.GRU4Rec`,
:class:`~sk_recsys.models.HSTU`) can
answer ``recommend(users, k, index=ItemIndex().fit(model))`` from an
inverted-file index of their item vectors instead of a matrix product with
the whole catalog. Exact scoring stays the default.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_random_state

from .data import mask_entries

__all__ = ["ItemIndex"]


def _faiss():
    try:
        import faiss
    except ImportError:
        raise ImportError(
            "ItemIndex needs faiss: pip install 'sk-recsys[ann]' (or faiss-cpu)."
        ) from None
    return faiss


def _fingerprint(vectors: np.ndarray) -> tuple:
    return (vectors.shape, float(np.asarray(vectors, dtype=np.float64).sum()))


class ItemIndex:
    """An inverted-file index for maximum-inner-product search over items.

    The item vectors ``v_i`` get one more coordinate, ``sqrt(M^2 - |v_i|^2)``
    with ``M`` the largest norm, and a query ``q`` a 0, so that the
    Euclidean distance ``|q - v_i|^2 = |q|^2 + M^2 - 2 q.v_i`` orders items
    as the inner product does (Bachrach et al. 2014). faiss's
    ``IndexIVFFlat`` clusters the vectors into ``n_lists`` lists by
    k-means; a query scans the ``n_probe`` lists closest to it, scoring
    their items exactly. Chosen by measurement (``benchmarks/ann.py``): on
    factor-like vectors this held recall@100 >= 0.95 where HNSW graphs
    (hnswlib, faiss) with inner product stalled below 0.8 on skewed item
    norms.

    A user's training items are excluded by asking the index for ``k`` plus
    that user's number of excluded items; a user with too few results left
    (or with no vector: unknown, or a history the model folds in another
    way) is scored exactly. ``candidates=`` is exact already and cannot be
    combined with an index.

    Parameters
    ----------
    n_lists : int, default=None
        Number of k-means lists; ``None``: ``4 * sqrt(n_items)``, at most
        ``n_items / 39`` (faiss trains a list on 39 points or more).
    n_probe : int, default=None
        Lists scanned per query: more is slower and closer to exact.
        ``None``: a tenth of the lists (at least 1).
    n_threads : int, default=None
        faiss's OpenMP threads; ``None`` leaves faiss's setting.
    random_state : int, RandomState instance or None, default=0
        Seeds the sample the k-means lists are trained on.

    Attributes
    ----------
    index_ : faiss.IndexIVFFlat
    n_items_, n_lists_ : int

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> from sk_recsys.models import ImplicitALS
    >>> from sk_recsys.retrieval import ItemIndex
    >>> X = make_interactions(n_users=200, n_items=400, explicit=False,
    ...                       random_state=0, return_X_y=True)[0]
    >>> model = ImplicitALS(n_factors=16, random_state=0).fit(X)
    >>> index = ItemIndex(n_probe=20).fit(model)
    >>> approximate = model.recommend([0, 1], k=5, index=index)[0]
    >>> exact = model.recommend([0, 1], k=5)[0]
    >>> approximate.shape == exact.shape
    True
    """

    def __init__(self, n_lists=None, n_probe=None, *, n_threads=None, random_state=0):
        self.n_lists = n_lists
        self.n_probe = n_probe
        self.n_threads = n_threads
        self.random_state = random_state

    def fit(self, model) -> ItemIndex:
        """Index the item vectors of a fitted model.

        Parameters
        ----------
        model : recommender
            A fitted model that scores by inner products (see above).

        Returns
        -------
        self : ItemIndex
        """
        vectors = _item_vectors(model)
        faiss = _faiss()
        for name in ("n_lists", "n_probe", "n_threads"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < 1
            ):
                raise ValueError(f"{name} must be None or an int >= 1, got {value!r}.")
        if self.n_threads is not None:
            faiss.omp_set_num_threads(int(self.n_threads))
        n_items, dim = vectors.shape
        norms = np.linalg.norm(vectors, axis=1)
        self.max_norm_ = float(norms.max()) if n_items else 0.0
        extra = np.sqrt(np.maximum(self.max_norm_**2 - norms**2, 0.0))
        points = np.ascontiguousarray(np.hstack([vectors, extra[:, None]]), np.float32)
        # faiss trains each list's centroid on 39+ points: small catalogs get
        # fewer lists than the 4 sqrt(n) rule.
        n_lists = self.n_lists or min(int(4 * np.sqrt(n_items)), n_items // 39)
        self.n_lists_ = int(max(1, min(n_lists, n_items)))
        index = faiss.IndexIVFFlat(
            faiss.IndexFlatL2(dim + 1), dim + 1, self.n_lists_, faiss.METRIC_L2
        )
        rng = check_random_state(self.random_state)
        sample = min(n_items, 40 * self.n_lists_)  # faiss's advice: 39+ per list
        index.cp.seed = int(rng.randint(2**31 - 1))
        index.train(points[rng.choice(n_items, sample, replace=False)])
        index.add(points)
        index.nprobe = int(self.n_probe or max(1, self.n_lists_ // 10))
        self.index_ = index
        self.n_items_ = n_items
        self.fingerprint_ = _fingerprint(vectors)
        return self

    def search(self, queries, k: int):
        """The ``k`` items of largest inner product with each query.

        Parameters
        ----------
        queries : array-like of shape (n_queries, n_dimensions)
        k : int

        Returns
        -------
        items : ndarray of int64, shape (n_queries, k)
            Item indices, best first; -1 where fewer were found.
        scores : ndarray of float32, shape (n_queries, k)
            Their inner products (``-inf`` for -1).
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        padded = np.hstack([queries, np.zeros((len(queries), 1), np.float32)])
        distances, items = self.index_.search(np.ascontiguousarray(padded), int(k))
        squared = (queries.astype(np.float64) ** 2).sum(1, keepdims=True)
        scores = ((squared + self.max_norm_**2 - distances) / 2).astype(np.float32)
        scores[items < 0] = -np.inf
        return items.astype(np.int64), scores

    def _top_k(self, model, codes, history, seen, k: int):
        """Top ``k`` (scores, item indices) tensors for one chunk of users.

        ``seen`` (CSR, one row per user, or None) lists the items to leave
        out. Rows the index cannot serve are scored exactly.
        """
        if _fingerprint(_item_vectors(model)) != getattr(self, "fingerprint_", None):
            raise ValueError(
                "This ItemIndex was built on other item vectors (another model, "
                "or this one before a refit); fit it again on the model."
            )
        n = len(codes)
        values = np.full((n, k), -np.inf, dtype=np.float32)
        top = np.zeros((n, k), dtype=np.int64)
        queries, served = model._query_vectors(codes, history)
        served = np.asarray(served, dtype=bool)
        n_seen = np.zeros(n, dtype=np.int64) if seen is None else np.diff(seen.indptr)
        exact = ~served
        rows = np.flatnonzero(served)
        if len(rows):
            depth = int(min(self.n_items_, k + n_seen[rows].max()))
            found, scores = self.search(queries.detach().cpu().numpy()[rows], depth)
            if seen is not None:
                keys = rows[:, None].astype(np.int64) * self.n_items_ + found
                coo = sp.coo_matrix(seen)
                seen_keys = coo.row.astype(np.int64) * self.n_items_ + coo.col
                excluded = np.isin(keys, seen_keys)
                scores[excluded] = -np.inf
            order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            best = np.take_along_axis(scores, order, 1)
            ids = np.take_along_axis(found, order, 1)
            # Too few left after the exclusions (short lists): exact instead.
            short = np.isneginf(best[:, -1]) & (self.n_items_ - n_seen[rows] >= k)
            values[rows], top[rows] = best, np.maximum(ids, 0)
            exact[rows[short]] = True
        rows = np.flatnonzero(exact)
        if len(rows):
            part = history.take(rows) if history is not None else None
            scores = model._user_scores(codes[rows], part).float().cpu()
            if seen is not None:
                mask_entries(scores, sp.csr_matrix(seen)[rows])
            best, ids = torch.topk(scores, min(k, scores.shape[1]), dim=1)
            values[rows, : best.shape[1]] = best.numpy()
            top[rows, : ids.shape[1]] = ids.numpy()
        return torch.from_numpy(values), torch.from_numpy(top)

    def __getstate__(self):
        state = self.__dict__.copy()
        if "index_" in state:
            state["index_"] = _faiss().serialize_index(state["index_"])
        return state

    def __setstate__(self, state):
        if "index_" in state:
            state["index_"] = _faiss().deserialize_index(state["index_"])
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return (
            f"ItemIndex(n_lists={self.n_lists!r}, n_probe={self.n_probe!r}, "
            f"n_threads={self.n_threads!r}, random_state={self.random_state!r})"
        )


def _item_vectors(model) -> np.ndarray:
    vectors = getattr(model, "_item_vectors", lambda: None)()
    if vectors is None:
        raise ValueError(
            f"{type(model).__name__} does not score by inner products of user "
            "and item vectors; an ItemIndex serves MatrixFactorization, "
            "ImplicitALS, BayesianMF and the sequential models (SASRec, GRU4Rec, HSTU)."
        )
    return np.asarray(vectors.detach().cpu() if torch.is_tensor(vectors) else vectors)
