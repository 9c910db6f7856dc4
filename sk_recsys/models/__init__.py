"""Recommender estimators, one per module."""

from ._neural import NeuralRecommender
from .dmf import DeepMF
from .ease import EASE
from .knn import ItemKNN, UserKNN
from .mf import MatrixFactorization
from .neumf import NeuMF
from .popularity import Popularity

__all__ = [
    "EASE",
    "DeepMF",
    "ItemKNN",
    "MatrixFactorization",
    "NeuMF",
    "NeuralRecommender",
    "Popularity",
    "UserKNN",
]
