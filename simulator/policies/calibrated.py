"""clear-calibrated: shadow-price allocation of a calibrated success probability.

Utility (model.md section 4, ours): the chance that query i is answered within t tokens,

    U_i(t) = q_i * Phi((ln t - ln T_i) / s_i),

with T_i the predicted threshold (tokens), s_i the predictor's validated log-residual
spread and q_i its predicted solvability (1 when unknown). U is an S-curve in t: convex
below the inflection t = T e^{-s^2}, concave above. The best response to a price lambda
(utility per token) is on the concave branch or t = 0, which is what maximising over the
concave envelope gives. Write t = T e^{s v}. Then:

* stationarity ``q phi(v) / (s t) = lambda`` has the closed form
  ``v(lambda) = -s + sqrt(-2 (ln lambda + ln s + ln T - ln q - s^2/2 + ln sqrt(2 pi)))``;
* the net value at that point is ``q (Phi(v) - phi(v) / s)``, so the query is funded iff
  ``v > v0(s)``, where ``phi(v0) / Phi(v0) = s`` (the inverse Mills ratio). v0 does not
  depend on q or T: abandonment happens at the price
  ``ln lambda_i = ln q + ln phi(v0) - s v0 - ln s - ln T``, so low-q, long-T queries go first;
* at lambda_i the funded cap is T e^{s v0} > T e^{-s^2}.

Demand is non-increasing in lambda with a jump at each lambda_i. lambda* is the smallest
price whose demand fits B, found by bisection on ln lambda (all in logs, so no under- or
overflow however loose the budget). The budget left below B is spent by
:func:`simulator.allocation.shadow_price.spend_leftover`, the marginal query being the unfunded one
with the highest abandonment price.

When the predictor's error is noise added to the truth (it reports ``threshold_sd``, as
the noise oracles do), a short T is more likely a noisy draw from the dense middle of
the traffic than a truly short query. By default (``shrink``) T and s are first replaced
by their empirical-Bayes posterior under a nonparametric prior fitted to the recent
predictions (:mod:`simulator.allocation.deconvolve`); see docs/predictors.md for what it buys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import log_ndtr

from simulator.allocation.deconvolve import fit_prior_cached, posterior, resolvable
from simulator.allocation.shadow_price import spend_leftover
from simulator.policies.base import (
    Allocation,
    AllocationInput,
    check_input,
    flag,
    param,
    register_policy,
)

__all__ = ["calibrated", "inverse_mills_root", "shrink", "shrink_inputs", "success_utility"]

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
MAX_ITER = 200  #: bisection halvings on ln lambda (stops far earlier at tolerance)
MIN_SAMPLE = 20  #: thresholds needed to fit an empirical-Bayes prior (:func:`shrink`)
MIN_NOISE_SD = 1e-3  #: threshold noise below this (ln tokens) is not worth deconvolving


def success_utility(t: np.ndarray, thresholds: np.ndarray | float, spread: np.ndarray | float,
                    q: np.ndarray | float = 1.0) -> np.ndarray:
    """U(t) = q * Phi((ln t - ln T) / s) elementwise (probability of success, t in tokens)."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(divide="ignore"):
        z = (np.log(t) - np.log(thresholds)) / spread
    return np.asarray(q) * np.exp(log_ndtr(z))


def _log_phi(v: np.ndarray) -> np.ndarray:
    return -0.5 * v * v - LOG_SQRT_2PI


