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

import math
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from simulator.allocation.utility import breakpoint_y, lam_from_y, y_from_lam

__all__ = ["LARGE", "Solution", "solve_bisection", "solve_exact", "spend_leftover"]

LARGE = 1 << 16
"""Above this many queries :func:`solve_exact` brackets lambda* with a histogram instead
of sorting every query (no test, policy run or DES tick of the bundled scenarios
comes near it, so their caps are those of the sorted path bit for bit)."""
SMALL = 16
"""Up to this many queries :func:`solve_exact` and :func:`spend_leftover` run in plain
Python on floats (a DES tick decides a handful of queries; numpy's per-call overhead
would dominate). The arithmetic is the array path's, operation for operation,
including numpy's summation order, so the results are the same bit for bit
(``tests/test_solver_small.py``)."""
_BIN_SHIFT = 44   #: histogram of a by its float64 bit pattern >> 44: 256 bins per octave
_MAX_BINS = 1 << 20


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
    if n <= SMALL and isinstance(beta, float | int):   # a scalar: no broadcast view
        if not (math.isfinite(beta) and beta > 0) and n:
            raise ValueError("beta must be finite and > 0 per token")
        return np.full(n, float(beta))
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
    if caps.size <= SMALL:
        small = _spend_leftover_small(caps.tolist(), funded.tolist(), thresholds.tolist(),
                                      a.tolist(), budget)
        if small is not None:
            return np.array(small, dtype=np.float64)
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

    Above :data:`LARGE` queries the full sort is skipped (:func:`_solve_binned`): a
    histogram of a = beta T brackets the crossing and only the few queries in that
    bracket are sorted. The allocation is the same; its prefix sums are added in
    another order, so caps agree with the sorted path to float rounding.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    n = t.size
    if 0 < n <= SMALL:
        if isinstance(beta, (float, int)):  # noqa: UP038 (a tuple: no union built per call)
            if not (math.isfinite(beta) and beta > 0):
                raise ValueError("beta must be finite and > 0 per token")
            b_small = [float(beta)] * n
        else:
            b_small = _as_beta(beta, n).tolist()
        return _solve_small(t.tolist(), b_small, float(budget), alpha)
    b = _as_beta(beta, n)
    a = b * t
    if n > LARGE and budget > 0:
        sol = _solve_binned(t, b, a, float(budget), alpha)
        if sol is not None:
            return sol
    return _solve_sorted(t, b, a, budget, alpha)


def _solve_sorted(t: np.ndarray, b: np.ndarray, a: np.ndarray, budget: float,
                  alpha: float) -> Solution:
    """:func:`solve_exact` by one full stable sort of a (every N; the reference)."""
    n = t.size
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



def _solve_binned(t: np.ndarray, b: np.ndarray, a: np.ndarray, budget: float,
                  alpha: float) -> Solution | None:
    """:func:`solve_exact` for large N without a full sort, or None to fall back.

    For a > 0 the int64 view of a float64 orders like its value, so ``bits >> 44``
    puts every query in a bin of width 2^-8 octave, in a's order. Per-bin sums of T
    and 1/beta give lower and upper bounds of D just above each bin (from the bin's
    edges); the bins between the first whose upper bound reaches B and the first
    whose lower bound exceeds it hold the crossing, and only their queries are sorted
    (stably, so ties go to the lowest index as in the sorted path). Every condition
    the sorted path would meet differently (a tie of breakpoints across the bracket,
    a crossing outside it after rounding, odd inputs) returns None.
    """
    n = t.size
    if not (a.min() > 0 and a.max() < np.inf):
        return None
    key = a.view(np.int64) >> _BIN_SHIFT
    k0 = int(key.min())
    key -= k0
    m = int(key.max()) + 1
    if m > _MAX_BINS:
        return None
    inv_b = 1.0 / b
    count = np.cumsum(np.bincount(key, minlength=m))
    st = np.cumsum(np.bincount(key, weights=t, minlength=m))
    si = np.cumsum(np.bincount(key, weights=inv_b, minlength=m))
    edges = (np.arange(k0, k0 + m + 1, dtype=np.int64) << _BIN_SHIFT).view(np.float64)
    bp_edge = breakpoint_y(edges)            # bin j holds a in [edges[j], edges[j + 1])
    # D just above the largest a in bins <= j lies in [lower, upper) when bin j is
    # non-empty (and below upper when it is empty); upper is non-decreasing.
    lower = st + (1.0 - bp_edge[:-1]) * si
    upper = st + (1.0 - bp_edge[1:]) * si
    lo_bin = min(int(np.searchsorted(upper, budget * (1.0 - 1e-9), side="left")), m - 1)
    filled = np.diff(count, prepend=0) > 0
    past = np.flatnonzero(filled & (lower > budget * (1.0 + 1e-9)))
    past = past[past >= lo_bin]
    hi_bin = int(past[0]) if past.size else m - 1
    sel = np.flatnonzero((key >= lo_bin) & (key <= hi_bin))
    base = int(count[lo_bin - 1]) if lo_bin > 0 else 0
    pt0 = float(st[lo_bin - 1]) if lo_bin > 0 else 0.0
    pi0 = float(si[lo_bin - 1]) if lo_bin > 0 else 0.0
    order = sel[np.argsort(a[sel], kind="stable")]
    ys = breakpoint_y(a[order])
    pt = pt0 + np.concatenate(([0.0], np.cumsum(t[order])))
    pi = pi0 + np.concatenate(([0.0], np.cumsum(inv_b[order])))
    last = base + sel.size == n
    d_right = pt[1:] + (1.0 - ys) * pi[1:]   # D just above each selected query
    k = int(np.searchsorted(d_right, budget, side="left"))  # selected queries funded
    if base > 0 and pt[0] + (1.0 - bp_edge[lo_bin]) * pi[0] >= budget:
        return None                          # the crossing lies below the bracket
    if k == sel.size and not last:
        return None                          # ... or above it
    y_left = float(ys[k]) if k < sel.size else 0.0
    d_left = pt[k] + (1.0 - y_left) * pi[k]
    if d_left <= budget:
        y = y_left
        if k == sel.size:
            kept = n
        else:
            inside = int(np.count_nonzero(ys > y))
            if inside == 0 and base > 0 and \
                    not breakpoint_y(np.array([a[key < lo_bin].max()]))[0] > y:
                return None                  # breakpoints tie across the bracket edge
            kept = base + inside
    else:
        y = 1.0 - (budget - pt[k]) / pi[k]
        kept = base + k
    funded = key < lo_bin
    funded[order[:kept - base]] = True
    caps = np.where(funded, t + (1.0 - y) / b, 0.0)
    return Solution(spend_leftover(caps, funded, t, a, budget), lam_from_y(y, alpha), funded, 1)


