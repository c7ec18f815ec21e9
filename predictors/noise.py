"""Oracle-based predictors: the true threshold, optionally with seeded noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictors.base import Prediction, register_predictor
from simulator.errors import UserError
from simulator.pool import Pool


@register_predictor("oracle")
@dataclass(frozen=True)
class OraclePredictor:
    """The true tau (no correctness leak: insolvent queries get their median length)."""

    def predict(self, pool: Pool, index: np.ndarray, rng: np.random.Generator) -> Prediction:
        """True thresholds for ``pool`` rows ``index`` (tokens)."""
        return Prediction(pool.tau[index].astype(np.float64))


@register_predictor("noisy-oracle")
@dataclass(frozen=True)
class NoisyOracle:
    """ln T = ln tau + N(0, sigma^2): multiplicative log-normal noise.

    Attributes:
        sigma: standard deviation of the log-ratio ln(T / tau) (>= 0).
    """

    sigma: float = 0.3

    def __post_init__(self) -> None:
        if not (self.sigma >= 0 and np.isfinite(self.sigma)):
            raise UserError(f"predictor.sigma must be >= 0, got {self.sigma}")

    def predict(self, pool: Pool, index: np.ndarray, rng: np.random.Generator) -> Prediction:
        """Noisy thresholds for ``pool`` rows ``index`` (tokens), spread = sigma."""
        tau = pool.tau[index].astype(np.float64)
        z = rng.standard_normal(tau.size) * self.sigma
        return Prediction(np.maximum(tau * np.exp(z), 1.0),
                          log_spread=np.full(tau.size, self.sigma))
