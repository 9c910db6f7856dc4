"""Recommender estimators, one per module."""

from ._distributed import DataParallelMixin
from ._neural import NeuralRecommender
from ._sequential import SequentialRecommender
from .bpmf import BayesianMF
from .content import ContentRecommender
from .dmf import DeepMF
from .ease import EASE
from .gru4rec import GRU4Rec
from .hstu import HSTU
from .hybrid import HybridRecommender
from .ials import ImplicitALS
from .knn import ItemKNN, UserKNN
from .lightgcn import LightGCN
from .mf import MatrixFactorization
from .multitask import MultiTaskRecommender
from .multvae import MultVAE
from .neumf import NeuMF
from .popularity import Popularity
from .rp3beta import RP3Beta
from .sasrec import SASRec
from .slim import SLIM

__all__ = [
    "EASE",
    "HSTU",
    "SLIM",
    "BayesianMF",
    "ContentRecommender",
    "DataParallelMixin",
    "DeepMF",
    "GRU4Rec",
    "HybridRecommender",
    "ImplicitALS",
    "ItemKNN",
    "LightGCN",
    "MatrixFactorization",
    "MultVAE",
    "MultiTaskRecommender",
    "NeuMF",
    "NeuralRecommender",
    "Popularity",
    "RP3Beta",
    "SASRec",
    "SequentialRecommender",
    "UserKNN",
]
