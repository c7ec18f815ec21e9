"""Threshold predictors: guess each query's emergence threshold (tokens)."""
from predictors import base, learned, noise  # noqa: F401  (registers the built-ins)