def inverse_mills_root(s: np.ndarray) -> np.ndarray:
    """v0 with phi(v0) / Phi(v0) = s, elementwise (s > 0); decreasing in s.

    Bisection on [-60, 60] (the ratio falls monotonically from ~|v| to 0), in logs.
    """
    s = np.asarray(s, dtype=np.float64)
    lo = np.full(s.shape, -60.0)
    hi = np.full(s.shape, 60.0)
    log_s = np.log(s)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = _log_phi(mid) - log_ndtr(mid) > log_s   # ratio still > s: go right
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def shrink(t: np.ndarray, s: np.ndarray, noise_sd: float,
           sample: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Empirical-Bayes thresholds and spreads for predictions ``ln T = ln tau + N(0, sd^2)``.

    The distribution of ln tau is the NPMLE fitted to ``ln sample`` (this batch's
    thresholds when None; :func:`simulator.allocation.deconvolve.fit_prior`). Each T becomes
    exp(E[ln tau | T]), and each spread ``s`` (noise and within-query spread w combined,
    ``s^2 = sd^2 + w^2``) becomes ``sqrt(Var[ln tau | T] + w^2)``.

    Args:
        t: (N,) predicted thresholds (tokens).
        s: (N,) reported log-spreads (ln tokens).
        noise_sd: the predictor's ``threshold_sd`` (ln tokens, > 0).
        sample: recent predicted thresholds (tokens) to fit the prior on, or None.

    Returns:
        (thresholds in tokens, spreads in ln tokens), both (N,).
    """
    log_t = np.log(t)
    ref = log_t if sample is None else np.log(np.asarray(sample, dtype=np.float64))
    prior = fit_prior_cached(ref, noise_sd)
    mean, sd = posterior(prior, log_t, noise_sd)
    within2 = np.maximum(s * s - noise_sd * noise_sd, 0.0)
    return np.exp(mean), np.sqrt(sd * sd + within2)


def _spread_and_q(inp: AllocationInput, n: int, params: Mapping[str, Any]
                  ) -> tuple[np.ndarray, np.ndarray]:
    if param(params, "min_spread", 0.05) <= 0:
        raise ValueError("clear-calibrated: min_spread must be > 0")
    if inp.log_spread is not None:
        s = np.asarray(inp.log_spread, dtype=np.float64)
    else:   # the within-query spread, plus the threshold noise when it is known
        s = np.full(n, np.hypot(param(params, "spread", 0.25), inp.threshold_sd or 0.0))
    if s.shape != (n,) or not np.isfinite(s).all():
        raise ValueError("clear-calibrated: log_spread must be (N,) finite values")
    use_q = flag(params, "use_solvability", True)
    q = np.ones(n) if inp.solvability is None or not use_q \
        else np.asarray(inp.solvability, dtype=np.float64)
    if q.shape != (n,) or not np.isfinite(q).all():
        raise ValueError("clear-calibrated: solvability must be (N,) finite values")
    return s, np.clip(q, 1e-12, 1.0)


def _noise_and_sample(inp: AllocationInput, t: np.ndarray, name: str = "clear-calibrated"
                      ) -> tuple[float | None, np.ndarray]:
    """The checked ``threshold_sd`` and the sample of thresholds to fit a prior to."""
    sd = None if inp.threshold_sd is None else float(inp.threshold_sd)
    if sd is not None and not (np.isfinite(sd) and sd >= 0):
        raise ValueError(f"{name}: threshold_sd must be finite and >= 0, got {sd}")
    if inp.prior_thresholds is None:
        return sd, t
    sample = np.asarray(inp.prior_thresholds, dtype=np.float64)
    if sample.ndim != 1 or not (np.isfinite(sample).all() and (sample > 0).all()):
        raise ValueError(f"{name}: prior_thresholds must be a 1-D array of "
                         "finite thresholds > 0 tokens")
    return sd, sample


def shrink_inputs(inp: AllocationInput, t: np.ndarray, s: np.ndarray,
                  name: str = "clear-calibrated") -> tuple[np.ndarray, np.ndarray]:
    """``(t, s)`` deconvolved by :func:`shrink` when the input allows it, else unchanged.

    Skipped when the predictor reports no ``threshold_sd``, when it is below
    MIN_NOISE_SD, when the sample has fewer than MIN_SAMPLE thresholds or the noise is
    too small for the prior's grid (:func:`simulator.allocation.deconvolve.resolvable`).
    """
    sd, sample = _noise_and_sample(inp, t, name)
    if (sd is not None and sd >= MIN_NOISE_SD and sample.size >= MIN_SAMPLE
            and resolvable(np.log(sample), sd)):
        return shrink(t, s, sd, sample)
    return t, s


class _Demand:
    """Best responses of all queries to a log-price, vectorised."""

    def __init__(self, t: np.ndarray, s: np.ndarray, q: np.ndarray) -> None:
        uniq, inv = np.unique(s, return_inverse=True)
        v0 = inverse_mills_root(uniq)[inv]
        self.t, self.s = t, s
        self.log_t = np.log(t)
        self.offset = np.log(s) + self.log_t - np.log(q) - 0.5 * s * s + LOG_SQRT_2PI
        self.abandon = np.log(q) + _log_phi(v0) - s * v0 - np.log(s) - self.log_t

    def caps(self, log_lam: float) -> tuple[np.ndarray, np.ndarray]:
        """(caps in tokens, funded mask) at price exp(log_lam)."""
        funded = log_lam < self.abandon
        w = np.sqrt(np.maximum(-2.0 * (log_lam + self.offset), 0.0))
        caps = np.where(funded, np.exp(self.log_t + self.s * (w - self.s)), 0.0)
        return caps, funded


@register_policy("clear-calibrated",
                 params=("min_spread", "spread", "use_solvability", "shrink"))
def calibrated(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """Maximise sum_i q_i Phi((ln t_i - ln T_i) / s_i) subject to sum t_i <= B.

    Params:
        min_spread: floor on s (default 0.05): s -> 0 would make U a step at T.
        spread: within-query SD used when the predictor reports no spread (default
            0.25, about the real within-query SD of ln length on MATH-500); s is then
            ``sqrt(spread^2 + threshold_sd^2)`` when the threshold noise is known.
        use_solvability: use the predictor's q_i when given (default true).
        shrink: when the predictor reports ``threshold_sd`` (its error is noise added
            to the truth, as with the noise oracles), first replace each T and s by
            their empirical-Bayes posterior (:func:`shrink`), the prior fitted to
            ``inp.prior_thresholds`` or, when that is None, to this batch (default
            true; no effect for predictors that report no ``threshold_sd``). Skipped
            when the sample has fewer than MIN_SAMPLE thresholds, when the noise SD is
            below MIN_NOISE_SD or too small for the prior's grid over the sample's
            range (:func:`simulator.allocation.deconvolve.resolvable`).

    Returns:
        caps (tokens, >= 0, sum <= B), lambda* (success probability per token) and
        info with ``funded`` (queries funded at lambda*) and ``iterations``.
    """
    t, b = check_input(inp)
    n = t.size
    if n == 0 or b <= 0:
        return Allocation(np.zeros(n), None, info={"funded": 0.0, "iterations": 0.0})
    _noise_and_sample(inp, t)      # validate threshold_sd and the sample either way
    s, q = _spread_and_q(inp, n, params)
    if flag(params, "shrink", True):
        t, s = shrink_inputs(inp, t, s)
    s = np.maximum(s, param(params, "min_spread", 0.05))
    dem = _Demand(t, s, q)
    hi = float(dem.abandon.max())          # nobody is funded at or above this price
    lo = float(dem.abandon.min()) - 1.0    # everybody is funded below this one
    step, it = 1.0, 0
    while dem.caps(lo)[0].sum() <= b and step < 1e6:
        hi, lo, step = lo, lo - step, step * 4.0   # loose budget: demand fits lower still
    while it < MAX_ITER and hi - lo > 1e-12 * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        if dem.caps(mid)[0].sum() <= b:
            hi = mid
        else:
            lo = mid
        it += 1
    caps, funded = dem.caps(hi)
    caps = spend_leftover(caps, funded, t, -dem.abandon, b)
    return Allocation(caps, float(np.exp(hi)),
                      info={"funded": float(funded.sum()), "iterations": float(it)})
