"""KV memory held over time, per GPU replica (``kv.parquet``, runs with a KV pool).

:class:`KvLevels` is the GPU's :class:`~simulator.des.records.Occupancy` (the ``gpu``
table) that also, reading the GPU's KV held at each constant-level interval's end,
integrates KV held over the same fixed windows. Between events KV held grows by the
tokens generated (on-demand) or stays constant (reserve-cap reservations); within one
interval it is taken as linear in time (the trapezoid rule: exact when s2 = 0, where
tokens accrue at a constant rate). The peak of a window is the largest held at an
interval end inside it (exact: between events held only grows).
"""

from __future__ import annotations

from typing import Protocol

from simulator.des.records import Occupancy, Spool

__all__ = ["KvLevels"]


class _Held(Protocol):
    held: float  # KV tokens held now


class KvLevels(Occupancy):
    """GPU levels per window of ``width`` s (:class:`Occupancy`) and KV held per window.

    Args:
        width: window width (s).
        spool: the ``gpu`` table.
        key: the ``gpu`` rows' prefix (e.g. the replica number).
        capacity: the KV pool (tokens), for the utilisation columns.
        replica: the replica number written on each ``kv`` row.
        grows: KV held grows with the tokens generated (on-demand admission).
        kv_spool: the ``kv`` table.
    """

    def __init__(self, width: float, spool: Spool, key: tuple[int, ...], capacity: float,
                 replica: int, grows: bool, kv_spool: Spool) -> None:
        super().__init__(width, spool, key)
        self.capacity, self.replica, self.grows = capacity, replica, grows
        self.kv_spool = kv_spool
        self.gpu: _Held | None = None  # set once the GPU exists
        self._kv_k = 0
        self._kv_end = width
        self._kv_area = self._kv_peak = 0.0
        self.total = 0.0  # integral of KV held over the closed windows (token-seconds)
        self.peak = 0.0   # the largest KV held in them (tokens); finish closes the last

    def add(self, t0: float, t1: float, active: int, queued: int, tokens: float) -> None:
        """Account [t0, t1) (s) at constant levels, and the KV held over it."""
        h1 = self.gpu.held if self.gpu is not None else 0.0
        if t1 < self._end:  # common case, inside one window (Occupancy.add in line:
            d = t1 - t0     # the same floats; its windows are the KV windows)
            rate = tokens / d
            self.total_area += (active + queued) * d
            self._area_a += active * d
            self._area_q += queued * d
            if active:
                self._busy += d
            self._tokens += rate * d
            # (the run's total and peak take each window's when it closes)
            self._kv_area += d * ((h1 - tokens if self.grows else h1) + h1) / 2
            if h1 > self._kv_peak:
                self._kv_peak = h1
            return
        h0 = h1 - tokens if self.grows else h1
        super().add(t0, t1, active, queued, tokens)
        slope = (h1 - h0) / (t1 - t0)
        while True:
            hi = min(t1, self._kv_end)
            a, b = h0, h0 + slope * (hi - t0)
            self._kv_area += (hi - t0) * (a + b) / 2
            self._kv_peak = max(self._kv_peak, a, b)
            if t1 < self._kv_end:
                return
            self._kv_close(self._kv_end)
            h0, t0 = b, hi
            if t0 >= t1:
                return

    def _kv_close(self, end: float) -> None:
        start = self._kv_k * self.width
        span = end - start
        self.total += self._kv_area
        if self._kv_peak > self.peak:
            self.peak = self._kv_peak
        if span > 0:
            mean = self._kv_area / span
            cap = self.capacity
            self.kv_spool.append(self.replica, start, end, mean, self._kv_peak, mean / cap,
                                 self._kv_peak / cap)
        self._kv_k += 1
        self._kv_end = (self._kv_k + 1) * self.width
        self._kv_area = self._kv_peak = 0.0

    def finish(self, t: float) -> None:
        """Close the last, partial windows at the end of the run ``t`` (s)."""
        super().finish(t)
        if t > self._kv_k * self.width:
            self._kv_close(t)
        self.kv_spool.flush()
