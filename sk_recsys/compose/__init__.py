"""Meta-recommenders built from other recommenders.

:class:`CandidateRanker` is a two-stage recommender: candidate generators
propose items and a scikit-learn model learned on held-out rows reranks
them. :class:`RankFusion` merges several recommenders' rankings. Both are
recommenders themselves and scikit-learn meta-estimators whose nested
parameters one ``GridSearchCV`` tunes.
"""

from ._candidate_ranker import FEATURE_GROUPS, CandidateRanker
from ._fusion import RankFusion

__all__ = ["FEATURE_GROUPS", "CandidateRanker", "RankFusion"]
