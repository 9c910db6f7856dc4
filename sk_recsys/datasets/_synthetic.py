"""Synthetic interactions with planted structure: the embedded default data."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_interactions"]

_THEMES = [
    ["space", "star", "orbit", "alien", "rocket", "galaxy", "planet", "comet"],
    ["love", "heart", "kiss", "wedding", "romance", "letter", "spring", "dance"],
    ["war", "soldier", "battle", "tank", "front", "general", "siege", "medal"],
    ["laugh", "joke", "party", "prank", "clown", "silly", "holiday", "road"],
    ["crime", "detective", "heist", "murder", "gang", "police", "secret", "case"],
    ["horror", "ghost", "night", "blood", "haunted", "curse", "scream", "dark"],
    ["family", "kids", "puppy", "home", "magic", "school", "friend", "toy"],
    ["music", "band", "song", "guitar", "stage", "rhythm", "singer", "tour"],
    ["sport", "team", "match", "goal", "coach", "champion", "race", "ball"],
    ["history", "king", "empire", "queen", "ancient", "castle", "sword", "crown"],
    ["ocean", "ship", "island", "storm", "pirate", "whale", "coast", "sail"],
    ["robot", "future", "machine", "cyber", "code", "android", "neon", "grid"],
]
_FILLER = ["the", "of", "a", "and", "return", "last", "great", "little", "new", "story"]
_EPOCH = 1_577_836_800  # 2020-01-01, so timestamps look like unix seconds


def _vocabulary(n_categories: int) -> list[list[str]]:
    if n_categories <= len(_THEMES):
        return _THEMES[:n_categories]
    return [[f"topic{c}word{w}" for w in range(8)] for c in range(n_categories)]


def _titles(categories, vocabulary, rng) -> list[str]:
    """Titles of 3-6 words, mostly from the item's category vocabulary."""
    n_items = len(categories)
    lengths = rng.randint(3, 7, size=n_items)
    words = np.empty((n_items, 6), dtype=object)
    themed = rng.rand(n_items, 6) < 0.75
    theme_words = np.array(vocabulary, dtype=object)
    words[:] = theme_words[categories[:, None], rng.randint(0, 8, size=(n_items, 6))]
    filler = np.array(_FILLER, dtype=object)[rng.randint(0, len(_FILLER), (n_items, 6))]
    words[~themed] = filler[~themed]
    return [" ".join(row[:n]) for row, n in zip(words.tolist(), lengths, strict=True)]


