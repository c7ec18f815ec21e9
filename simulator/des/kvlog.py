"""KV memory held over time, per GPU replica (``kv.parquet``, runs with a KV pool).

:class:`KvLevels` sits between a :class:`~simulator.serving.fluid.FluidGpu` and its
:class:`~simulator.des.records.Occupancy`: it forwards every constant-level interval
and, reading the GPU's KV held at the interval's end, integrates KV held over fixed
windows. Between events KV held grows by the tokens generated (on-demand) or stays
constant (reserve-cap reservations); within one interval it is taken as linear in time
(the trapezoid rule: exact when s2 = 0, where tokens accrue at a constant rate).
The peak of a window is the largest held at an interval end inside it (exact: between
events held only grows).
"""

from __future__ import annotations

from typing import Protocol

from simulator.des.records import Spool

__all__ = ["KvLevels"]


class _Levels(Protocol):
    def add(self, t0: float, t1: float, active: int, queued: int, tokens: float) -> None: ...

    def drop(self, t0: float, t: float) -> bool: ...


class _Held(Protocol):
    held: float  # KV tokens held now


class KvLevels:
    """A Levels recorder that also writes KV held per window of ``width`` s.

    Args:
        inner: the GPU-level recorder every interval is forwarded to.
        width: window width (s).
        capacity: the KV pool (tokens), for the utilisation columns.
        replica: the replica number written on each row.
        grows: KV held grows with the tokens generated (on-demand admission).
        spool: the ``kv`` table.
    """

    def __init__(self, inner: _Levels, width: float, capacity: float, replica: int,
                 grows: bool, spool: Spool) -> None:
        self.inner, self.width, self.capacity = inner, width, capacity
        self.replica, self.grows, self.spool = replica, grows, spool
        self.gpu: _Held | None = None  # set once the GPU exists
        self._k = 0
        self._end = width
        self._area = self._peak = 0.0
        self.total = 0.0  # integral of KV held over the run (token-seconds)
        self.peak = 0.0   # the largest KV held (tokens)

    def add(self, t0: float, t1: float, active: int, queued: int, tokens: float) -> None:
        """Forward [t0, t1) (s) and account the KV held over it."""
        self.inner.add(t0, t1, active, queued, tokens)
        h1 = self.gpu.held if self.gpu is not None else 0.0
        h0 = h1 - tokens if self.grows else h1
        if t1 < self._end:  # common case: inside one window
            area = (t1 - t0) * (h0 + h1) / 2
            self._area += area
            self.total += area
            if h1 > self._peak:
                self._peak = h1
                if h1 > self.peak:
                    self.peak = h1
            return
        slope = (h1 - h0) / (t1 - t0)
        while True:
            hi = min(t1, self._end)
            a, b = h0, h0 + slope * (hi - t0)
            area = (hi - t0) * (a + b) / 2
            self._area += area
            self.total += area
            self._peak = max(self._peak, a, b)
            self.peak = max(self.peak, self._peak)
            if t1 < self._end:
                return
            self._close(self._end)
            h0, t0 = b, hi
            if t0 >= t1:
                return

    def drop(self, t0: float, t: float) -> bool:
        """Forward a queue drop (KV held does not change when a queued request leaves)."""
        return self.inner.drop(t0, t)

    def _close(self, end: float) -> None:
        start = self._k * self.width
        span = end - start
        if span > 0:
            mean = self._area / span
            cap = self.capacity
            self.spool.append(self.replica, start, end, mean, self._peak, mean / cap,
                              self._peak / cap)
        self._k += 1
        self._end = (self._k + 1) * self.width
        self._area = self._peak = 0.0

    def finish(self, t: float) -> None:
        """Close the last, partial window at the end of the run ``t`` (s)."""
        if t > self._k * self.width:
            self._close(t)
        self.spool.flush()
