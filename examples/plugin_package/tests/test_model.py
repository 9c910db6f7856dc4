"""How a plugin tests itself: the sk_recsys conformance kit plus its own rules."""

import numpy as np
from sk_recsys_toprated import TopRated

from sk_recsys.plugins import get_model
from sk_recsys.utils.estimator_checks import check_recommender


def test_passes_the_conformance_kit():
    check_recommender(TopRated())


def test_is_discovered_by_name():
    assert isinstance(get_model("toprated", damping=2.0), TopRated)


def test_damping_pulls_single_ratings_to_the_mean():
    X = [["a", "once"], ["b", "often"], ["c", "often"], ["d", "often"]]
    model = TopRated(damping=3).fit(X, [5.0, 4.5, 4.5, 4.5])
    ids, _ = model.recommend(["e"], k=2)
    assert ids.tolist() == [["often", "once"]]
    assert np.isclose(model.predict([["e", "often"]])[0], model.global_mean_)
