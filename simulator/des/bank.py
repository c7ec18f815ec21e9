"""The rolling token budget (model.md section 5).

Tokens accrue at ``rate`` rho (tokens/s) into a bank that holds at most
``rate * window`` *free* tokens: unspent budget older than about one window is lost.
Committing a cap moves tokens free -> *reserved* (granted to a running query); when
the query finishes, the ``used`` tokens it generated are spent and the rest of its cap
returns to free, again up to the cap (a refund above it is lost, like late accrual).

Only free tokens count against the cap. Reserved tokens are already granted: if they
counted, queries that hold their caps for longer than W would fill the bank and stop
accrual, so the service would receive less than rho tokens/s at low load
(docs/simulator.md). Accrual is computed lazily from the time of the last change,
which is exact because free tokens only change at ticks and completions.

Invariant: ``0 <= free <= rate * window`` and ``reserved >= 0`` (up to rounding).
"""

from __future__ import annotations

import math

__all__ = ["TokenBank"]


class TokenBank:
    """A rolling bank; ``rate=None`` gives an unlimited bank (free is ``inf``).

    Args:
        rate: budget rate rho (tokens/s, > 0) or None for unlimited.
        window: rolling window W (s, > 0); capacity is ``rate * window`` tokens.
        initial_fill: free tokens at t = 0 as a fraction of the capacity.
    """

    def __init__(self, rate: float | None, window: float, initial_fill: float = 0.0) -> None:
        self.unlimited = rate is None
        self.rate = 0.0 if rate is None else float(rate)
        self.capacity = math.inf if rate is None else self.rate * float(window)
        self.free = math.inf if rate is None else initial_fill * self.capacity
        self.reserved = 0.0
        self._t = 0.0

    @property
    def holdings(self) -> float:
        """free + reserved tokens."""
        return self.free + self.reserved

    def accrue(self, t: float) -> None:
        """Add rho * (t - last) tokens, up to the capacity (t in s, non-decreasing)."""
        if t > self._t and not self.unlimited:
            room = self.capacity - self.free
            if room > 0:
                self.free += min(self.rate * (t - self._t), room)
        self._t = max(self._t, t)

    def commit(self, tokens: float) -> None:
        """Reserve ``tokens`` (<= free) for admitted queries."""
        if not self.unlimited:
            self.free -= tokens
            self.reserved += tokens

    def settle(self, t: float, cap: float, used: float) -> None:
        """A query with committed ``cap`` ended at ``t`` having generated ``used`` tokens."""
        if not self.unlimited:
            self.accrue(t)
            self.reserved -= cap
            self.free = min(self.free + (cap - used), self.capacity)
