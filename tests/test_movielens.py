"""Tests of load_movielens.

The parser is tested on tiny fake folders written in the GroupLens formats, so
it runs everywhere. The real MovieLens files may not be redistributed: the
tests marked ``movielens`` read them from ``$SK_RECSYS_DATA`` and are skipped
when they are absent.
"""

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sk_recsys.datasets import load_movielens

DATA = os.environ.get("SK_RECSYS_DATA")


def _real(*files):
    """Skip marker unless every file exists under $SK_RECSYS_DATA."""
    present = DATA is not None and all((Path(DATA) / f).is_file() for f in files)
    return pytest.mark.skipif(
        not present, reason=f"needs {', '.join(files)} under $SK_RECSYS_DATA"
    )


needs_100k = _real("ml-100k/u.data", "ml-100k/u.item", "ml-100k/u.user")
needs_subset = _real(
    "ml-1m-users1-2999/ratings.dat.gz", "ml-1m/movies.dat", "ml-1m/users.dat"
)
GENRES_100K = [
    "unknown",
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


# --- tiny fake folders in the GroupLens formats --------------------------------


def _flags(*on):
    return "|".join("1" if g in on else "0" for g in GENRES_100K)


def _write_fake_100k(root):
    folder = root / "ml-100k"
    folder.mkdir(parents=True)
    (folder / "u.data").write_text(
        "3\t20\t4\t881250949\n1\t10\t5\t874965758\n2\t10\t1\t876893171\n"
        "1\t30\t3\t878542960\n"
    )
    (folder / "ua.base").write_text("1\t10\t5\t874965758\n2\t10\t1\t876893171\n")
    (folder / "ua.test").write_text("3\t20\t4\t881250949\n1\t30\t3\t878542960\n")
    toy, les, dune = (
        _flags("Animation", "Children's", "Comedy"),
        _flags("Drama", "War"),
        _flags("Sci-Fi"),
    )
    items = [
        f"10|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/Toy|{toy}",
        f"20|Misérables, Les (1995)|01-Jan-1995||http://us.imdb.com/M/Mis|{les}",
        f'30|"Dune": the remake (1984)||||{dune}',
        f"40|unknown||||{_flags('unknown')}",
    ]
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    genres = "".join(f"{g}|{i}\n" for i, g in enumerate(GENRES_100K)) + "\n"
    (folder / "u.genre").write_text(genres)
    (folder / "u.user").write_text(
        "1|24|M|technician|85711\n2|53|F|other|02139\n3|23|M|writer|T8H1N\n"
    )
    return folder


def _write_fake_1m(root, *, full=True, subset=True, meta=True):
    ratings = "1::1193::5::978300760\n1::661::3::978302109\n2::1::4::978298413\n"
    ml1m = root / "ml-1m"
    ml1m.mkdir()
    if full:
        (ml1m / "ratings.dat").write_text(ratings)
    if subset:
        (root / "ml-1m-users1-2999").mkdir()
        with gzip.open(root / "ml-1m-users1-2999" / "ratings.dat.gz", "wt") as f:
            f.write(ratings)
    if meta:
        movies = (
            "1::Toy Story (1995)::Animation|Children's|Comedy\n"
            "661::Star Wars: Episode IV - A New Hope (1977)::Action|Sci-Fi\n"
            "1193::Alien³ (1992)::Horror\n"
        )
        (ml1m / "movies.dat").write_bytes(movies.encode("latin-1"))
        (ml1m / "users.dat").write_text(
            "1::F::1::10::48067\n2::M::56::16::98107-2117\n"
        )
    return ml1m


def _pairs(X):
    return set(zip(X["user_id"], X["item_id"], strict=True))


def _snapshot(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_fake_100k_every_file_is_parsed(tmp_path):
    _write_fake_100k(tmp_path)
    before = _snapshot(tmp_path)

    data = load_movielens("100k", data_home=tmp_path)

    assert _snapshot(tmp_path) == before  # nothing modified, nothing cached
    assert list(data.X.columns) == ["user_id", "item_id", "timestamp"]
    assert (data.X.dtypes == np.int64).all()
    assert data.X["user_id"].tolist() == [3, 1, 2, 1]  # file order
    assert data.X["timestamp"].iloc[0] == 881250949
    assert data.y.dtype == np.float64
    assert data.y.tolist() == [4.0, 5.0, 1.0, 3.0]

    items = data.item_features
    assert items.index.name == "item_id"
    assert items.index.tolist() == [10, 20, 30, 40]
    assert list(items.columns) == ["title", "year", *GENRES_100K]
    assert items.loc[20, "title"] == "Misérables, Les (1995)"
    assert items.loc[30, "title"] == '"Dune": the remake (1984)'
    # Year from the title, else from the release date, else NaN.
    np.testing.assert_array_equal(items["year"], [1995.0, 1995.0, 1984.0, np.nan])
    assert items.loc[20, ["Drama", "War", "Action"]].tolist() == [1, 1, 0]
    assert items.loc[40, "unknown"] == 1
    assert (items[GENRES_100K].dtypes == np.int64).all()

    users = data.user_features
    assert users.index.name == "user_id"
    assert users.index.tolist() == [1, 2, 3]
    assert users["age"].tolist() == [24, 53, 23]
    assert users["age"].dtype == np.int64
    assert isinstance(users["gender"].dtype, pd.CategoricalDtype)
    assert isinstance(users["occupation"].dtype, pd.CategoricalDtype)
    assert users.loc[2, "occupation"] == "other"
    assert users["zip"].tolist() == ["85711", "02139", "T8H1N"]

    assert "Harper" in data.DESCR and "redistributed" in data.DESCR
    assert "4 ratings" in data.DESCR


def test_fake_100k_split_and_return_X_y(tmp_path):
    _write_fake_100k(tmp_path)

    data = load_movielens(split="ua", data_home=tmp_path)
    assert "X" not in data and "y" not in data
    assert data.X_train["user_id"].tolist() == [1, 2]
    assert data.X_test["item_id"].tolist() == [20, 30]
    assert data.y_train.tolist() == [5.0, 1.0]
    assert data.y_test.tolist() == [4.0, 3.0]
    assert len(data.item_features) == 4

    X_train, X_test, y_train, y_test = load_movielens(
        split="ua", data_home=tmp_path, return_X_y=True
    )
    pd.testing.assert_frame_equal(X_train, data.X_train)
    pd.testing.assert_frame_equal(X_test, data.X_test)
    np.testing.assert_array_equal(y_train, data.y_train)
    np.testing.assert_array_equal(y_test, data.y_test)

    X, y = load_movielens(data_home=tmp_path, return_X_y=True)
    assert X.shape == (4, 3)
    assert y.tolist() == [4.0, 5.0, 1.0, 3.0]


def test_return_X_y_does_not_need_the_feature_files(tmp_path):
    folder = _write_fake_100k(tmp_path)
    (folder / "u.item").unlink()

    X, _ = load_movielens(data_home=tmp_path, return_X_y=True)

    assert len(X) == 4
    with pytest.raises(FileNotFoundError, match=r"u\.item"):
        load_movielens(data_home=tmp_path)


def test_fake_1m_double_colon_format(tmp_path):
    _write_fake_1m(tmp_path)

    data = load_movielens("1m", data_home=tmp_path)

    assert data.X.values.tolist() == [
        [1, 1193, 978300760],
        [1, 661, 978302109],
        [2, 1, 978298413],
    ]
    assert (data.X.dtypes == np.int64).all()
    assert data.y.tolist() == [5.0, 3.0, 4.0]

    items = data.item_features
    assert items.index.tolist() == [1, 661, 1193]
    assert len(items.columns) == 2 + 18
    assert items.loc[661, "title"] == "Star Wars: Episode IV - A New Hope (1977)"
    assert items.loc[1193, "title"] == "Alien³ (1992)"
    assert items["year"].tolist() == [1995.0, 1977.0, 1992.0]
    assert items.loc[661, ["Action", "Sci-Fi", "Drama"]].tolist() == [1, 1, 0]
    assert items["Western"].sum() == 0  # README genres all present

    users = data.user_features
    assert users.loc[1, "occupation"] == "K-12 student"
    assert users.loc[2, "occupation"] == "self-employed"
    assert len(users["occupation"].cat.categories) == 21
    assert users["age"].tolist() == [1, 56]
    assert users["zip"].tolist() == ["48067", "98107-2117"]
    assert users["gender"].cat.categories.tolist() == ["F", "M"]


def test_fake_subset_reads_gzip_and_sibling_metadata(tmp_path):
    _write_fake_1m(tmp_path, full=False)

    data = load_movielens("1m-users1-2999", data_home=tmp_path)

    assert data.X["item_id"].tolist() == [1193, 661, 1]
    assert data.item_features.index.tolist() == [1, 661, 1193]
    assert data.user_features.index.tolist() == [1, 2]
    assert "do not report" in data.DESCR


def test_subset_without_sibling_metadata_has_no_features(tmp_path):
    _write_fake_1m(tmp_path, full=False, meta=False)

    data = load_movielens("1m-users1-2999", data_home=tmp_path)

    assert len(data.X) == 3
    assert data.item_features is None
    assert data.user_features is None


@pytest.mark.parametrize(
    ("variant", "folder"),
    [("100k", "ml-100k"), ("1m", "ml-1m"), ("1m-users1-2999", "ml-1m-users1-2999")],
)
def test_data_home_may_be_the_dataset_folder(tmp_path, variant, folder):
    _write_fake_100k(tmp_path)
    _write_fake_1m(tmp_path)

    direct = load_movielens(variant, data_home=tmp_path / folder, return_X_y=True)
    nested = load_movielens(variant, data_home=str(tmp_path), return_X_y=True)

    pd.testing.assert_frame_equal(direct[0], nested[0])


def test_default_data_home_is_env_var_then_home(tmp_path, monkeypatch):
    _write_fake_100k(tmp_path / "env")
    monkeypatch.setenv("SK_RECSYS_DATA", str(tmp_path / "env"))
    assert len(load_movielens(return_X_y=True)[0]) == 4

    monkeypatch.delenv("SK_RECSYS_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match="sk_recsys_data"):
        load_movielens()
    _write_fake_100k(tmp_path / "home" / "sk_recsys_data")
    assert len(load_movielens(return_X_y=True)[0]) == 4


def test_missing_files_say_where_and_where_from(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_movielens("100k", data_home=tmp_path)
    message = str(info.value)
    assert "'u.data'" in message
    assert str(tmp_path / "ml-100k") in message
    assert "https://grouplens.org/datasets/movielens/" in message
    assert "redistributed" in message

    _write_fake_1m(tmp_path, full=False)
    with pytest.raises(FileNotFoundError, match=r"'ratings\.dat' was not found"):
        load_movielens("1m", data_home=tmp_path)


def test_missing_split_file_is_named(tmp_path):
    _write_fake_100k(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"'u3\.base'"):
        load_movielens(split="u3", data_home=tmp_path)


def test_modified_file_raises_value_error(tmp_path):
    folder = _write_fake_100k(tmp_path)
    (folder / "u.data").write_text("1\t10\t5\t874965758\n1\tten\t5\t874965758\n")
    with pytest.raises(ValueError, match=r"u\.data"):
        load_movielens(data_home=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variant": "20m"}, "'100k', '1m', '1m-users1-2999'"),
        ({"variant": "ml-100k"}, "Unknown MovieLens variant"),
        ({"split": "u6"}, "'u1', 'u2', 'u3', 'u4', 'u5', 'ua', 'ub'"),
        ({"variant": "1m", "split": "u1"}, "no official split"),
        ({"variant": "1m-users1-2999", "split": "ua"}, "split=None"),
    ],
)
def test_bad_variant_or_split_raise_value_error(tmp_path, kwargs, match):
    # Checked before any file is looked for.
    with pytest.raises(ValueError, match=match):
        load_movielens(data_home=tmp_path, **kwargs)


def test_bad_parameter_types_raise(tmp_path):
    with pytest.raises(ValueError, match="return_X_y"):
        load_movielens(data_home=tmp_path, return_X_y="yes")
    with pytest.raises(ValueError, match="data_home"):
        load_movielens(data_home=3)


# --- the real GroupLens files ----------------------------------------------------


@pytest.fixture(scope="module")
def ml100k():
    return load_movielens("100k", data_home=DATA)


@pytest.mark.movielens
@needs_100k
def test_100k_counts(ml100k):
    X, y = ml100k.X, ml100k.y
    assert X.shape == (100_000, 3)
    assert X["user_id"].nunique() == 943
    assert X["item_id"].nunique() == 1682
    values, counts = np.unique(y, return_counts=True)
    assert values.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert counts.tolist() == [6110, 11370, 27145, 34174, 21201]
    assert X.iloc[0].tolist() == [196, 242, 881250949]  # first line of u.data
    assert not X.duplicated(["user_id", "item_id"]).any()
    assert "100,000 ratings" in ml100k.DESCR and "943 users" in ml100k.DESCR


@pytest.mark.movielens
@needs_100k
def test_100k_item_features(ml100k):
    items = ml100k.item_features
    assert items.shape == (1682, 2 + 19)
    assert items.index.name == "item_id"
    assert items.index.tolist() == list(range(1, 1683))
    assert list(items.columns[2:]) == GENRES_100K
    assert items.loc[1, "title"] == "Toy Story (1995)"
    # u.item is latin-1: 9 titles hold non-ASCII characters.
    assert items.loc[543, "title"] == "Misérables, Les (1995)"
    assert items.loc[1633, "title"] == "Á köldum klaka (Cold Fever) (1994)"
    assert (~items["title"].map(str.isascii)).sum() == 9
    # Only movie 267 ("unknown") has no release date.
    assert items["year"].isna().sum() == 1
    assert np.isnan(items.loc[267, "year"])
    assert items.loc[1, "year"] == 1995.0
    # The title's year wins over a later release date (u.item says 1997).
    assert items.loc[1252, "title"] == "Contempt (Mépris, Le) (1963)"
    assert items.loc[1252, "year"] == 1963.0
    assert items["Drama"].sum() == 725
    assert (items[GENRES_100K].sum(axis=1) >= 1).all()


@pytest.mark.movielens
@needs_100k
def test_100k_user_features(ml100k):
    users = ml100k.user_features
    assert users.shape == (943, 4)
    assert users.index.tolist() == list(range(1, 944))
    assert users.loc[1].tolist() == [24, "M", "technician", "85711"]
    assert users["gender"].value_counts().to_dict() == {"M": 670, "F": 273}
    assert len(users["occupation"].cat.categories) == 21
    assert "T8H1N" in set(users["zip"])  # Canadian codes stay str


@pytest.mark.movielens
@needs_100k
def test_100k_ua_split_has_ten_test_ratings_per_user():
    data = load_movielens(split="ua", data_home=DATA)
    assert len(data.X_train) == 90_570
    assert len(data.X_test) == 9_430
    assert len(data.y_train) == 90_570
    assert len(data.y_test) == 9_430
    per_user = data.X_test.groupby("user_id").size()
    assert len(per_user) == 943
    assert (per_user == 10).all()
    train = _pairs(data.X_train)
    test = _pairs(data.X_test)
    assert not train & test


@pytest.mark.movielens
@needs_100k
def test_100k_five_folds_have_disjoint_test_sets(ml100k):
    everything = _pairs(ml100k.X)
    seen = set()
    for fold in ["u1", "u2", "u3", "u4", "u5"]:
        X_train, X_test, y_train, y_test = load_movielens(
            split=fold, data_home=DATA, return_X_y=True
        )
        assert len(X_train) == len(y_train) == 80_000
        assert len(X_test) == len(y_test) == 20_000
        test = _pairs(X_test)
        assert len(test) == 20_000
        assert not test & seen
        assert not test & _pairs(X_train)
        seen |= test
    assert seen == everything


@pytest.mark.movielens
@needs_100k
def test_100k_return_X_y_matches_bunch(ml100k):
    X, y = load_movielens(data_home=DATA, return_X_y=True)
    pd.testing.assert_frame_equal(X, ml100k.X)
    np.testing.assert_array_equal(y, ml100k.y)


@pytest.mark.movielens
@needs_subset
def test_1m_subset_counts_and_metadata():
    data = load_movielens("1m-users1-2999", data_home=DATA)
    X = data.X
    assert X.shape == (487_650, 3)
    assert X["user_id"].nunique() == 2999
    assert X["user_id"].min() == 1 and X["user_id"].max() == 2999
    assert X["item_id"].nunique() == 3615
    assert X.iloc[0].tolist() == [1, 1193, 978300760]
    assert X["user_id"].is_monotonic_increasing  # user-sorted like ratings.dat
    assert set(np.unique(data.y)) == {1.0, 2.0, 3.0, 4.0, 5.0}

    items = data.item_features  # from ml-1m/movies.dat
    assert items.shape == (3883, 2 + 18)
    assert items.loc[1, "title"] == "Toy Story (1995)"
    assert items.loc[1320, "title"] == "Alien³ (1992)"
    assert items.loc[260, "title"] == "Star Wars: Episode IV - A New Hope (1977)"
    assert (~items["title"].map(str.isascii)).sum() == 50
    assert items["year"].notna().all()
    assert set(X["item_id"]) <= set(items.index)

    users = data.user_features  # from ml-1m/users.dat
    assert users.shape == (6040, 4)
    assert users.loc[1].tolist() == [1, "F", "K-12 student", "48067"]
    assert set(X["user_id"]) <= set(users.index)


@pytest.mark.movielens
@_real("ml-1m/movies.dat")
def test_1m_without_ratings_names_the_missing_file():
    if (Path(DATA) / "ml-1m" / "ratings.dat").is_file():
        pytest.skip("the full ml-1m/ratings.dat is present here")
    with pytest.raises(FileNotFoundError) as info:
        load_movielens("1m", data_home=DATA)
    message = str(info.value)
    assert "'ratings.dat'" in message
    assert str(Path(DATA) / "ml-1m") in message
    assert "https://grouplens.org/datasets/movielens/" in message
