"""Recommender estimators, one per module."""

from ._distributed import DataParallelMixin
from ._neural import NeuralRecommender
from ._sequential import SequentialRecommender
from .bpmf import BayesianMF
from .content import ContentRecommender
from .dmf import DeepMF
from .ease import EASE
from .gru4rec import GRU4Rec
from .hybrid import HybridRecommender
from .knn import ItemKNN, UserKNN
from .mf import MatrixFactorization
from .multitask import MultiTaskRecommender
from .neumf import NeuMF
from .popularity import Popularity
from .sasrec import SASRec

__all__ = [
    "EASE",
    "BayesianMF",
    "ContentRecommender",
    "DataParallelMixin",
    "DeepMF",
    "GRU4Rec",
    "HybridRecommender",
    "ItemKNN",
    "MatrixFactorization",
    "MultiTaskRecommender",
    "NeuMF",
    "NeuralRecommender",
    "Popularity",
    "SASRec",
    "SequentialRecommender",
    "UserKNN",
]
