"""Loader for the GroupLens MovieLens files kept in a user-supplied folder.

MovieLens may not be redistributed, so sk_recsys never ships, downloads or
caches it: :func:`load_movielens` only reads the unmodified GroupLens files
from ``data_home``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

__all__ = ["load_movielens"]

_URL = "https://grouplens.org/datasets/movielens/"
_CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: "
    "History and Context. ACM Transactions on Interactive Intelligent Systems "
    "(TiiS) 5, 4, Article 19 (December 2015), 19 pages. DOI: 10.1145/2827872"
)
_LICENCE = (
    "The GroupLens usage licence allows research use only: the files may not "
    "be redistributed (never commit, package or publish them) nor used "
    "commercially without permission from GroupLens."
)
_RATING_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]
# Listed in the ML-1M README; movies.dat flags them as "A|B|C".
_ML1M_GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
# users.dat stores the occupation as a code: position in this list (ML-1M README).
_ML1M_OCCUPATIONS = [
    "other",
    "academic/educator",
    "artist",
    "clerical/admin",
    "college/grad student",
    "customer service",
    "doctor/health care",
    "executive/managerial",
    "farmer",
    "homemaker",
    "K-12 student",
    "lawyer",
    "programmer",
    "retired",
    "sales/marketing",
    "scientist",
    "self-employed",
    "technician/engineer",
    "tradesman/craftsman",
    "unemployed",
    "writer",
]


@dataclass(frozen=True)
class _Variant:
    name: str
    folder: str
    ratings: str
    source: str
    splits: tuple[str, ...] = ()
    note: str = ""


_VARIANTS = {
    "100k": _Variant(
        name="MovieLens 100K",
        folder="ml-100k",
        ratings="u.data",
        source=f"download ml-100k.zip from {_URL} and unzip it into {{home}}",
        splits=("u1", "u2", "u3", "u4", "u5", "ua", "ub"),
    ),
    "1m": _Variant(
        name="MovieLens 1M",
        folder="ml-1m",
        ratings="ratings.dat",
        source=f"download ml-1m.zip from {_URL} and unzip it into {{home}}",
    ),
    "1m-users1-2999": _Variant(
        name="MovieLens 1M, users 1-2999 only",
        folder="ml-1m-users1-2999",
        ratings="ratings.dat.gz",
        source=(
            "put there a gzip of the lines of users 1-2999 of ratings.dat from "
            f"ml-1m.zip at {_URL}"
        ),
        note=(
            "This is a partial ML-1M (all ratings of users 1-2999) meant for "
            "smoke tests; do not report numbers on it as ML-1M."
        ),
    ),
}


def _resolve_folder(data_home, variant: _Variant) -> tuple[Path, Path]:
    """Return ``(dataset folder, data home)``; accepts the dataset folder itself."""
    if data_home is None:
        data_home = os.environ.get("SK_RECSYS_DATA") or "~/sk_recsys_data"
    home = Path(data_home).expanduser()
    nested = home / variant.folder
    if nested.is_dir():
        return nested, home
    if home.name == variant.folder or (home / variant.ratings).is_file():
        return home, home.parent
    return nested, home


def _require(path: Path, variant: _Variant, home: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"{variant.name} file {path.name!r} was not found in {path.parent}; "
            f"{variant.source.format(home=home)} (or pass data_home= / set "
            f"SK_RECSYS_DATA to the folder holding {variant.folder}/), as the "
            "files may not be redistributed and sk_recsys does not ship them."
        )
    return path


def _read(path: Path, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` with field quoting off and a clear error on bad files."""
    try:
        return pd.read_csv(path, header=None, quoting=csv.QUOTE_NONE, **kwargs)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(
            f"Could not parse {path} as a MovieLens file ({exc}); the file looks "
            "modified or truncated, so replace it with the original from "
            f"{_URL}."
        ) from exc


def _read_ratings(path: Path) -> pd.DataFrame:
    dtype = dict.fromkeys(_RATING_COLUMNS, np.int64)
    if ".dat" not in path.suffixes:
        return _read(path, sep="\t", names=_RATING_COLUMNS, dtype=dtype)
    # "::" files: the C parser splits on ":" and the empty fields in between are
    # skipped; ratings hold only integers, so no field contains a ":".
    frame = _read(path, sep=":", usecols=[0, 2, 4, 6], dtype=np.int64)
    frame.columns = _RATING_COLUMNS
    return frame


