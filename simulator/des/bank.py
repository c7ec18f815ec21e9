"""The rolling token budget (model.md section 5).

Tokens accrue at ``rate`` rho (tokens/s) into a bank that holds at most
``rate * window`` tokens. The bank's holdings are split into *free* tokens and
*reserved* ones (caps committed to admitted queries still running). Committing a cap
moves tokens free -> reserved; when a query finishes, the ``used`` tokens it
generated leave the bank and the rest of its cap returns to free.

Accrual stops while ``free + reserved`` is at the cap, so refunds never push the bank
over it. Accrual is computed lazily from the time of the last change, which is exact
because holdings only change at ticks and completions.

Invariant: ``0 <= free`` and ``free + reserved <= rate * window`` (up to rounding).
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
            room = self.capacity - self.free - self.reserved
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
            self.free += cap - used
