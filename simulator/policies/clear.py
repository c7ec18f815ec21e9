"""CLEAR: the shadow-price policy (model.md section 3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulator.allocation.shadow_price import solve_bisection, solve_exact
from simulator.allocation.utility import adaptive_beta
from simulator.policies.base import (
    Allocation,
    AllocationInput,
    check_input,
    param,
    register_policy,
)

SOLVERS = ("exact", "bisection")


def clear_beta(t: np.ndarray, b: float, params: Mapping[str, Any]) -> float:
    """beta from params: a fixed ``beta`` > 0, else the adaptive rule with ``kappa``."""
    fixed = param(params, "beta", 0.0)
    if fixed < 0:
        raise ValueError("clear: beta must be > 0 (or 0 for the adaptive rule)")
    if fixed > 0:
        return fixed
    kappa = param(params, "kappa", 1.0)
    if kappa <= 0:
        raise ValueError("clear: kappa must be > 0")
    return adaptive_beta(t, b, kappa)


@register_policy("clear", params=("alpha", "beta", "kappa", "solver"))
def clear(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """Maximise sum of shifted-surge utilities under B via one global shadow price.

    Params:
        alpha: surge velocity (default 2.0, the paper's).
        beta: fixed decay per token; 0 (default) selects the adaptive rule.
        kappa: adaptive rule beta = kappa / (B / N) (default 1.0).
        solver: "exact" (default, sorted breakpoints) or "bisection" (the paper's).
    """
    t, b = check_input(inp)
    alpha = param(params, "alpha", 2.0)
    if alpha <= 0:
        raise ValueError("clear: alpha must be > 0")
    beta = clear_beta(t, b, params)
    solver = str(params.get("solver", "exact"))
    if solver == "exact":
        sol = solve_exact(t, b, alpha, beta)
    elif solver == "bisection":
        sol = solve_bisection(t, b, alpha, beta)
    else:
        raise ValueError(f"clear: unknown solver {solver!r}; valid: {', '.join(SOLVERS)}")
    return Allocation(sol.caps, sol.lam,
                      info={"beta": beta, "funded": float(np.count_nonzero(sol.funded)),
                            "iterations": float(sol.iterations)})
