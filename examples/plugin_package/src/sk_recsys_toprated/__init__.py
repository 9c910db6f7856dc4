"""Example sk_recsys plugin: a damped-mean top-rated recommender."""

from .model import TopRated

__all__ = ["TopRated"]