def _images(levels, size, rng) -> np.ndarray:
    """(n_items, 3, size, size) images: channel c's brightness is ``levels[:, c]``.

    Each image is a stripe pattern of random angle and phase (a nuisance the
    encoder must see through) plus pixel noise, shifted per channel by the
    item's level, so only the colour (mean brightness per channel) is
    informative.
    """
    n_items = len(levels)
    grid = np.linspace(0.0, 2.0 * np.pi, size)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    angle = rng.uniform(0.0, np.pi, n_items)[:, None, None]
    phase = rng.uniform(0.0, 2.0 * np.pi, n_items)[:, None, None]
    pattern = np.sin(2.0 * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
    images = 0.5 * pattern[:, None] + 0.3 * rng.randn(n_items, 3, size, size)
    images += levels[:, :, None, None]
    return images.astype(np.float32)


@validate_params(
    {
        "n_users": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_items": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_categories": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "interactions_per_user": [Interval(numbers.Real, 1, None, closed="left")],
        "explicit": ["boolean"],
        "popularity_skew": [Interval(numbers.Real, 0, None, closed="left")],
        "signal": [Interval(numbers.Real, 0, None, closed="left")],
        "string_ids": ["boolean"],
        "image_size": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_interactions(
    n_users=1000,
    n_items=500,
    *,
    n_categories=8,
    n_factors=8,
    interactions_per_user=30,
    explicit=True,
    popularity_skew=1.0,
    signal=3.0,
    string_ids=False,
    image_size=8,
    random_state=None,
    return_X_y=False,
):
    """Generate user-item interactions with planted taste, popularity and features.

    Each item belongs to one of ``n_categories`` categories and has latent
    factors near its category's centre; each user's factors mix one or two
    categories. A user picks ``~interactions_per_user`` items without
    replacement with probability ``softmax(signal * <u, v> / sqrt(n_factors)
    + popularity bias)`` (the bias follows a Zipf law of strength
    ``popularity_skew``), so personalised models beat popularity and
    popularity beats random. Explicit ratings (1-5) grow with the affinity.
    Item features are tied to the same structure, each modality to a
    different part of it, as in a real catalogue: the text title, drawn
    mostly from the category's vocabulary, tells the category; the numeric
    columns are noisy copies of latent factors 0-2; the small image's colour
    (its mean brightness per channel) is a noisy copy of factors 3-5 (indices
    taken modulo ``n_factors``), under a stripe texture of random angle. So
    each modality alone identifies an item's taste only in part, and together
    they identify it best. The features are drawn after the interactions,
    which do not depend on them.

    Parameters
    ----------
    n_users, n_items : int, default=1000, 500
        Numbers of users and items (items nobody picked stay in
        ``item_features``, i.e. in the catalog).
    n_categories : int, default=8
        Number of item categories.
    n_factors : int, default=8
        Dimension of the latent taste space.
    interactions_per_user : float, default=30
        Mean number of interactions per user (at least 3 each, at most half
        the catalog).
    explicit : bool, default=True
        Return ratings in ``y``; ``False`` returns ``y=None`` (implicit).
    popularity_skew : float, default=1.0
        Exponent of the Zipf popularity bias; 0 removes it.
    signal : float, default=3.0
        Weight of taste against randomness in the choice of items.
    string_ids : bool, default=False
        Use ids like ``"u0001"`` / ``"i0001"`` instead of ints.
    image_size : int, default=8
        Height and width of the item images.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``X`` (DataFrame ``user_id``, ``item_id``, ``timestamp`` in time
        order), ``y`` (ndarray of float ratings, or None), ``item_features``
        (DataFrame indexed by item id: ``title`` str, ``numeric_0..2`` float,
        ``image`` float32 arrays (3, image_size, image_size)), ``user_features``
        (DataFrame indexed by user id: ``numeric_0..2`` noisy copies of the
        user's first latent factors, ``segment`` a categorical that is the
        user's favourite category 70% of the time), ``user_factors``,
        ``item_factors``, ``item_categories`` (the planted truth) and
        ``DESCR``.
    (X, y) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> from sk_recsys.datasets import make_interactions
    >>> data = make_interactions(n_users=50, n_items=40, random_state=0)
    >>> data.X.columns.tolist()
    ['user_id', 'item_id', 'timestamp']
    >>> sorted(set(data.y)) == [1.0, 2.0, 3.0, 4.0, 5.0]
    True
    >>> data.item_features.columns.tolist()
    ['title', 'numeric_0', 'numeric_1', 'numeric_2', 'image']
    """
    rng = check_random_state(random_state)
    centres = rng.randn(n_categories, n_factors)
    categories = rng.randint(0, n_categories, size=n_items)
    item_factors = centres[categories] + 0.5 * rng.randn(n_items, n_factors)
    favourite = rng.randint(0, n_categories, size=(n_users, 2))
    mix = rng.rand(n_users, 1) * (rng.rand(n_users, 1) < 0.5)
    user_factors = (1 - mix) * centres[favourite[:, 0]] + mix * centres[favourite[:, 1]]
    user_factors += 0.5 * rng.randn(n_users, n_factors)
    popularity_rank = rng.permutation(n_items) + 1
    bias = -popularity_skew * np.log(popularity_rank)

    counts = 3 + rng.poisson(
        max(interactions_per_user - 3, 0) * rng.gamma(2.0, 0.5, n_users)
    )
    counts = np.minimum(counts, max(1, n_items // 2))
    users = np.repeat(np.arange(n_users), counts)
    items = np.empty(len(users), dtype=np.int64)
    affinity = np.empty(len(users))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    step = max(1, (1 << 22) // n_items)
    for start in range(0, n_users, step):
        stop = min(start + step, n_users)
        taste = user_factors[start:stop] @ item_factors.T / np.sqrt(n_factors)
        keys = signal * taste + bias + rng.gumbel(size=taste.shape)
        depth = int(counts[start:stop].max())
        top = np.argpartition(-keys, depth - 1, axis=1)[:, :depth]
        top = np.take_along_axis(
            top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1), 1
        )
        picked = np.arange(depth)[None, :] < counts[start:stop, None]
        rows = slice(offsets[start], offsets[stop])
        items[rows] = top[picked]
        affinity[rows] = taste[users[rows] - start, items[rows]]

    gaps = rng.exponential(3600.0 * 24, size=len(users))
    starts = rng.uniform(0, 3600.0 * 24 * 365, size=n_users)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    elapsed = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first] - gaps[first], counts)
    timestamps = (_EPOCH + starts[users] + elapsed).astype(np.int64)

    y = None
    if explicit:
        z = (affinity - affinity.mean()) / (affinity.std() + 1e-12)
        y = np.clip(np.round(3.6 + 1.1 * z + 0.6 * rng.randn(len(z))), 1, 5)

    user_ids = np.arange(n_users)
    item_ids = np.arange(n_items)
    if string_ids:
        width = len(str(max(n_users, n_items)))
        user_ids = np.array([f"u{i:0{width}d}" for i in user_ids], dtype=object)
        item_ids = np.array([f"i{i:0{width}d}" for i in item_ids], dtype=object)

    time_order = np.argsort(timestamps, kind="stable")
    X = pd.DataFrame(
        {
            "user_id": user_ids[users][time_order],
            "item_id": item_ids[items][time_order],
            "timestamp": timestamps[time_order],
        }
    )
    if y is not None:
        y = y[time_order]
    if return_X_y:
        return X, y

    user_numeric = user_factors[:, :3] + 0.5 * rng.randn(n_users, 3)
    segment = np.where(
        rng.rand(n_users) < 0.7, favourite[:, 0], rng.randint(0, n_categories, n_users)
    )
    user_features = pd.DataFrame(
        {
            **{f"numeric_{j}": user_numeric[:, j] for j in range(3)},
            "segment": pd.Categorical(segment, categories=range(n_categories)),
        },
        index=pd.Index(user_ids, name="user_id"),
    )
    # Each modality sees a different part of the item's latent taste: the
    # title its category, the numeric columns factors 0-2, the image's colour
    # factors 3-5 (indices modulo n_factors), each with noise.
    numeric = item_factors[:, :3] + 0.5 * rng.randn(n_items, 3)
    colour = item_factors[:, np.arange(3, 6) % n_factors]
    images = _images(colour + 0.5 * rng.randn(n_items, 3), image_size, rng)
    item_features = pd.DataFrame(
        {
            "title": _titles(categories, _vocabulary(n_categories), rng),
            **{f"numeric_{j}": numeric[:, j] for j in range(3)},
            "image": list(images),
        },
        index=pd.Index(item_ids, name="item_id"),
    )
    descr = (
        f"Synthetic interactions: {n_users} users, {n_items} items, {len(X)} "
        f"interactions ({'ratings 1-5' if explicit else 'implicit'}), "
        f"{n_categories} planted categories, Zipf popularity skew "
        f"{popularity_skew}, taste signal {signal}."
    )
    return Bunch(
        X=X,
        y=y,
        item_features=item_features,
        user_features=user_features,
        user_factors=user_factors,
        item_factors=item_factors,
        item_categories=categories,
        DESCR=descr,
    )
