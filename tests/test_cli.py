"""The sk-recsys command: listing models and printing a leaderboard."""

import json

import pandas as pd
import pytest
from conftest import requires_movielens

from sk_recsys.cli import main
from sk_recsys.datasets import make_interactions


def test_models_lists_every_registered_model(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("popularity", "item_knn", "user_knn", "ease"):
        assert name in out
    assert "built-in" in out


def test_models_prints_a_left_aligned_plain_text_table_within_100_columns(capsys):
    from sk_recsys.plugins import available_models

    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "family", "origin", "summary"]
    assert all(len(line) <= 100 for line in lines)
    # Left-aligned: every row starts with its name, and every column starts
    # where its header does.
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(available_models())
    for header in ("family", "origin", "summary"):
        start = lines[0].index(header)
        assert all(line[start - 2 : start] == "  " for line in lines[1:])
        assert all(line[start] != " " for line in lines[1:])
    mf = rows["mf"]
    assert "``" not in "".join(lines)
    assert "factorisation" in mf and "min |R - U V^T|^2" in mf
    assert rows["item_knn"].split()[1] == "neighbourhood"
    assert rows["toprated"].split()[1:3] == ["baseline", "plugin"]


def test_models_verbose_shows_module_paths(capsys):
    assert main(["models", "--verbose"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "family", "origin", "class"]
    rows = {line.split()[0]: line.split()[-1] for line in lines[1:]}
    assert rows["mf"] == "sk_recsys.models.mf:MatrixFactorization"
    assert rows["toprated"] == "sk_recsys_toprated.model:TopRated"
    assert all(len(line) <= 100 for line in lines)


def test_plain_summaries_drop_restructuredtext_and_long_ones_are_cut():
    from sk_recsys.cli import _format_table, _plain

    assert _plain(":class:`~sk_recsys.models.EASE` or :func:`f`, *fast*") == (
        "EASE or f, fast"
    )
    assert _plain("see `the paper <https://x.org>`_ and **this**") == (
        "see the paper and this"
    )
    table = pd.DataFrame({"name": ["a"], "summary": ["word " * 40]})
    out = _format_table(table, width=30).splitlines()
    assert all(len(line) <= 30 for line in out)
    assert out[1].endswith("...")


def test_evaluate_prints_a_leaderboard_sorted_by_ndcg(capsys, tmp_path):
    output = tmp_path / "board.json"
    status = main(
        [
            "evaluate",
            "--models",
            "popularity",
            "item_knn",
            "--k",
            "5",
            "--output",
            str(output),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.strip().startswith("model"))
    for column in (
        "precision@5",
        "recall@5",
        "f1@5",
        "ndcg@5",
        "auc",
        "fit_s",
        "rank_s",
    ):
        assert column in header
    board = json.loads(output.read_text())
    assert [row["model"] for row in board] == ["item_knn", "popularity"]
    assert board[0]["ndcg@5"] > board[1]["ndcg@5"]


def test_evaluate_cross_validates_a_csv_file(capsys, tmp_path):
    X, y = make_interactions(n_users=80, n_items=40, random_state=0, return_X_y=True)
    path = tmp_path / "ratings.csv"
    X.assign(rating=y).to_csv(path, index=False)
    assert (
        main(
            [
                "evaluate",
                "--dataset",
                str(path),
                "--models",
                "ease",
                "--cv",
                "2",
                "--rating-column",
                "rating",
                "--use-ratings",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "UserKFold(2)" in out and "ratings passed to fit as y" in out


def test_evaluate_fits_on_interactions_only_by_default(capsys):
    assert main(["evaluate", "--models", "popularity"]) == 0
    assert "implicit feedback (--use-ratings fits on y)" in capsys.readouterr().out


def test_bad_arguments_exit_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match="neither one of synthetic"):
        main(["evaluate", "--dataset", str(tmp_path / "missing.csv")])
    with pytest.raises(SystemExit, match="--cv must be at least 2"):
        main(["evaluate", "--cv", "1"])
    path = tmp_path / "x.csv"
    pd.DataFrame({"u": [1], "i": [2]}).to_csv(path, index=False)
    with pytest.raises(SystemExit, match="has no column 'stars'"):
        main(["evaluate", "--dataset", str(path), "--rating-column", "stars"])


def test_a_failing_model_is_reported_and_the_others_still_run(capsys):
    assert main(["evaluate", "--models", "no_such_model", "popularity"]) == 0
    captured = capsys.readouterr()
    assert "no_such_model: failed" in captured.err + captured.out
    assert "popularity" in captured.out


@requires_movielens
def test_evaluate_on_movielens_uses_the_official_ua_split(capsys):
    assert (
        main(["evaluate", "--dataset", "movielens-100k", "--models", "popularity"]) == 0
    )
    out = capsys.readouterr().out
    assert "official ua split" in out and "943 users" in out
