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


def _hull_segments(lengths: np.ndarray, good: np.ndarray) -> list[tuple[float, float, int]]:
    """Segments (cost in tokens, gain in accuracy, query) of every query's concave hull.

    The hull of the step curve A_i(t) is taken over its corner points (l, A(l)) from
    (0, 0); each hull edge becomes one segment, to be bought in order per query.
    """
    segs: list[tuple[float, float, int]] = []
    n, k = lengths.shape
    for i in range(n):
        ls = np.sort(lengths[i][good[i]].astype(np.float64))
        if ls.size == 0:
            continue
        pts_x = np.concatenate(([0.0], np.unique(ls)))
        pts_y = np.concatenate(([0.0], [np.count_nonzero(ls <= x) for x in pts_x[1:]]))
        pts_y = pts_y / k_of(lengths[i], good[i], k)
        hull = [0]
        for j in range(1, pts_x.size):  # upper hull, monotone chain
            while len(hull) >= 2:
                a, b = hull[-2], hull[-1]
                cross = (pts_x[b] - pts_x[a]) * (pts_y[j] - pts_y[a]) - \
                        (pts_y[b] - pts_y[a]) * (pts_x[j] - pts_x[a])
                if cross >= 0:
                    hull.pop()
                else:
                    break
            hull.append(j)
        for a, b in zip(hull[:-1], hull[1:], strict=True):
            segs.append((pts_x[b] - pts_x[a], pts_y[b] - pts_y[a], i))
    return segs


def k_of(lengths_row: np.ndarray, good_row: np.ndarray, k: int) -> int:
    """Rollouts per query: padded rows mark missing rollouts with length 0."""
    return max(int(np.count_nonzero(lengths_row > 0)), 1)


@register_policy("oracle")
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
    segs = _hull_segments(np.asarray(lengths), np.asarray(good, dtype=bool))
    # Best gain per token first; a query's hull edges have decreasing slope, so the
    # global order respects each query's own order.
    segs.sort(key=lambda s: (-s[1] / s[0], s[0], s[2]))
    left = b
    blocked = np.zeros(n, dtype=bool)
    for cost, _gain, i in segs:
        if blocked[i]:
            continue
        if cost <= left:
            caps[i] += cost
            left -= cost
        else:
            blocked[i] = True  # later edges of i need this one first
    return Allocation(caps)
