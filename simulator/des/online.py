"""The per-arrival decision hook for online policies (``pacing``, ``learned-price``).

An online policy (:data:`simulator.policies.online.ONLINE`) decides each query when it
arrives, never waiting for a tick. The runner wires it through the ordinary allocator
with ``period = 0`` (one decision at each distinct arrival time: queries arriving at the
same instant, e.g. from several streams, are decided together, in arrival order) and the
tick budget B = the bank's free tokens, so the allocator's checks apply unchanged: caps
floored, clipped to L_max and to the free tokens (the bank is never overdrawn), late
queries (patience, deadline) settled, records written.

:class:`OnlineHook` is the policy function the allocator calls. It keeps the run's
:class:`~simulator.policies.online.OnlineState` and tells it the time, the tokens taken
from the bank so far (:class:`CountingBank`: caps committed minus unused tokens
refunded), the budget accrued (initial fill + rho * t, before the bank's cap) and the
budget per query m_hat = rho / a_hat (a_hat: arrivals in the last window W over
min(t, W), as :mod:`simulator.des.pacing` estimates it). It needs nothing from the GPU,
so any serving model (replicas included) works with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulator.des.bank import TokenBank
from simulator.des.engine import Engine
from simulator.des.pacing import ArrivalWindow
from simulator.policies import Allocation, AllocationInput
from simulator.policies.online import Context, OnlineState

__all__ = ["CountingBank", "OnlineHook"]


class CountingBank(TokenBank):
    """A :class:`TokenBank` that also counts what it hands out and gets back (tokens)."""

    def __init__(self, rate: float | None, window: float, initial_fill: float = 0.0) -> None:
        super().__init__(rate, window, initial_fill)
        self.initial = 0.0 if rate is None else self.free
        self.committed = 0.0
        self.refunded = 0.0

    def commit(self, tokens: float) -> None:
        super().commit(tokens)
        self.committed += tokens

    def settle(self, t: float, cap: float, used: float) -> None:
        super().settle(t, cap, used)
        self.refunded += cap - used

    @property
    def spent(self) -> float:
        """Tokens taken from the bank so far: committed minus refunded."""
        return self.committed - self.refunded


class OnlineHook:
    """The policy function for an online policy: ``hook(inp, params) -> Allocation``.

    Args:
        state: the run's policy state.
        env: the engine (for the time of each decision).
        bank: the run's bank.
        window: the bank's window W (s), also the arrival-rate window.
    """

    def __init__(self, state: OnlineState, env: Engine, bank: CountingBank,
                 window: float) -> None:
        self.state, self.env, self.bank = state, env, bank
        self.window = float(window)
        self.arrivals = ArrivalWindow(window)

    def context(self, n: int) -> Context:
        """The :class:`Context` of a decision on ``n`` queries arriving now."""
        t = float(self.env.now)
        self.arrivals.add(np.full(n, t))
        count = max(self.arrivals.count(t), 1)
        span = min(t, self.window)
        rate = self.bank.rate
        # at t = 0 there is no rate estimate: share the bank's capacity among the batch
        per_query = rate * span / count if span > 0 else self.bank.capacity / count
        horizon = count * self.window / span if span > 0 else float(count)
        return Context(t, self.bank.spent, self.bank.initial + rate * t, per_query,
                       self.bank.free, horizon)

    def __call__(self, inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
        return self.state.decide(inp, self.context(int(np.size(inp.thresholds))))
