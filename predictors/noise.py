"""Oracle-based predictors: the true threshold, optionally with seeded noise.

Every noisy kind perturbs the oracle threshold tau (tokens) in log space and draws its
randomness only from the ``rng`` passed to ``predict``. Each reports ``log_spread``: the
standard deviation of the residual ln(tau) - ln(T) it produces, as one constant for the
whole pool. A real predictor's validated spread is one number too, and a per-query
spread that varied with difficulty would leak tau's rank to the calibrated policy.

The spread is that of ln(rollout length) around ln T, measured like the learned
predictor's (:mod:`predictors.learned_train`): the noise in T combined with the pool's
within-query spread ``w`` (:func:`within_spread`, a robust SD of ln l_ik - ln tau_i over
all rollouts; 0.33 on the default pool). Including ``w`` is what makes the calibrated
policy's S-curve q Phi((ln t - ln T) / s) the chance that a replayed rollout fits under t.

=====================  ==============================================  =====================
kind                   T (tokens)                                      log_spread
=====================  ==============================================  =====================
``oracle``             tau                                             none
``noisy-oracle``       tau * exp(bias + sigma * z)                     sqrt(sigma^2 + w^2)
                                                                       (bias unknown)
``rank-swap-oracle``   tau of a random partner for a fraction f of     sqrt(sigma^2 + 2 f
                       queries, then * exp(sigma * z)                  var_pool(ln tau) + w^2)
``difficulty-oracle``  tau * exp(sigma_i z), sigma_i = sigma *         sqrt(sigma^2 (1 +
                       (1 + slope (r_i - 1/2)), r_i = pool rank of     slope^2 / 12) + w^2)
                       ln tau in [0, 1]
=====================  ==============================================  =====================

``z`` is standard normal. The bias of ``noisy-oracle`` is a systematic error the
predictor does not know about, so it is not part of the reported spread.

Each also reports ``threshold_sd``, the SD of the noise in ln T alone (``sigma``; for
``difficulty-oracle`` its root mean square over the pool), because that noise is added
to the truth and a policy may deconvolve it (:mod:`simulator.allocation.deconvolve`). Rank swaps
are not additive noise (a swapped T says nothing about the query's own tau), so
``rank-swap-oracle`` reports none when it swaps any pair (and ``sigma`` when the batch
is too small for a pair).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictors.base import Prediction, register_predictor
from simulator.errors import UserError
from simulator.pools.pool import Pool

__all__ = ["DifficultyOracle", "NoisyOracle", "OraclePredictor", "RankSwapOracle",
           "within_spread"]

MIN_THRESHOLD = 1.0  #: tokens; predictions are floored here so T > 0 always
MAD_TO_SD = 1.4826  #: SD of a normal per unit of median absolute deviation


def within_spread(pool: Pool) -> float:
    """Robust SD of ln(l_ik) - ln(tau_i) over all rollouts (ln tokens).

    1.4826 * median absolute deviation: rollouts that loop to the cap make the plain SD
    (1.2 on the default pool) describe the tail, not the S-curve's width near tau.
    """
    rows, _ = np.nonzero(pool.valid)
    res = np.log(pool.lengths[pool.valid]) - np.log(pool.tau)[rows]
    return float(MAD_TO_SD * np.median(np.abs(res - np.median(res))))


def _check(name: str, value: float, lo: float = 0.0, hi: float = np.inf) -> None:
    bound = f">= {lo}" if hi == np.inf else f"in [{lo}, {hi}]"
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise UserError(f"predictor.{name} must be a number {bound}, got {value!r}")
    if not (np.isfinite(value) and lo <= value <= hi):
        raise UserError(f"predictor.{name} must be {bound}, got {value}")


def _finish(pool: Pool, tau: np.ndarray, log_ratio: np.ndarray, noise_sd: float,
            threshold_sd: float | None) -> Prediction:
    """Thresholds tau * exp(log_ratio), the spread sqrt(noise_sd^2 + w^2) and
    ``threshold_sd``: the SD of the log error when it is independent noise around
    ln tau (a policy may then deconvolve the thresholds), else None."""
    thresholds = np.maximum(tau * np.exp(log_ratio), MIN_THRESHOLD)
    spread = np.sqrt(noise_sd**2 + within_spread(pool) ** 2)
    return Prediction(thresholds, log_spread=np.full(tau.size, float(spread)),
                      threshold_sd=None if threshold_sd is None else float(threshold_sd))


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
    """ln T = ln tau + bias + N(0, sigma^2): multiplicative log-normal noise with bias.

    Attributes:
        sigma: standard deviation of the log-ratio ln(T / tau) (>= 0).
        bias: systematic log-ratio; 0.3 over-estimates every tau by exp(0.3) = 1.35x,
            -0.3 under-estimates it.
    """

    sigma: float = 0.3
    bias: float = 0.0

    def __post_init__(self) -> None:
        _check("sigma", self.sigma)
        _check("bias", self.bias, -20.0, 20.0)

    def predict(self, pool: Pool, index: np.ndarray, rng: np.random.Generator) -> Prediction:
        """Noisy thresholds for ``pool`` rows ``index`` (tokens)."""
        tau = pool.tau[index].astype(np.float64)
        z = rng.standard_normal(tau.size)
        return _finish(pool, tau, self.bias + self.sigma * z, self.sigma, self.sigma)


@register_predictor("rank-swap-oracle")
@dataclass(frozen=True)
class RankSwapOracle:
    """A ``fraction`` of the batch's queries trade thresholds in random disjoint pairs.

    The predicted thresholds of the batch are then a permutation of the true ones: the
    distribution is right, the ranking is wrong. ``sigma`` adds log-normal noise on top.

    Attributes:
        fraction: share of the batch's queries whose threshold is exchanged, in [0, 1]
            (``round(fraction * n / 2)`` pairs).
        sigma: extra log-normal noise (>= 0; default 0).
    """

    fraction: float = 0.3
    sigma: float = 0.0

    def __post_init__(self) -> None:
        _check("fraction", self.fraction, 0.0, 1.0)
        _check("sigma", self.sigma)

    def predict(self, pool: Pool, index: np.ndarray, rng: np.random.Generator) -> Prediction:
        """Swapped thresholds for ``pool`` rows ``index`` (tokens)."""
        tau = pool.tau[index].astype(np.float64)
        n = tau.size
        pairs = min(int(round(self.fraction * n / 2)), n // 2)
        order = rng.permutation(n)
        z = rng.standard_normal(n)
        swapped = tau.copy()
        a, b = order[:pairs], order[pairs:2 * pairs]
        swapped[a], swapped[b] = tau[b], tau[a]
        var = float(np.var(np.log(pool.tau)))
        spread = np.sqrt(self.sigma**2 + 2.0 * self.fraction * var)
        return _finish(pool, tau, np.log(swapped / tau) + self.sigma * z, spread,
                       self.sigma if pairs == 0 else None)


@register_predictor("difficulty-oracle")
@dataclass(frozen=True)
class DifficultyOracle:
    """Log-normal noise whose sigma grows with the query's difficulty rank.

    sigma_i = sigma * (1 + slope * (r_i - 1/2)), where r_i in [0, 1] is the rank of
    ln tau_i over the whole pool (so the same query gets the same sigma_i in every
    batch). The mean of sigma_i over the pool is sigma.

    Attributes:
        sigma: mean noise level (>= 0).
        slope: growth of the multiplier over the rank, in [0, 2]: 1 (default) gives
            0.5 sigma on the easiest query and 1.5 sigma on the hardest; 2 gives 0 to 2.
    """

    sigma: float = 0.3
    slope: float = 1.0

    def __post_init__(self) -> None:
        _check("sigma", self.sigma)
        _check("slope", self.slope, 0.0, 2.0)

    def predict(self, pool: Pool, index: np.ndarray, rng: np.random.Generator) -> Prediction:
        """Thresholds for ``pool`` rows ``index`` (tokens), noisier on harder queries."""
        all_tau = pool.tau
        rank = np.argsort(np.argsort(all_tau, kind="stable"), kind="stable")
        r = rank / max(all_tau.size - 1, 1)
        sig = self.sigma * (1.0 + self.slope * (r[index] - 0.5))
        tau = all_tau[index].astype(np.float64)
        z = rng.standard_normal(tau.size)
        rms = self.sigma * np.sqrt(1.0 + self.slope**2 / 12.0)
        return _finish(pool, tau, sig * z, rms, rms)
