"""The tick budget B: how many of the bank's free tokens one allocator tick may spend.

``allocator.tick_budget`` picks the rule:

* ``bank`` (default) - model.md section 5 read literally: B = the bank's free tokens.
* ``paced`` - B = min(free, n_pending * m_hat + overflow), where

  - m_hat = rho / a_hat is the steady-state mean budget per query (tokens), with rho the
    budget rate (tokens/s) and a_hat the arrival rate (queries/s) estimated as the
    arrivals with time in (t - W, t], this tick's batch included, divided by
    span = max(min(t, W), Delta);
  - overflow = max(0, free + rho * Delta - capacity) is what the bank would lose at
    its cap rho * W before the next tick anyway (use it or lose it).

Why: under the literal rule a tick with few pending queries hands them the whole free
bank. Pacing grants each tick its share of the budget's flow instead of its stock, which
reaches the same accuracy with fewer tokens at low load (docs/simulator.md).

Guards: the span is floored at one period Delta, so at the first tick (t = 0) the batch is
treated as one period's arrivals. It is 0 only for ``period: 0`` at t = 0, and then B is
the free bank (no rate estimate exists yet). With ``period: 0`` the overflow term has
Delta = 0. An unlimited bank is never paced.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import numpy as np

__all__ = ["ArrivalWindow", "Pacer", "paced_budget"]

TickBudget = Literal["paced", "bank"]


def paced_budget(free: float, capacity: float, rate: float, period: float,
                 n_pending: int, n_window: int, span: float) -> float:
    """The paced tick budget B (tokens); see the module docstring.

    Args:
        free: free tokens in the bank.
        capacity: the bank's cap rho * W (tokens).
        rate: budget rate rho (tokens/s).
        period: tick period Delta (s), 0 for a tick per arrival time.
        n_pending: queries decided by this tick (>= 1).
        n_window: arrivals in (t - W, t], this tick's included (>= n_pending).
        span: the window's elapsed length max(min(t, W), Delta) (s); <= 0 means no
            rate estimate, and B is the free bank.
    """
    if span <= 0 or n_window <= 0:
        return free
    per_query = rate * span / n_window  # m_hat = rho / a_hat, a_hat = n_window / span
    overflow = max(0.0, free + rate * period - capacity)
    return min(free, n_pending * per_query + overflow)


class ArrivalWindow:
    """Arrival times (s) of the last ``window`` seconds, for the rate estimate a_hat.

    Times must be added in non-decreasing order (arrival order), one batch per tick.
    """

    def __init__(self, window: float) -> None:
        self.window = float(window)
        self._batches: deque[np.ndarray] = deque()
        self._total = 0

    def add(self, times: np.ndarray) -> None:
        """Record a batch of arrival times (s)."""
        if times.size:
            self._batches.append(times)
            self._total += int(times.size)

    def count(self, t: float) -> int:
        """Arrivals with time in (t - window, t] (among those added, all <= t)."""
        lo = t - self.window
        while self._batches and self._batches[0][-1] <= lo:
            self._total -= int(self._batches.popleft().size)
        if not self._batches:
            return 0
        old = int(np.searchsorted(self._batches[0], lo, side="right"))
        return self._total - old


class Pacer:
    """Computes each tick's budget B under ``rule`` (``paced`` or ``bank``).

    Args:
        rule: ``paced`` or ``bank``.
        rate: budget rate rho (tokens/s).
        window: rolling window W (s).
        period: tick period Delta (s).
        capacity: bank cap rho * W (tokens).
    """

    def __init__(self, rule: TickBudget, rate: float, window: float, period: float,
                 capacity: float) -> None:
        self.rule, self.rate, self.period, self.capacity = rule, rate, period, capacity
        self.arrivals = ArrivalWindow(window)

    def observe(self, times: np.ndarray) -> None:
        """This tick's pending arrival times (s), in arrival order."""
        if self.rule == "paced":
            self.arrivals.add(times)

    def budget(self, t: float, n_pending: int, free: float) -> float:
        """B (tokens, <= ``free``) for a tick at ``t`` (s) deciding ``n_pending`` queries."""
        if self.rule == "bank":
            return free
        span = max(min(t, self.arrivals.window), self.period)
        return paced_budget(free, self.capacity, self.rate, self.period, n_pending,
                            self.arrivals.count(t), span)
