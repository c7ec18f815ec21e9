"""The predictor interface and registry.

A predictor guesses each query's emergence threshold in tokens. ``fit`` is optional;
``predict(pool, index, rng)`` returns a :class:`Prediction` for the queries
``pool[index]``. Randomness (noise models) comes only from the ``rng`` passed in, so
the caller decides the stream (common random numbers across policies).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from simulator.errors import UserError
from simulator.pools.pool import Pool
from simulator.registry import Registry

__all__ = ["PREDICTORS", "Prediction", "Predictor", "drawn_pool", "make_predictor",
           "register_predictor"]


@dataclass(frozen=True)
class Prediction:
    """Predicted thresholds for a batch of queries.

    Attributes:
        thresholds: (n,) predicted thresholds T_i in tokens (> 0).
        log_spread: (n,) validated spread s_i of ln(rollout length) - ln(T) (ln tokens;
            a robust SD, see docs/predictors.md) where known, else None.
        solvability: (n,) probability q_i that the query is solvable at all, else None.
        threshold_sd: SD of ln T - ln tau when the error is noise added to the truth
            (the noise oracles; ln tokens), which lets a policy deconvolve T
            (:mod:`simulator.allocation.deconvolve`); None for a regression output (the learned
            predictor), whose T is already a conditional mean.
    """

    thresholds: np.ndarray
    log_spread: np.ndarray | None = None
    solvability: np.ndarray | None = None
    threshold_sd: float | None = None


class Predictor(Protocol):
    """Anything with ``predict``; ``fit`` is optional."""

    def predict(self, pool: Pool, index: np.ndarray, rng: np.random.Generator) -> Prediction:
        """Predict thresholds for ``pool`` rows ``index`` (tokens)."""
        ...


PredictorFactory = Callable[..., Predictor]


#: Every predictor; the package ``predictors`` imports the built-ins, so importing this
#: module (which runs the package first) always sees them registered.
PREDICTORS: Registry[PredictorFactory] = Registry("predictor")


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
        raise UserError(f"predictor {kind!r}: {_param_problem(factory, params) or exc}") from None


def _param_problem(factory: PredictorFactory, params: dict[str, Any]) -> str | None:
    """An unknown or missing parameter, said in the user's terms (None if neither)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    names = [n for n, p in sig.parameters.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [k for k in params if k not in names]
    if unknown and not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return (f"unknown parameter {unknown[0]!r}; valid: "
                f"{', '.join(names) if names else 'none (it takes no parameters)'}")
    missing = [n for n in names if n not in params
               and sig.parameters[n].default is inspect.Parameter.empty]
    if missing:
        return (f"needs parameter {missing[0]!r} (predictor.params.{missing[0]} in a "
                f"scenario, --predictor-param {missing[0]}=VALUE on the command line)")
    return None


def drawn_pool(pool: Pool, predictor: Predictor) -> tuple[Pool, dict[str, Any]]:
    """The queries a run may draw: a trained predictor's held-out ones only, unless it
    was built with ``include_training``; plus the facts for the run summary (empty for
    a predictor without a training split, e.g. the noise oracles).

    Raises:
        UserError: every query of ``pool`` was used for training.
    """
    held_out = getattr(predictor, "held_out", None)
    if held_out is None:
        return pool, {}
    if getattr(predictor, "include_training", False):
        return pool, {"queries_drawn": "all, including training", "pool_queries": len(pool)}
    try:
        sub: Pool = held_out(pool)
    except UserError as exc:
        raise UserError(f"predictor.params.model: {exc}; set predictor.params."
                        "include_training: true to run on the training queries") from None
    return sub, {"queries_drawn": "held-out", "pool_queries": len(pool),
                 "held_out_queries": len(sub)}
