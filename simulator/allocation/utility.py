"""The shifted-surge utility of CLEAR and its closed-form best response.

For a query with predicted threshold T (tokens) and x = t - T:

    U(t) = alpha * x * exp(-beta * x)   for x > 0,   0 otherwise.

Phases: strict (t <= T, U = 0), surge (U rises with slope alpha at x = 0+), ample
(x > 1/beta, diminishing and then negative returns).

Best response to a shadow price lambda (tokens are bought at lambda utility each).
Write y = W0(lambda * e / alpha) in [0, 1) (principal Lambert-W). Then
``U'(x) = lambda`` on the concave branch at

    x*(y) = (1 - y) / beta,

and the net value of funding the query there is ``lambda * ((1 - y)^2 / (beta * y) - T)``
(derivation in docs/model-choices.md). So the query is funded iff

    beta * T < g(y),   g(y) = (1 - y)^2 / y,

which is the paper's rational abandonment. Parametrising by y instead of lambda keeps
the algebra free of alpha: alpha only rescales lambda = alpha * y * exp(y - 1), which is
why allocations are invariant to alpha (paper Fig. 8).
"""

from __future__ import annotations

import numpy as np
from scipy.special import lambertw

__all__ = [
    "adaptive_beta",
    "breakpoint_y",
    "lam_from_y",
    "surge_utility",
    "y_from_lam",
]


def surge_utility(t: np.ndarray, thresholds: np.ndarray, alpha: float,
                  beta: np.ndarray | float) -> np.ndarray:
    """U(t) elementwise (utility units).

    Args:
        t: caps in tokens.
        thresholds: predicted thresholds T in tokens.
        alpha: surge velocity (utility per token at x = 0+).
        beta: decay rate per token (scalar or per query).
    """
    x = np.asarray(t, dtype=np.float64) - np.asarray(thresholds, dtype=np.float64)
    xp = np.maximum(x, 0.0)
    return np.where(x > 0, alpha * xp * np.exp(-np.asarray(beta) * xp), 0.0)


def y_from_lam(lam: float, alpha: float) -> float:
    """y = W0(lambda * e / alpha), clipped to [0, 1] (lambda >= alpha gives 1)."""
    if lam <= 0:
        return 0.0
    if lam >= alpha:
        return 1.0
    return float(np.real(lambertw(lam * np.e / alpha)))


def lam_from_y(y: float, alpha: float) -> float:
    """The shadow price lambda = alpha * y * exp(y - 1) for y in [0, 1]."""
    return float(alpha * y * np.exp(y - 1.0))


def breakpoint_y(a: np.ndarray) -> np.ndarray:
    """For a = beta * T > 0, the y at which the query is abandoned: g(y) = a.

    The smaller root of y^2 - (2 + a) y + 1 = 0, written as 2 / ((2 + a) + sqrt(a^2 + 4a))
    to avoid cancellation. Decreasing in a: longer thresholds are abandoned first.
    """
    a = np.asarray(a, dtype=np.float64)
    return 2.0 / ((2.0 + a) + np.sqrt(a * a + 4.0 * a))


def adaptive_beta(thresholds: np.ndarray, budget: float, kappa: float) -> float:
    """The adaptive beta rule: beta = kappa / (mean budget per query), per token.

    The surge window 1/beta then spans kappa^-1 mean budgets: under scarcity funded
    queries get little beyond their threshold, under plenty they get a wide margin
    against predictor error. A per-query rule beta_i = kappa / T_i would make
    beta_i * T_i constant, so every query would be abandoned at the same price
    (see docs/model-choices.md); one beta per solve keeps abandonment ordered by T.
    """
    n = max(int(np.size(thresholds)), 1)
    mean_budget = max(float(budget) / n, 1.0)
    return float(kappa) / mean_budget
