"""Benchmark: shadow-price solve time, reference bisection vs the exact solver.

Prints one row per N with the median wall time of each solver over a few repeats and
their ratio, all from this one run. Targets (issue 2): N = 1e6 under 1 s and N = 500
under 2 ms for the exact solver on a 2-core machine.

Usage: python bench/solver.py [--sizes 500,1000,10000,100000,1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from simulator.allocation.shadow_price import solve_bisection, solve_exact
from simulator.allocation.utility import adaptive_beta


def _median_time(fn: Callable[..., object], args: tuple[object, ...], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="500,1000,10000,100000,1000000")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--mean-budget", type=float, default=256.0, help="tokens per query")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'N':>9} {'bisection_s':>12} {'exact_s':>10} {'ratio':>7} {'max_cap_diff':>13} {'caps_off_by_1tok':>16}")
    for n in (int(float(s)) for s in args.sizes.split(",")):
        t = np.exp(rng.normal(6.5, 1.0, n))  # thresholds in tokens, median ~ 665
        b = args.mean_budget * n
        beta = adaptive_beta(t, b, 1.0)
        solve_exact(t, b, 2.0, beta)  # warm caches
        tb = _median_time(solve_bisection, (t, b, 2.0, beta), args.repeats)
        te = _median_time(solve_exact, (t, b, 2.0, beta), args.repeats)
        # Bisection resolves lambda to eps * alpha only: with dense breakpoints (large N)
        # it may fund a different marginal query, so count caps that differ by > 1 token.
        delta = np.abs(solve_exact(t, b, 2.0, beta).caps - solve_bisection(t, b, 2.0, beta).caps)
        print(f"{n:>9} {tb:>12.6f} {te:>10.6f} {tb / te:>7.2f} {delta.max():>13.3g} "
              f"{int((delta > 1).sum()):>16}")


if __name__ == "__main__":
    main()
