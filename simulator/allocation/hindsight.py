"""The offline optimum of one run: the most correct answers the bank's accrual can pay for.

In hindsight every query's outcome under a cap is known: the run replays one fixed
rollout per query (common random numbers), so query i is correct under cap c iff that
rollout is graded correct and its length l_i <= c, and it then generates exactly l_i
tokens. Each query is decided at the latest at its decision time d_i (its tick, or its
arrival for a policy that decides at arrival). A run can never take more from the bank
by time t than it received, F0 + rho * t (the initial fill plus the accrual, before the
bank's cap, which only loses tokens). So every policy's correct set S satisfies

    sum over i in S with d_i <= t of l_i  <=  F0 + rho * t      for every t,       (*)

and the hindsight bound is the largest S of eligible queries (graded correct, l_i <= L_max)
obeying (*). This is exactly the single-machine problem of maximising the number of jobs
on time (job i: processing time l_i, due date F0 + rho * d_i; a set is on time in
due-date order iff (*) holds), which the Moore-Hodgson rule solves exactly: take the
queries in order of d_i, and whenever the running total exceeds the accrual at d_i,
drop the longest one taken so far. O(n log n); the optimum, not a relaxation of it.

Why not the window constraint too: the bank caps only its *free* tokens (reserved ones,
granted to running queries, do not count; docs/simulator.md), so a policy can hold
tokens past the cap in a long query's unused cap and get them back later. A constraint
"spend in (s, t] <= rho * W + rho * (t - s)" can therefore be broken by a real run and
would not give an upper bound; (*) cannot be.
"""

from __future__ import annotations

import heapq

import numpy as np

__all__ = ["max_funded"]


def max_funded(decide: np.ndarray, cost: np.ndarray, eligible: np.ndarray,
               initial: float, rate: float) -> np.ndarray:
    """The largest set of eligible queries whose costs obey the accrual bound (*).

    Args:
        decide: (n,) decision times d_i (s).
        cost: (n,) tokens each query needs to be correct (its rollout's length).
        eligible: (n,) bool: the query can be correct at all.
        initial: tokens in the bank at t = 0 (F0).
        rate: accrual rho (tokens/s); ``inf`` for an unlimited budget.

    Returns:
        (n,) bool, the funded queries (a maximum-cardinality feasible set; ties between
        equal costs go to the earlier query in decision order).
    """
    decide = np.asarray(decide, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    ok = np.asarray(eligible, dtype=bool)
    chosen = np.zeros(decide.size, dtype=bool)
    if rate == np.inf:
        return ok.copy()
    order = np.argsort(decide, kind="stable")
    heap: list[tuple[float, int]] = []   # (-cost, -position): drops the longest, latest
    total = 0.0
    for pos, i in enumerate(order.tolist()):
        if not ok[i]:
            continue
        heapq.heappush(heap, (-float(cost[i]), -pos))
        chosen[i] = True
        total += float(cost[i])
        limit = initial + rate * float(decide[i])
        while total > limit + 1e-9 * max(1.0, limit):
            c, p = heapq.heappop(heap)
            chosen[order[-p]] = False
            total += c
    return chosen
