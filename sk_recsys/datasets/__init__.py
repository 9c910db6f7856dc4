"""Datasets: the embedded synthetic generator and loaders for public data.

:func:`make_interactions` is the embedded default used by the demo, the
examples and the tests. :func:`load_movielens` and :func:`load_lastfm` read
the public files from a folder you provide; they may not be redistributed, so
sk_recsys never ships or downloads them.
"""

from ._lastfm import load_lastfm
from ._movielens import load_movielens
from ._synthetic import make_interactions

__all__ = ["load_lastfm", "load_movielens", "make_interactions"]
