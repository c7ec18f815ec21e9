"""The oracle upper bound: true thresholds, solvable queries only, greedy fill.

With K = 1 rollout per query (the paper's greedy pools) each query's S-curve is one
step at tau_i, and the rule is exactly the paper's: fund solvable queries shortest
first while the budget lasts, which maximises the number solved under B.

With K > 1 the S-curve A_i(t) has several steps. We fill greedily along each query's
upper concave envelope (best accuracy gained per token first, skipping a segment that
no longer fits); for K = 1 this reduces to shortest-first. If no curves are given the
K = 1 rule is applied to ``true_tau``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulator.policies.base import Allocation, AllocationInput, check_input, register_policy

Segment = tuple[float, float, int]  #: (cost in tokens, gain in accuracy, query index)


def upper_hull(xs: np.ndarray, ys: np.ndarray) -> list[int]:
    """Indices of the upper concave envelope of points sorted by ``xs`` (monotone chain)."""
    hull = [0]
    for j in range(1, xs.size):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (xs[b] - xs[a]) * (ys[j] - ys[a]) - (ys[b] - ys[a]) * (xs[j] - xs[a]) >= 0:
                hull.pop()
            else:
                break
        hull.append(j)
    return hull


def hull_segments(xs: np.ndarray, ys: np.ndarray, query: int) -> list[Segment]:
    """The rising edges of the envelope of one curve through (0, 0) and (xs, ys)."""
    px = np.concatenate(([0.0], xs))
    py = np.concatenate(([0.0], ys))
    hull = upper_hull(px, py)
    return [(px[b] - px[a], py[b] - py[a], query)
            for a, b in zip(hull[:-1], hull[1:], strict=True) if py[b] > py[a]]


def greedy_fill(segs: list[Segment], n: int, budget: float) -> np.ndarray:
    """Buy segments best gain per token first; a query stops at its first misfit.

    Each query's envelope edges have decreasing slope, so the global order respects
    each query's own order.

    Returns:
        (n,) caps in tokens, summing to at most ``budget``.
    """
    segs = sorted(segs, key=lambda s: (-s[1] / s[0], s[0], s[2]))
    caps = np.zeros(n)
    blocked = np.zeros(n, dtype=bool)
    left = budget
    for cost, _gain, i in segs:
        if blocked[i]:
            continue
        if cost <= left:
            caps[i] += cost
            left -= cost
        else:
            blocked[i] = True  # later edges of i need this one first
    return caps


def _step_curve_segments(lengths: np.ndarray, good: np.ndarray) -> list[Segment]:
    """Envelope edges of every query's empirical S-curve A_i(t) (padding has length 0)."""
    segs: list[Segment] = []
    for i in range(lengths.shape[0]):
        ls = np.sort(lengths[i][good[i]].astype(np.float64))
        if ls.size == 0:
            continue
        k = max(int(np.count_nonzero(lengths[i] > 0)), 1)
        xs = np.unique(ls)
        segs += hull_segments(xs, np.searchsorted(ls, xs, side="right") / k, i)
    return segs


@register_policy("oracle", curves=True)
def oracle(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """Upper bound using the true S-curves (``curves``) or true thresholds."""
    t, b = check_input(inp)
    n = t.size
    caps = np.zeros(n)
    if inp.curves is None:
        if inp.true_tau is None:
            raise ValueError("oracle: needs true_tau or curves (the pool's rollouts)")
        tau = np.asarray(inp.true_tau, dtype=np.float64)
        order = np.argsort(tau, kind="stable")
        n_fit = int(np.searchsorted(np.cumsum(tau[order]), b, side="right"))
        caps[order[:n_fit]] = tau[order[:n_fit]]
        return Allocation(caps)
    lengths, good = inp.curves
    segs = _step_curve_segments(np.asarray(lengths), np.asarray(good, dtype=bool))
    return Allocation(greedy_fill(segs, n, b))