def _np_sum(xs: list[float]) -> float:
    """``float(np.sum(xs))`` for up to 127 floats: numpy's pairwise sum, which below
    128 elements is a plain loop under 8 and eight interleaved accumulators above."""
    n = len(xs)
    if n < 8:
        res = -0.0
        for x in xs:
            res += x
        return res
    r = xs[:8]
    i, stop = 8, n - n % 8
    while i < stop:
        for j in range(8):
            r[j] += xs[i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for x in xs[stop:]:
        res += x
    return res


def _spend_leftover_small(caps: list[float], funded: list[bool], thresholds: list[float],
                          a: list[float], budget: float) -> list[float] | None:
    """:func:`spend_leftover` on Python lists (same operations, same order), or None
    for non-finite input (where numpy's NaN ordering would have to be copied too)."""
    if not all(map(math.isfinite, caps)) or not all(map(math.isfinite, a)):
        return None
    caps = list(caps)
    left = float(budget) - _np_sum(caps)
    if left <= 0 or not caps:
        return caps
    j = -1
    for i, f in enumerate(funded):        # the first smallest a among the unfunded
        if not f and (j < 0 or a[i] < a[j]):
            j = i
    n_funded = sum(funded)
    if j >= 0 and left > thresholds[j]:
        caps[j] = left
    elif n_funded:
        share = left / n_funded
        caps = [c + share if f else c for c, f in zip(caps, funded, strict=True)]
    elif j >= 0:
        caps[j] = left
    over = _np_sum(caps) - float(budget)
    if over > 0:
        k = max(range(len(caps)), key=caps.__getitem__)   # first largest
        caps[k] = max(caps[k] - over, 0.0)
    return caps


def _solve_small(t: list[float], b: list[float], budget: float, alpha: float) -> Solution:
    """:func:`_solve_sorted` for a few queries on Python floats (bit for bit)."""
    n = len(t)
    a = [bi * ti for bi, ti in zip(b, t, strict=True)]
    if not all(map(math.isfinite, a)):
        ta, ba = np.array(t), np.array(b)
        return _solve_sorted(ta, ba, ba * ta, budget, alpha)
    order = sorted(range(n), key=a.__getitem__)          # stable, as kind="stable"
    ys = [2.0 / ((2.0 + a[i]) + math.sqrt(a[i] * a[i] + 4.0 * a[i])) for i in order]
    pt, pi = [0.0, t[order[0]]], [0.0, 1.0 / b[order[0]]]
    for i in order[1:]:                                  # cumsum: sequential
        pt.append(pt[-1] + t[i])
        pi.append(pi[-1] + 1.0 / b[i])
    if budget <= 0:
        return Solution(np.zeros(n), lam_from_y(ys[0], alpha), np.zeros(n, dtype=bool), 1)
    d_right = [p + (1.0 - yr) * q for p, yr, q in zip(pt, [1.0, *ys], pi, strict=True)]
    k = bisect_left(d_right, budget) - 1                 # numpy's binary search, too
    y_left_k = ys[k] if k < n else 0.0
    d_left = pt[k] + (1.0 - y_left_k) * pi[k]
    if d_left <= budget:
        y = y_left_k
        kept = k if k == n else sum(1 for v in ys if v > y)
    else:
        y = 1.0 - (budget - pt[k]) / pi[k]
        kept = k
    funded = [False] * n
    for i in order[:kept]:
        funded[i] = True
    caps = [t[i] + (1.0 - y) / b[i] if funded[i] else 0.0 for i in range(n)]
    spent = _spend_leftover_small(caps, funded, t, a, budget)
    if spent is None:
        out = spend_leftover(np.array(caps), np.array(funded), np.array(t), np.array(a), budget)
    else:
        out = np.array(spent, dtype=np.float64)
    return Solution(out, lam_from_y(y, alpha), np.array(funded), 1)
