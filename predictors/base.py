"""The predictor interface and registry.

A predictor guesses each query's emergence threshold in tokens. ``fit`` is optional;
``predict(pool, index, rng)`` returns a :class:`Prediction` for the queries
``pool[index]``. Randomness (noise models) comes only from the ``rng`` passed in, so
the caller decides the stream (common random numbers across policies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from simulator.errors import UserError
from simulator.pool import Pool
from simulator.registry import Registry

__all__ = ["PREDICTORS", "Prediction", "Predictor", "make_predictor", "register_predictor"]


@dataclass(frozen=True)
class Prediction:
    """Predicted thresholds for a batch of queries.

    Attributes:
        thresholds: (n,) predicted thresholds T_i in tokens (> 0).
        log_spread: (n,) validated spread s_i of ln(rollout length) - ln(T) (ln tokens;
            a robust SD, see docs/predictors.md) where known, else None.
        solvability: (n,) probability q_i that the query is solvable at all, else None.
    """

    thresholds: np.ndarray
    log_spread: np.ndarray | None = None
    solvability: np.ndarray | None = None


class Predictor(Protocol):
    """Anything with ``predict``; ``fit`` is optional."""

    def predict(self, pool: Pool, index: np.ndarray, rng: np.random.Generator) -> Prediction:
        """Predict thresholds for ``pool`` rows ``index`` (tokens)."""
        ...


PredictorFactory = Callable[..., Predictor]


def _load_builtins() -> None:
    import predictors  # noqa: F401  (registers the built-ins)


PREDICTORS: Registry[PredictorFactory] = Registry("predictor", load=_load_builtins)


def register_predictor(name: str) -> Callable[[PredictorFactory], PredictorFactory]:
    """Decorator: list a predictor factory under ``name`` (the YAML ``kind``)."""
    return PREDICTORS.register(name)


def make_predictor(kind: str, **params: Any) -> Predictor:
    """Build the predictor registered as ``kind`` with ``params``.

    Raises:
        UserError: unknown kind (lists the valid ones) or bad parameters.
    """
    factory = PREDICTORS.get(kind)
    try:
        return factory(**params)
    except TypeError as exc:
        raise UserError(f"predictor {kind!r}: {exc}") from None
