"""The pure numpy maths that allocation policies call.

- :mod:`.utility` - the shifted-surge utility and its closed-form best response;
- :mod:`.shadow_price` - the exact and bisection shadow-price solvers, leftover spending;
- :mod:`.deconvolve` - empirical-Bayes deconvolution of noisy thresholds.

The registry of policies built on these is :mod:`simulator.policies`. Nothing here
imports SimPy, the engine, sweeps, the CLI or reports.
"""

from simulator.allocation.deconvolve import Prior, fit_prior, posterior
from simulator.allocation.shadow_price import (
    Solution,
    solve_bisection,
    solve_exact,
    spend_leftover,
)
from simulator.allocation.utility import adaptive_beta

__all__ = ["Prior", "Solution", "adaptive_beta", "fit_prior", "posterior", "solve_bisection",
           "solve_exact", "spend_leftover"]
