"""Loader for the HetRec 2011 Last.fm-2K files kept in a user-supplied folder.

The dataset is for non-commercial use: sk_recsys never ships, downloads or
caches it, :func:`load_lastfm` only reads the unmodified files.
"""

from __future__ import annotations

import csv
import os

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from ._movielens import _require, _resolve_folder, _Variant

__all__ = ["load_lastfm"]

_URL = "https://grouplens.org/datasets/hetrec-2011/"
_SPEC = _Variant(
    name="Last.fm 2K (HetRec 2011)",
    folder="hetrec2011-lastfm-2k",
    ratings="user_artists.dat",
    source=f"download hetrec2011-lastfm-2k.zip from {_URL} and unzip it into {{home}}",
)


def _read_table(path, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, **kwargs)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(
            f"Could not parse {path} as a HetRec Last.fm file ({exc}); the file "
            f"looks modified or truncated, so replace it with the original from "
            f"{_URL}."
        ) from exc


@validate_params(
    {"data_home": [str, os.PathLike, None], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_lastfm(*, data_home=None, return_X_y=False):
    """Load the Last.fm-2K listening counts (HetRec 2011) as implicit feedback.

    1,892 users, 17,632 artists and 92,834 (user, artist, play count) rows,
    read from ``hetrec2011-lastfm-2k/`` under ``data_home``. The data is for
    non-commercial use; nothing is downloaded, copied or cached.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``hetrec2011-lastfm-2k/`` (or that folder itself).
        Default: ``$SK_RECSYS_DATA``, then ``~/sk_recsys_data``.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``X`` (DataFrame ``user_id``, ``item_id``: the artist id), ``y``
        (ndarray of float play counts, an implicit weight), ``item_features``
        (DataFrame indexed by artist id with the ``name`` text column, when
        ``artists.dat`` is present), ``friends`` (DataFrame ``user_id``,
        ``friend_id`` of directed friendships, when ``user_friends.dat`` is
        present) and ``DESCR``.
    (X, y) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    FileNotFoundError
        If ``user_artists.dat`` is not in the folder; the message says where
        to put it.

    Examples
    --------
    >>> from sk_recsys.datasets import load_lastfm
    >>> data = load_lastfm()  # doctest: +SKIP
    >>> data.X.shape  # doctest: +SKIP
    (92834, 2)
    """
    folder, home = _resolve_folder(data_home, _SPEC)
    path = _require(folder / _SPEC.ratings, _SPEC, home)
    plays = _read_table(path, dtype={"userID": np.int64, "artistID": np.int64})
    X = pd.DataFrame(
        {"user_id": plays["userID"].to_numpy(), "item_id": plays["artistID"].to_numpy()}
    )
    y = plays["weight"].to_numpy(np.float64)
    if return_X_y:
        return X, y
    item_features = friends = None
    artists = folder / "artists.dat"
    if artists.is_file():
        table = _read_table(artists, usecols=["id", "name"], encoding="utf-8")
        item_features = pd.DataFrame(
            {"name": table["name"].astype(str).to_numpy()},
            index=pd.Index(table["id"].to_numpy(), name="item_id"),
        )
    friendships = folder / "user_friends.dat"
    if friendships.is_file():
        table = _read_table(friendships)
        friends = pd.DataFrame(
            {
                "user_id": table["userID"].to_numpy(),
                "friend_id": table["friendID"].to_numpy(),
            }
        )
    descr = (
        f"{_SPEC.name}, from {folder}\n\n{len(X):,} (user, artist, play count) rows "
        f"from {X['user_id'].nunique():,} users on {X['item_id'].nunique():,} "
        "artists. Built from Last.fm by the Information Retrieval group of "
        "Universidad Autonoma de Madrid for the HetRec 2011 workshop; "
        "non-commercial use only, do not redistribute."
    )
    return Bunch(X=X, y=y, item_features=item_features, friends=friends, DESCR=descr)
