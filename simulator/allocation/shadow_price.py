"""Shadow-price solvers: find lambda* and the caps it implies under a total budget B.

Problem: maximise sum_i U_i(t_i) s.t. sum_i t_i <= B, t_i >= 0, with the shifted-surge
utility of :mod:`simulator.allocation.utility`. Each query best-responds to the price lambda;
demand D(lambda) is non-increasing with a jump each time a query is abandoned, and
lambda* is the smallest price with D(lambda*) <= B.

Two solvers give the same allocation:

* :func:`solve_bisection` - the paper's reference: bisection on lambda in [0, alpha],
  at most 40 iterations, stopping when the bracket is below ``eps * alpha``.
* :func:`solve_exact` - sorted breakpoints: one sort and prefix sums give D on each
  interval between abandonment points in closed form, so lambda* is exact. O(N log N).

Both spend the budget left below B after the demand jump (:func:`spend_leftover`),
so none of B is wasted when a whole query cannot be afforded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.allocation.utility import breakpoint_y, lam_from_y, y_from_lam

__all__ = ["Solution", "solve_bisection", "solve_exact", "spend_leftover"]


@dataclass(frozen=True)
class Solution:
    """A solved allocation.

    Attributes:
        caps: (N,) caps in tokens, ``caps.sum() <= budget``.
        lam: the shadow price lambda* (utility per token).
        funded: (N,) bool, funded at the price (before leftover spending).
        iterations: solver iterations (bisection) or 1 (exact).
    """

    caps: np.ndarray
    lam: float
    funded: np.ndarray
    iterations: int


def _as_beta(beta: np.ndarray | float, n: int) -> np.ndarray:
    b = np.broadcast_to(np.asarray(beta, dtype=np.float64), (n,))
    if n and not (np.isfinite(b).all() and (b > 0).all()):
        raise ValueError("beta must be finite and > 0 per token")
    return b


def spend_leftover(caps: np.ndarray, funded: np.ndarray, thresholds: np.ndarray,
                   a: np.ndarray, budget: float) -> np.ndarray:
    """Spend ``budget - caps.sum()`` instead of wasting it.

    The marginal query is the unfunded one that the price would fund next (smallest
    a = beta * T; lowest index on ties). If the leftover exceeds its threshold it is
    funded with the whole leftover (it reaches its surge phase). Otherwise the leftover
    is split equally among funded queries; with none funded it goes to the marginal one.

    Returns:
        new caps (a copy) with ``sum <= budget``.
    """
    caps = caps.copy()
    left = float(budget) - float(caps.sum())
    if left <= 0 or caps.size == 0:
        return caps
    unfunded = np.flatnonzero(~funded)
    j = int(unfunded[np.argmin(a[unfunded])]) if unfunded.size else -1
    if j >= 0 and left > thresholds[j]:
        caps[j] = left
    elif funded.any():
        caps[funded] += left / int(funded.sum())
    elif j >= 0:
        caps[j] = left
    # Float rounding may overshoot B by an ulp; trim the largest cap.
    over = float(caps.sum()) - float(budget)
    if over > 0:
        k = int(np.argmax(caps))
        caps[k] = max(caps[k] - over, 0.0)
    return caps


def _demand(lam: float, t: np.ndarray, alpha: float, beta: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Best-response caps at price ``lam`` computed from the net value directly."""
    y = y_from_lam(lam, alpha)
    x = (1.0 - y) / beta
    cap = t + x
    net = alpha * x * np.exp(-beta * x) - lam * cap
    funded = (net > 0) if lam > 0 else np.ones(t.size, dtype=bool)
    if y >= 1.0:
        funded = np.zeros(t.size, dtype=bool)
    return np.where(funded, cap, 0.0), funded


def solve_bisection(thresholds: np.ndarray, budget: float, alpha: float = 2.0,
                    beta: np.ndarray | float = 1e-3, iterations: int = 40,
                    eps: float = 1e-6) -> Solution:
    """The paper's reference solver: bisection on lambda in [0, alpha].

    Args:
        thresholds: (N,) predicted thresholds T_i in tokens (> 0).
        budget: total budget B in tokens.
        alpha: surge velocity (default 2.0, the paper's).
        beta: decay per token, scalar or (N,).
        iterations: at most this many halvings (paper: 40).
        eps: stop once the bracket is below ``eps * alpha`` (paper: 1e-6); relative to
            alpha so that scaling alpha scales lambda* and leaves caps unchanged.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    b = _as_beta(beta, t.size)
    a = b * t
    caps, funded = _demand(0.0, t, alpha, b)
    if caps.sum() <= budget:
        return Solution(spend_leftover(caps, funded, t, a, budget), 0.0, funded, 0)
    lo, hi, it = 0.0, float(alpha), 0
    while it < iterations and hi - lo > eps * alpha:
        mid = 0.5 * (lo + hi)
        if _demand(mid, t, alpha, b)[0].sum() <= budget:
            hi = mid
        else:
            lo = mid
        it += 1
    caps, funded = _demand(hi, t, alpha, b)
    return Solution(spend_leftover(caps, funded, t, a, budget), hi, funded, it)


def solve_exact(thresholds: np.ndarray, budget: float, alpha: float = 2.0,
                beta: np.ndarray | float = 1e-3) -> Solution:
    """Exact solver from sorted abandonment breakpoints (same contract as bisection).

    In y = W0(lambda e / alpha), query i is funded iff y < Y_i = breakpoint_y(beta_i T_i).
    Sorting by Y descending, with k queries funded the demand is
    ``PT[k] + (1 - y) * PI[k]`` (prefix sums of T and 1/beta): linear in y on each
    interval, so the smallest y with D(y) <= B is found by one searchsorted.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    n = t.size
    b = _as_beta(beta, n)
    a = b * t
    funded = np.zeros(n, dtype=bool)
    if n == 0:
        return Solution(np.zeros(0), 0.0, funded, 1)
    order = np.argsort(a, kind="stable")
    ys = breakpoint_y(a[order])                      # descending
    pt = np.concatenate(([0.0], np.cumsum(t[order])))
    pi = np.concatenate(([0.0], np.cumsum(1.0 / b[order])))
    y_right = np.concatenate(([1.0], ys))            # region k: y in [ys[k], y_right[k])
    y_left = np.concatenate((ys, [0.0]))
    d_right = pt + (1.0 - y_right) * pi              # infimum of D on region k
    if budget <= 0:
        return Solution(np.zeros(n), lam_from_y(float(ys[0]), alpha), funded, 1)
    k = int(np.searchsorted(d_right, budget, side="left")) - 1   # largest k: d_right < B
    d_left = pt[k] + (1.0 - y_left[k]) * pi[k]
    if d_left <= budget:
        y = float(y_left[k])
        kept = k if k == n else int(np.count_nonzero(ys > y))
    else:
        y = 1.0 - (budget - pt[k]) / pi[k]
        kept = k
    funded[order[:kept]] = True
    caps = np.where(funded, t + (1.0 - y) / b, 0.0)
    return Solution(spend_leftover(caps, funded, t, a, budget), lam_from_y(y, alpha), funded, 1)

