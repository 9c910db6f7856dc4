"""Side information, content/hybrid/multi-task models, cold start, explanations."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from sk_recsys.data import FeatureEncoder
from sk_recsys.datasets import make_interactions
from sk_recsys.metrics import get_scorer, recall_at_k, rmse
from sk_recsys.model_selection import ColdItemSplit, UserKFold, train_test_split
from sk_recsys.models import (
    EASE,
    ContentRecommender,
    HybridRecommender,
    ItemKNN,
    MatrixFactorization,
    MultiTaskRecommender,
    Popularity,
    UserKNN,
)

FAST = {"max_epochs": 6, "batch_size": 512, "random_state": 0}


@pytest.fixture(scope="module")
def synthetic():
    return make_interactions(n_users=300, n_items=150, random_state=0)


# ------------------------------------------------------------------ features


def test_feature_encoder_reads_every_kind_of_column():
    frame = pd.DataFrame(
        {
            "price": [1.0, np.nan, 3.0],
            "genre": pd.Categorical(["a", "b", "a"]),
            "title": ["space war", "space", "love story of war"],
            "image": [np.full((1, 2, 2), v, dtype=np.float32) for v in (0.0, 1.0, 2.0)],
        },
        index=[10, 20, 30],
    )
    encoder = FeatureEncoder(vocab_size=2, min_df=1, max_length=3).fit(frame)
    encoded = encoder.transform(frame)
    # price: NaN -> mean 2.0, standardised with std 1; genre one-hot
    np.testing.assert_allclose(encoded.numeric[:, 0], [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(encoded.numeric[:, 1:], [[1, 0], [0, 1], [1, 0]])
    assert encoder.numeric_names_ == ["price", "genre=a", "genre=b"]
    # the two most frequent tokens get ids 2, 3; others are out of vocabulary
    assert encoder.vocabulary_ == {"space": 2, "war": 3}
    assert encoded.text.tolist() == [[2, 3, 0], [2, 0, 0], [1, 1, 1]]
    # with min_df=2 a word of a single row is left out of the vocabulary
    assert FeatureEncoder(min_df=2).fit(frame).vocabulary_ == {"space": 2, "war": 3}
    np.testing.assert_allclose(
        encoded.images[:, 0, 0, 0], [-1.2247, 0.0, 1.2247], atol=1e-4
    )
    pd.testing.assert_frame_equal(frame, frame.copy())  # untouched


def test_feature_encoder_errors_say_what_to_fix():
    with pytest.raises(ValueError, match="neither numeric, categorical, text"):
        FeatureEncoder().fit(pd.DataFrame({"x": [object(), object()]}))
    images = pd.DataFrame({"image": [np.zeros((1, 2, 2)), np.zeros((1, 3, 3))]})
    with pytest.raises(ValueError, match="same \\(C, H, W\\)"):
        FeatureEncoder().fit(images)
    with pytest.raises(ValueError, match="contain inf"):
        FeatureEncoder().fit(pd.DataFrame({"x": [1.0, np.inf]}))


# ------------------------------------------------------------------ models


@pytest.mark.parametrize(
    "model",
    [
        ContentRecommender(n_factors=16, **FAST),
        ContentRecommender(n_factors=16, text_encoder="rnn", **FAST),
        ContentRecommender(n_factors=16, user_profile=True, **FAST),
        HybridRecommender(**{**FAST, "max_epochs": 15}),
        MultiTaskRecommender(**{**FAST, "max_epochs": 15}),
    ],
    ids=["content-cnn", "content-rnn", "content-profile", "hybrid", "multitask"],
)
def test_models_with_features_beat_popularity(model, synthetic):
    X_train, X_test, y_train, _ = train_test_split(
        synthetic.X, synthetic.y, random_state=0
    )
    baseline = get_scorer("ndcg@10")(Popularity().fit(X_train), X_test)
    model.fit(X_train, y_train, item_features=synthetic.item_features)
    assert get_scorer("ndcg@10")(model, X_test) > 1.5 * baseline


def test_content_model_without_features_warns_and_still_works(synthetic):
    with pytest.warns(UserWarning, match="got no item_features"):
        model = ContentRecommender(n_factors=8, **FAST).fit(synthetic.X)
    assert model.module_.item_encoder is None
    assert np.isfinite(model.score_items([0])).all()


@pytest.mark.parametrize(
    "Model", [ContentRecommender, HybridRecommender], ids=["content", "hybrid"]
)
def test_cold_items_are_ranked_from_their_features(Model, synthetic):
    X, features = synthetic.X, synthetic.item_features
    train, test = next(ColdItemSplit(0.2, random_state=0).split(X))
    X_train, X_test = X.iloc[train], X.iloc[test]
    cold = np.unique(X_test["item_id"])
    model = Model(**{**FAST, "max_epochs": 10}).fit(X_train, item_features=features)
    assert set(cold) <= set(model.items_)
    users = np.unique(X_test["user_id"])
    scores = model.score_items(users, items=cold)
    truth = np.zeros_like(scores)
    for user, item in X_test[["user_id", "item_id"]].itertuples(index=False):
        truth[np.searchsorted(users, user), np.searchsorted(cold, item)] = 1
    random = recall_at_k(truth, np.random.default_rng(0).random(scores.shape), k=5)
    assert recall_at_k(truth, scores, k=5) > random + 0.1
    # popularity cannot rank them at all: they have no interactions
    assert (
        Popularity()
        .fit(X_train, item_features=features)
        .score_items(users, items=cold)
        .max()
        == 0
    )


def test_word_dropout_deletes_words_in_training_only():
    import torch

    from sk_recsys.nn import ContentEncoder

    torch.manual_seed(0)
    n = 500
    text = torch.randint(1, 9, (n, 6))
    text[:, 4:] = 0  # padding
    encoder = ContentEncoder(
        numeric=torch.randn(n, 3),
        text=text,
        out_dim=4,
        vocab_size=9,
        hidden=8,
        word_dropout=0.5,
    )
    seen = []
    encoder.text_block.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    index = torch.arange(n)
    encoder.eval()
    with torch.no_grad():
        first, second = encoder(index), encoder(index)
    torch.testing.assert_close(first, second)  # deterministic in eval mode
    torch.testing.assert_close(seen[-1], text)  # every word read
    encoder.train()
    with torch.no_grad():
        encoder(index)
    dropped = seen[-1]
    kept = (dropped != 0).sum(1)
    assert 0.4 < kept.float().mean() / 4 < 0.6  # about half the words
    for row, original in zip(dropped.tolist(), text.tolist(), strict=True):
        words = [w for w in row if w]
        assert row[: len(words)] == words  # the words left close up ...
        it = iter(w for w in original if w)
        assert all(w in it for w in words)  # ... in their order
    with pytest.raises(ValueError, match="word_dropout"):
        ContentEncoder(numeric=torch.randn(2, 3), out_dim=2, word_dropout=1.0)


@pytest.mark.parametrize("value", [-0.1, 1.0, "0.5"])
def test_content_word_dropout_is_validated(value, synthetic):
    model = ContentRecommender(word_dropout=value, **FAST)
    with pytest.raises(ValueError, match="word_dropout"):
        model.fit(synthetic.X, item_features=synthetic.item_features)


def test_content_word_dropout_reaches_the_item_encoder(synthetic):
    model = ContentRecommender(n_factors=8, word_dropout=0.25, **FAST)
    model.fit(synthetic.X, item_features=synthetic.item_features)
    assert model.module_.item_encoder.word_dropout == 0.25
    np.testing.assert_array_equal(model.score_items([0, 1]), model.score_items([0, 1]))


def test_hybrid_scores_a_cold_item_from_content_alone(synthetic):
    features = synthetic.item_features
    twins = features.iloc[[0, 0]].set_axis(pd.Index([900, 901], name="item_id"))
    model = HybridRecommender(**FAST).fit(
        synthetic.X, item_features=pd.concat([features, twins])
    )
    scores = model.score_items([0, 1, 2], items=[900, 901])
    np.testing.assert_allclose(scores[:, 0], scores[:, 1], rtol=1e-5)


def test_users_known_only_from_their_features_are_served(synthetic):
    X = synthetic.X[synthetic.X["user_id"] >= 50]  # users 0..49: features only
    for Model in (ContentRecommender, HybridRecommender):
        model = Model(**FAST).fit(
            X,
            item_features=synthetic.item_features,
            user_features=synthetic.user_features,
        )
        assert 0 in model.users_ and model.interactions_[0].nnz == 0
        scores = model.score_items([0, 1, 2])
        assert np.isfinite(scores).all()
        assert not np.allclose(scores[0], scores[1]), "served from their features"


def test_content_model_folds_in_a_new_user_from_history(synthetic):
    X_train, X_test = train_test_split(synthetic.X, random_state=0)
    users = np.unique(X_test["user_id"])[:50]
    known = X_train[~X_train["user_id"].isin(users)]
    model = ContentRecommender(n_factors=16, **{**FAST, "max_epochs": 10}).fit(
        known, item_features=synthetic.item_features
    )
    history = [list(X_train[X_train["user_id"] == u]["item_id"]) for u in users]
    ids, _ = model.recommend(users, k=10, history=history)
    popular, _ = Popularity().fit(known).recommend(users, k=10, history=history)

    def hits(lists):
        return sum(
            len(set(lists[n]) & set(X_test[X_test["user_id"] == u]["item_id"]))
            for n, u in enumerate(users)
        )

    assert hits(ids) > hits(popular)


def test_multitask_predicts_ratings_and_ranks_by_interactions(synthetic):
    X_train, X_test, y_train, y_test = train_test_split(
        synthetic.X, synthetic.y, random_state=0
    )
    model = MultiTaskRecommender(**{**FAST, "max_epochs": 10}).fit(X_train, y_train)
    predictions = model.predict(X_test)
    assert predictions.min() >= 1 and predictions.max() <= 5
    assert rmse(y_test, predictions) < rmse(
        y_test, np.full(len(y_test), y_train.mean())
    )
    ranking = model.score_items([0])
    np.testing.assert_allclose(
        ranking[0, :5],
        model.module_(model._device_tensor([0] * 5), model._device_tensor(range(5)))
        .detach()
        .numpy(),
        rtol=1e-5,
    )
    implicit = MultiTaskRecommender(**FAST).fit(X_train)
    assert not implicit._predicts_ratings()


def test_grid_search_passes_item_features_to_fit(synthetic):
    search = GridSearchCV(
        ContentRecommender(max_epochs=2, random_state=0),
        {"n_factors": [8, 16]},
        scoring=get_scorer("ndcg@10"),
        cv=UserKFold(2, random_state=0),
    ).fit(synthetic.X, item_features=synthetic.item_features)
    assert search.best_estimator_.item_feature_encoder_ is not None


# ------------------------------------------------------------------ cold split


def test_cold_item_split_holds_out_whole_items(synthetic):
    X = synthetic.X
    train, test = next(ColdItemSplit(0.1, random_state=0).split(X))
    train_items, test_items = set(X.iloc[train, 1]), set(X.iloc[test, 1])
    assert not train_items & test_items
    assert len(test_items) == int(np.ceil(0.1 * X.iloc[:, 1].nunique()))
    assert len(train) + len(test) == len(X)
    again = next(ColdItemSplit(0.1, random_state=0).split(X))
    np.testing.assert_array_equal(test, again[1])
    assert ColdItemSplit().get_n_splits() == 1
    with pytest.raises(ValueError, match="test_size"):
        ColdItemSplit(1.5)


# ------------------------------------------------------------------ explain


PLANTED = pd.DataFrame(
    # "tea" is always taken with "jam" (and only with it); "rye" and "oat" are
    # noise. zoe has tea, rye and oat but not jam: jam is explained by tea.
    [[f"u{u}", "tea"] for u in range(8)]
    + [[f"u{u}", "jam"] for u in range(8)]
    + [[f"u{u}", "rye"] for u in range(8, 14)]
    + [[f"u{u}", "oat"] for u in range(10, 16)]
    + [[f"u{u}", "fig"] for u in range(12, 16)]
    + [["zoe", "tea"], ["zoe", "rye"], ["zoe", "oat"]],
    columns=["user", "item"],
)


@pytest.mark.parametrize(
    "model",
    [
        ItemKNN(shrinkage=0),
        UserKNN(n_neighbors=20),
        EASE(l2=1.0),
        MatrixFactorization(
            n_factors=4, loss="bpr", max_epochs=60, lr=0.05, random_state=0
        ),
    ],
    ids=["item_knn", "user_knn", "ease", "mf"],
)
def test_explain_names_the_planted_history_item(model):
    model.fit(PLANTED)
    explanation = model.explain("zoe", "jam", n=3)
    assert list(explanation.columns) == ["reason", "weight"]
    assert explanation["reason"].iloc[0] == "tea"
    assert set(explanation["reason"]) <= {"tea", "rye", "oat"}
    assert model.explain("nobody", "jam").empty
    assert model.explain("zoe", "unknown-item").empty


def test_content_explain_finds_the_feature_that_drives_taste():
    rng = np.random.default_rng(0)
    n_items = 60
    features = pd.DataFrame(
        {"signal": rng.normal(size=n_items), "noise": rng.normal(size=n_items)},
        index=range(n_items),
    )
    liked = np.flatnonzero(features["signal"] > 0.3)
    X = [[u, i] for u in range(40) for i in rng.choice(liked, 8, replace=False)]
    model = ContentRecommender(n_factors=4, max_epochs=30, lr=0.02, random_state=0).fit(
        X, item_features=features
    )
    item = int(features["signal"].idxmax())
    explanation = model.explain(0, item, n=2)
    assert explanation["reason"].iloc[0] == "signal"
    assert explanation["weight"].iloc[0] > 0


def test_hybrid_and_content_explain_words_and_behaviour(synthetic):
    model = HybridRecommender(**FAST).fit(
        synthetic.X, item_features=synthetic.item_features
    )
    reasons = set(model.explain(0, 5, n=100)["reason"])
    assert "behaviour" in reasons and "image" in reasons
    assert any(reason.startswith("word '") for reason in reasons)
    assert {"numeric_0", "numeric_1", "numeric_2"} <= reasons