def _ratings_xy(ratings: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    X = ratings[["user_id", "item_id", "timestamp"]].reset_index(drop=True)
    return X, ratings["rating"].to_numpy(dtype=np.float64)


def _title_year(titles: pd.Series) -> pd.Series:
    return titles.str.extract(r"\((\d{4})\)\s*$")[0].astype(np.float64)


def _items_100k(folder: Path) -> pd.DataFrame:
    genres = _read(folder / "u.genre", sep="|", names=["genre", "code"])
    genres = genres.sort_values("code")["genre"].astype(str).tolist()
    text = ["title", "release_date", "video_release_date", "imdb_url"]
    items = _read(
        folder / "u.item",
        sep="|",
        names=["item_id", *text, *genres],
        dtype={"item_id": np.int64, **dict.fromkeys(text, str)},
        encoding="latin-1",
        keep_default_na=False,
    )
    # The "(1995)" of the title is the film's year; the release date is often
    # a later US or video release, so it only fills titles without a year.
    release_year = items["release_date"].str.extract(r"(\d{4})\s*$")[0]
    year = _title_year(items["title"]).fillna(release_year.astype(np.float64))
    features = pd.concat(
        [items["title"], year.rename("year"), items[genres].astype(np.int64)], axis=1
    )
    return features.set_axis(pd.Index(items["item_id"], name="item_id"))


def _users_100k(folder: Path) -> pd.DataFrame:
    users = _read(
        folder / "u.user",
        sep="|",
        names=["user_id", "age", "gender", "occupation", "zip"],
        dtype={"user_id": np.int64, "age": np.int64, "zip": str},
        keep_default_na=False,
    )
    users = users.astype({"gender": "category", "occupation": "category"})
    return users.set_index("user_id")


def _items_1m(path: Path) -> pd.DataFrame:
    # Titles contain ":" (e.g. "Star Wars: Episode IV"), so split on the first and
    # last "::" only; "\n" alone ends a line, as "\x85" is a latin-1 character.
    lines = pd.Series(path.read_text(encoding="latin-1").split("\n"))
    lines = lines[lines.str.strip() != ""].str.rstrip("\r")
    parts = lines.str.extract(r"^(\d+)::(.*)::([^:]*)$")
    if parts.isna().any(axis=None):
        bad = lines[parts.isna().any(axis=1)].iloc[0]
        raise ValueError(
            f"Could not parse the line {bad!r} of {path} as MovieID::Title::Genres; "
            f"the file looks modified, so replace it with the original from {_URL}."
        )
    index = pd.Index(parts[0].astype(np.int64).to_numpy(), name="item_id")
    titles = parts[1].astype(str).set_axis(index)
    flags = parts[2].str.get_dummies(sep="|").set_axis(index)
    flags = flags.reindex(columns=_ML1M_GENRES, fill_value=0).astype(np.int64)
    features = pd.DataFrame({"title": titles, "year": _title_year(titles)})
    return pd.concat([features, flags], axis=1)


def _users_1m(path: Path) -> pd.DataFrame:
    users = _read(
        path, sep=":", usecols=[0, 2, 4, 6, 8], dtype=str, keep_default_na=False
    )
    users.columns = ["user_id", "gender", "age", "occupation", "zip"]
    occupation = pd.Categorical.from_codes(
        users["occupation"].astype(np.int64), categories=_ML1M_OCCUPATIONS
    )
    return pd.DataFrame(
        {
            "age": users["age"].astype(np.int64).to_numpy(),
            "gender": pd.Categorical(users["gender"]),
            "occupation": occupation,
            "zip": users["zip"].to_numpy(),
        },
        index=pd.Index(users["user_id"].astype(np.int64).to_numpy(), name="user_id"),
    )


def _describe(variant, folder, split, ratings, n_train, item_features, user_features):
    counts = (
        f"{len(ratings):,} ratings (1-5 stars) by {ratings['user_id'].nunique():,} "
        f"users on {ratings['item_id'].nunique():,} movies"
    )
    split_text = (
        f" Official split {split!r}: {n_train:,} training and "
        f"{len(ratings) - n_train:,} test ratings."
        if split is not None
        else ""
    )
    meta = []
    if item_features is not None:
        meta.append(f"item_features ({len(item_features):,} movies)")
    if user_features is not None:
        meta.append(f"user_features ({len(user_features):,} users)")
    meta_text = f" With {' and '.join(meta)}." if meta else ""
    note = f"\n\n{variant.note}" if variant.note else ""
    return (
        f"{variant.name} (GroupLens Research, University of Minnesota)\n\n"
        f"{counts}, read from {folder}.{split_text}{meta_text}{note}\n\n"
        f"Citation: {_CITATION}\n\n"
        f"Licence: {_LICENCE} See {_URL}"
    )


@validate_params(
    {
        "variant": [str],
        "split": [str, None],
        "data_home": [str, os.PathLike, None],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_movielens(variant="100k", *, split=None, data_home=None, return_X_y=False):
    """Load MovieLens ratings and movie/user features from the GroupLens files.

    The unmodified files of a GroupLens download are read from ``data_home``;
    nothing is downloaded, copied or cached. MovieLens may be used for research
    only and may not be redistributed, so keep the files out of repositories
    and packages.

    Parameters
    ----------
    variant : {"100k", "1m", "1m-users1-2999"}, default="100k"
        Which dataset to read:

        - ``"100k"``: folder ``ml-100k/`` (``u.data``, ``u.item``, ``u.user``,
          ``u.genre`` and the official split files).
        - ``"1m"``: folder ``ml-1m/`` (``ratings.dat``, ``movies.dat``,
          ``users.dat``).
        - ``"1m-users1-2999"``: folder ``ml-1m-users1-2999/`` holding only
          ``ratings.dat.gz`` (the ML-1M ratings of users 1-2999, for smoke
          tests); its features come from a sibling ``ml-1m/`` folder and are
          None where that folder lacks ``movies.dat`` / ``users.dat``.
    split : str, default=None
        Official train/test split of ML-100K: ``"u1"`` .. ``"u5"`` (5 folds
        with disjoint 20,000-rating test sets) or ``"ua"`` / ``"ub"`` (10 test
        ratings per user), read from ``<split>.base`` / ``<split>.test``. None
        returns all ratings. Other variants have no official split.
    data_home : str or path-like, default=None
        Folder holding the dataset folders (``ml-100k/``, ...), or the dataset
        folder itself. None means ``$SK_RECSYS_DATA``, then
        ``~/sk_recsys_data``.
    return_X_y : bool, default=False
        Return only the ratings, ``(X, y)`` or with ``split`` ``(X_train,
        X_test, y_train, y_test)`` (the order of sklearn's
        ``train_test_split``); the feature files are then not read.

    Returns
    -------
    data : Bunch
        Dictionary-like object with:

        - ``X`` : DataFrame with int64 columns ``user_id``, ``item_id``,
          ``timestamp`` (unix seconds), one row per rating in file order.
        - ``y`` : ndarray of float64, the ratings (1-5 stars).
        - ``X_train``, ``y_train``, ``X_test``, ``y_test`` : instead of ``X``
          and ``y`` when ``split`` is given.
        - ``item_features`` : DataFrame indexed by ``item_id``: ``title``
          (str, as in the file, year included), ``year`` (float, the year in
          the title, else in ML-100K the year of the release date; NaN when
          unknown) and one int 0/1 column per genre (19 in ML-100K, in
          ``u.genre`` order, ``unknown`` first; 18 in ML-1M). Every movie of
          the metadata file, rated or not.
        - ``user_features`` : DataFrame indexed by ``user_id``: ``age`` (int;
          in ML-1M the code of the age bracket, e.g. 25 for 25-34),
          ``gender`` (category), ``occupation`` (category of names) and
          ``zip`` (str).
        - ``DESCR`` : str, description, citation and licence.
    (X, y) or (X_train, X_test, y_train, y_test) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    ValueError
        If ``variant`` or ``split`` is unknown, or a file cannot be parsed.
    FileNotFoundError
        If a needed file is missing; the message says which file, where it
        was looked for and where to get it.

    Examples
    --------
    >>> from sk_recsys.datasets import load_movielens
    >>> data = load_movielens("100k")  # doctest: +SKIP
    >>> data.X.shape, data.y.mean().round(2)  # doctest: +SKIP
    ((100000, 3), np.float64(3.53))
    >>> data.item_features.loc[1, "title"]  # doctest: +SKIP
    'Toy Story (1995)'
    >>> X_train, X_test, y_train, y_test = load_movielens(
    ...     split="ua", return_X_y=True
    ... )  # doctest: +SKIP
    >>> len(X_train), len(X_test)  # doctest: +SKIP
    (90570, 9430)
    """
    if variant not in _VARIANTS:
        raise ValueError(
            f"Unknown MovieLens variant {variant!r}; use one of "
            f"{', '.join(map(repr, _VARIANTS))}."
        )
    spec = _VARIANTS[variant]
    if split is not None and split not in spec.splits:
        if spec.splits:
            raise ValueError(
                f"Unknown split {split!r} for MovieLens {variant!r}; use one of "
                f"{', '.join(map(repr, spec.splits))}, or split=None for all "
                "ratings."
            )
        raise ValueError(
            f"MovieLens {variant!r} has no official split (got split={split!r}); "
            "use split=None and split the ratings with sk_recsys.model_selection."
        )

    folder, home = _resolve_folder(data_home, spec)
    if split is None:
        rating_files = [folder / spec.ratings]
    else:
        rating_files = [folder / f"{split}.base", folder / f"{split}.test"]
    for path in rating_files:
        _require(path, spec, home)

    item_features = user_features = None
    if not return_X_y:
        if variant == "100k":
            for name in ("u.item", "u.genre", "u.user"):
                _require(folder / name, spec, home)
            item_features, user_features = _items_100k(folder), _users_100k(folder)
        else:
            meta = folder if variant == "1m" else folder.parent / "ml-1m"
            movies, users = meta / "movies.dat", meta / "users.dat"
            if variant == "1m":
                _require(movies, spec, home)
                _require(users, spec, home)
            item_features = _items_1m(movies) if movies.is_file() else None
            user_features = _users_1m(users) if users.is_file() else None

    ratings = [_read_ratings(path) for path in rating_files]
    if split is None:
        X, y = _ratings_xy(ratings[0])
        if return_X_y:
            return X, y
        result = Bunch(X=X, y=y)
    else:
        (X_train, y_train), (X_test, y_test) = map(_ratings_xy, ratings)
        if return_X_y:
            return X_train, X_test, y_train, y_test
        result = Bunch(X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)

    result.item_features = item_features
    result.user_features = user_features
    result.DESCR = _describe(
        spec,
        folder,
        split,
        pd.concat(ratings, ignore_index=True),
        len(ratings[0]),
        item_features,
        user_features,
    )
    return result
