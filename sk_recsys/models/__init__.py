"""Recommender estimators, one per module."""

from ._neural import NeuralRecommender
from .content import ContentRecommender
from .dmf import DeepMF
from .ease import EASE
from .hybrid import HybridRecommender
from .knn import ItemKNN, UserKNN
from .mf import MatrixFactorization
from .multitask import MultiTaskRecommender
from .neumf import NeuMF
from .popularity import Popularity

__all__ = [
    "EASE",
    "ContentRecommender",
    "DeepMF",
    "HybridRecommender",
    "ItemKNN",
    "MatrixFactorization",
    "MultiTaskRecommender",
    "NeuMF",
    "NeuralRecommender",
    "Popularity",
    "UserKNN",
]
