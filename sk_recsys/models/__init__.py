"""Recommender estimators, one per module."""

from .ease import EASE
from .knn import ItemKNN, UserKNN
from .popularity import Popularity

__all__ = ["EASE", "ItemKNN", "Popularity", "UserKNN"]
