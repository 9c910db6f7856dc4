"""Recommender estimators, one per module."""

from ._distributed import DataParallelMixin
from ._neural import NeuralRecommender
from .bpmf import BayesianMF
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
    "BayesianMF",
    "ContentRecommender",
    "DataParallelMixin",
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
