"""Benchmark: shadow-price solve time, reference bisection vs the exact solver.

Prints one row per N with the median CPU time (``time.process_time``) of each solver
over a few repeats, alternating the two, and their ratio, all from this one run:

* ``bisection_s`` - :func:`solve_bisection`, the paper's plain numpy bisection (at most
  40 halvings, stopping at a bracket of ``1e-6 * alpha``);
* ``exact_s`` - :func:`solve_exact` (above ``LARGE`` queries: a histogram bracket and a
  sort of the few queries in it, instead of a sort of all of them);
* ``max_cap_diff`` / ``caps_off_by_1tok`` - exact vs bisection (bisection resolves
  lambda to its tolerance only, so with dense breakpoints it may fund another marginal
  query); ``vs_converged`` / ``off_converged`` - the same against the bisection run to
  convergence (200 halvings, no tolerance): the caps ``solve_exact`` must equal;
  ``vs_sorted`` - the largest cap difference between ``solve_exact`` and the full-sort
  path (float rounding of the prefix sums only).

Targets: solve_exact >= 3x the bisection at N = 1e6 (issue 16); N = 500 under 2 ms.

Usage: python bench/solver.py [--sizes 500,1000,10000,100000,1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from simulator.allocation.shadow_price import (
    _as_beta,
    _solve_sorted,
    solve_bisection,
    solve_exact,
)
from simulator.allocation.utility import adaptive_beta


def _cpu(fn: object, args: tuple[object, ...]) -> float:
    t0 = time.process_time()
    fn(*args)  # type: ignore[operator]
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,1000,10000,100000,1000000")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--mean-budget", type=float, default=256.0, help="tokens per query")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'N':>9} {'bisection_s':>12} {'exact_s':>10} {'ratio':>7} {'max_cap_diff':>13} "
          f"{'caps_off_by_1tok':>16} {'vs_converged':>13} {'off_converged':>13} "
          f"{'vs_sorted':>10}")
    for n in (int(float(s)) for s in args.sizes.split(",")):
        t = np.exp(rng.normal(6.5, 1.0, n))  # thresholds in tokens, median ~ 665
        b = args.mean_budget * n
        beta = adaptive_beta(t, b, 1.0)
        solve_exact(t, b, 2.0, beta)  # warm caches
        tb, te = [], []
        for _ in range(args.repeats):  # alternate, so both see the same machine load
            tb.append(_cpu(solve_bisection, (t, b, 2.0, beta)))
            te.append(_cpu(solve_exact, (t, b, 2.0, beta)))
        mb, me = float(np.median(tb)), float(np.median(te))
        ex = solve_exact(t, b, 2.0, beta).caps
        delta = np.abs(ex - solve_bisection(t, b, 2.0, beta).caps)
        conv = np.abs(ex - solve_bisection(t, b, 2.0, beta, iterations=200, eps=0.0).caps)
        bb = _as_beta(beta, n)
        vs_sorted = float(np.abs(ex - _solve_sorted(t, bb, bb * t, b, 2.0).caps).max())
        print(f"{n:>9} {mb:>12.6f} {me:>10.6f} {mb / max(me, 1e-9):>7.2f} {delta.max():>13.3g} "
              f"{int((delta > 1).sum()):>16} {conv.max():>13.3g} {int((conv > 1).sum()):>13} "
              f"{vs_sorted:>10.3g}", flush=True)


if __name__ == "__main__":
    main()
