"""Tests of load_lastfm: on a tiny fake folder, and on the real files when present.

The HetRec Last.fm data is for non-commercial use and is never shipped: the
real-data test reads it from ``$SK_RECSYS_DATA`` and is skipped without it.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from sk_recsys.datasets import load_lastfm

DATA = os.environ.get("SK_RECSYS_DATA")
FOLDER = "hetrec2011-lastfm-2k"


def _fake(root: Path) -> Path:
    folder = root / FOLDER
    folder.mkdir()
    # The originals use CRLF line endings and a header line.
    (folder / "user_artists.dat").write_bytes(
        b"userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n3\t51\t7\r\n"
    )
    (folder / "artists.dat").write_text(
        "id\tname\turl\tpictureURL\n"
        "51\tDustin O'Halloran\thttp://a\thttp://b\n"
        '52\t"Weird Al" Yankovic\thttp://c\thttp://d\n'
    )
    (folder / "user_friends.dat").write_bytes(b"userID\tfriendID\r\n2\t3\r\n3\t2\r\n")
    return folder


def test_fake_folder_is_parsed_with_quotes_kept(tmp_path):
    _fake(tmp_path)
    data = load_lastfm(data_home=tmp_path)
    assert data.X.columns.tolist() == ["user_id", "item_id"]
    np.testing.assert_array_equal(data.X["user_id"], [2, 2, 3])
    np.testing.assert_array_equal(data.X["item_id"], [51, 52, 51])
    np.testing.assert_array_equal(data.y, [13883.0, 11690.0, 7.0])
    assert data.item_features.loc[52, "name"] == '"Weird Al" Yankovic'
    assert data.item_features.loc[51, "name"] == "Dustin O'Halloran"
    assert data.friends.shape == (2, 2)
    assert "non-commercial" in data.DESCR


def test_dataset_folder_itself_and_return_X_y(tmp_path):
    folder = _fake(tmp_path)
    X, y = load_lastfm(data_home=folder, return_X_y=True)
    assert X.shape == (3, 2)
    assert y.dtype == np.float64


def test_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="hetrec2011-lastfm-2k"):
        load_lastfm(data_home=tmp_path)


def test_truncated_file_is_a_clear_error(tmp_path):
    folder = tmp_path / FOLDER
    folder.mkdir()
    (folder / "user_artists.dat").write_text("userID\tartistID\tweight\n2\tx\t1\n")
    with pytest.raises(ValueError, match=r"HetRec Last\.fm"):
        load_lastfm(data_home=tmp_path)


@pytest.mark.skipif(
    DATA is None or not (Path(DATA) / FOLDER / "user_artists.dat").is_file(),
    reason="needs hetrec2011-lastfm-2k/ under $SK_RECSYS_DATA",
)
def test_real_files_have_the_documented_size():
    data = load_lastfm()
    assert data.X.shape == (92834, 2)
    assert data.X["user_id"].nunique() == 1892
    assert data.X["item_id"].nunique() == 17632
    assert (data.y > 0).all()
    assert len(data.item_features) == 17632
    assert len(data.friends) == 25434
