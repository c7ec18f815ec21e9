"""shadow-price: the shadow-price policy on any utility form of the registry.

``utility`` picks the form (:mod:`simulator.allocation.forms`):

* ``surge`` - model.md's reading, U = alpha x exp(-beta x): exactly ``clear`` (same solver,
  the paper's adaptive beta);
* ``surge-integral`` - the Fig. 2 reading, U = q (1 - (1 + beta x) exp(-beta x)): an
  S-curve whose marginal utility is the surge;
* ``logistic`` / ``lognormal`` - sigmoids in ln t.

Each S-shaped utility is solved exactly on its concave envelope
(:mod:`simulator.allocation.envelope`). ``beta_rule`` says where each query's curve sits:

* ``spread`` (default): every form is centred on the predicted threshold T (its median)
  with the width the predictor reports (``log_spread``; :func:`forms.lognormal_to`), so
  with exact thresholds (spread -> 0) the utility is a step at T and no margin past it
  is funded;
* ``paper``: the surge-integral starts at x = 0 at T and beta follows the paper's
  adaptive rule beta = kappa / (B / N), as ``clear`` does (surge forms only).

With ``shrink`` the thresholds and spreads are first deconvolved (empirical Bayes), as
``clear-calibrated`` does. With ``beta_rule: spread``, once the budget is ample (the
price has fallen below the plateau marginal of 30% of the funded queries, and the
batch's median predicted T is at most 0.6 B / N) each abandoned query gets that median T
as a floor, from the funded margins above T (:mod:`simulator.allocation.ample`).
``clear-integral`` is the same policy with
``utility: surge-integral, beta_rule: paper`` fixed (the paper's policy under the Fig. 2
reading; see docs/model-choices.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulator.allocation.ample import floor_abandoned, plateau_point
from simulator.allocation.envelope import Envelope, refill, solve_envelope
from simulator.allocation.forms import FORMS, get_form, lognormal_to
from simulator.allocation.shadow_price import solve_exact
from simulator.allocation.utility import adaptive_beta
from simulator.policies.base import (
    Allocation,
    AllocationInput,
    check_input,
    flag,
    param,
    register_policy,
)
from simulator.policies.calibrated import shrink_inputs

__all__ = ["BETA_RULES", "clear_integral", "shadow_price"]

BETA_RULES = ("spread", "paper")
FLOOR = 0.6      #: the largest floor per abandoned query, a share of B / N (0: none)
AMPLE = 0.3      #: share of funded queries at their plateau that makes a budget ample
REACH = 0.5      #: the floor is the predicted T of this quantile of the batch
PLATEAU_K = 2.0  #: the plateau point is T e^{k s} (as refill's)
PARAMS = ("utility", "beta_rule", "kappa", "alpha", "spread", "min_spread",
          "use_solvability", "shrink", "refill", "floor", "ample", "reach")


def _spread_q(inp: AllocationInput, n: int, params: Mapping[str, Any], name: str
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per-query spread (ln tokens) and plateau q, as clear-calibrated reads them."""
    if inp.log_spread is not None:
        s = np.asarray(inp.log_spread, dtype=np.float64)
    else:
        s = np.full(n, np.hypot(param(params, "spread", 0.25), inp.threshold_sd or 0.0))
    if s.shape != (n,) or not np.isfinite(s).all():
        raise ValueError(f"{name}: log_spread must be (N,) finite values")
    use_q = flag(params, "use_solvability", True)
    q = np.ones(n) if inp.solvability is None or not use_q \
        else np.asarray(inp.solvability, dtype=np.float64)
    if q.shape != (n,) or not np.isfinite(q).all():
        raise ValueError(f"{name}: solvability must be (N,) finite values")
    return s, np.clip(q, 1e-12, 1.0)


def allocate(inp: AllocationInput, params: Mapping[str, Any], name: str) -> Allocation:
    """The shared body of ``shadow-price`` and ``clear-integral`` (see the module doc)."""
    t, b = check_input(inp)
    n = t.size
    utility = str(params.get("utility", "surge-integral"))
    if utility not in FORMS:
        raise ValueError(f"{name}: unknown utility {utility!r}; valid: {', '.join(FORMS)}")
    rule = str(params.get("beta_rule", "spread"))
    if rule not in BETA_RULES:
        raise ValueError(f"{name}: unknown beta_rule {rule!r}; valid: {', '.join(BETA_RULES)}")
    kappa = param(params, "kappa", 1.0)
    alpha = param(params, "alpha", 2.0)
    min_spread = param(params, "min_spread", 0.001)
    if kappa <= 0 or alpha <= 0 or min_spread <= 0:
        raise ValueError(f"{name}: kappa, alpha and min_spread must be > 0")
    if not all(0.0 <= param(params, k, v) <= 1.0
               for k, v in (("floor", FLOOR), ("ample", AMPLE), ("reach", REACH))):
        raise ValueError(f"{name}: floor, ample and reach must be in [0, 1]")
    if utility == "surge":
        if rule != "paper":
            raise ValueError(f"{name}: utility surge takes beta_rule paper only (a "
                             "per-query beta makes its abandonment degenerate)")
        beta = adaptive_beta(t, b, kappa)
        sol = solve_exact(t, b, alpha, beta)
        return Allocation(sol.caps, sol.lam, info={"beta": beta,
                                                   "funded": float(sol.funded.sum())})
    if rule == "paper" and utility != "surge-integral":
        raise ValueError(f"{name}: beta_rule paper applies to the surge forms only, "
                         f"not {utility!r}")
    if n == 0 or b <= 0:
        return Allocation(np.zeros(n), None, info={"funded": 0.0, "iterations": 0.0})
    s, q = _spread_q(inp, n, params, name)
    if flag(params, "shrink", True):
        t, s = shrink_inputs(inp, t, s, name)
    steps = None
    if rule == "paper":
        s = np.maximum(s, min_spread)
        theta = np.stack([q, np.full(n, adaptive_beta(t, b, kappa)), t], axis=1)
    else:
        # A spread at or below the floor is an exact threshold: the query is the step
        # q 1[t >= T], so a batch of them is the knapsack on the known thresholds.
        exact = s <= min_spread
        s = np.maximum(s, min_spread)
        theta = lognormal_to(utility, q, t, s)
        steps = np.where(exact, t, np.nan) if exact.any() else None
    env = Envelope.of(get_form(utility), theta, steps, q)
    caps, lam, funded, it = solve_envelope(env, t, b)
    if flag(params, "refill", rule == "spread"):
        caps = refill(env, caps, t, s, b)
    most = param(params, "floor", FLOOR) * b / n
    if most > 0 and rule == "spread":
        floor = float(np.quantile(t, param(params, "reach", REACH)))
        if floor <= most:
            caps = floor_abandoned(caps, t, plateau_point(t, s, PLATEAU_K, env.step), b,
                                   floor, param(params, "ample", AMPLE),
                                   None if env.step is None else ~np.isfinite(env.step))
    return Allocation(caps, lam, info={"funded": float(funded.sum()), "iterations": float(it)})


@register_policy("shadow-price", params=PARAMS)
def shadow_price(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """Maximise sum_i U_i(t_i) under B for the utility form ``utility``.

    Params:
        utility: surge, surge-integral (default), logistic or lognormal.
        beta_rule: spread (default: the curve is centred on T with the predictor's
            spread) or paper (surge forms: x = t - T, beta = kappa / (B / N)).
        kappa: the paper rule's scarcity factor (default 1.0).
        alpha: surge velocity for utility surge (default 2.0; allocations ignore it).
        spread: within-query SD (ln tokens) when the predictor reports none (0.25).
        min_spread: floor on the spread (default 0.001, ln tokens). A query whose
            spread is at or below it (exact thresholds, K = 1) is the step q 1[t >= T]:
            funded at exactly T or abandoned, best q / T first (the knapsack on known
            thresholds); no margin past T is funded.
        use_solvability: use the predictor's q_i when given (default true).
        shrink: empirical-Bayes deconvolution of T when the predictor reports
            threshold_sd (default true; as in clear-calibrated).
        refill: fund abandoned queries that fit by trimming funded margins
            (:func:`simulator.allocation.envelope.refill`; default true with
            beta_rule spread, false with paper).
        floor: at an ample budget each abandoned query gets a floor of tokens taken
            from the funded caps' margins above T, if the floor is at most this share
            of B / N (default 0.6; 0 turns the rule off; beta_rule spread only;
            :mod:`simulator.allocation.ample`).
        ample: the budget is ample when at least this share of the funded queries
            have caps at or past their plateau point T e^{2 s}, i.e. the price is
            below their marginal utility there (default 0.3).
        reach: the floor is the predicted T of this quantile of the batch (default
            0.5: the median query's T).
    """
    return allocate(inp, params, "shadow-price")


@register_policy("clear-integral", params=("kappa", "use_solvability", "shrink"))
def clear_integral(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """The paper's policy under the Fig. 2 reading: the surge-integral, paper beta rule.

    Params: kappa (default 1.0), use_solvability (default true), shrink (default false:
    the paper does not deconvolve).
    """
    full = {"utility": "surge-integral", "beta_rule": "paper",
            "shrink": flag(params, "shrink", False), **params}
    return allocate(inp, full, "clear-integral")

