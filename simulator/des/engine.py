"""The SimPy clock with exact absolute-time events and a fixed tie-break order.

Tie-breaking at equal timestamps (pinned by ``tests/test_des_trace.py``):

1. **GPU events** (a sequence leaves, or finishes prefill and joins decoding)
   - priority :data:`GPU`. Their refunds reach the bank first.
2. **Arrivals** are not events: the tick at time t collects every arrival with
   arrival time <= t, so an arrival at exactly t is decided by that tick.
3. **Allocator ticks** - priority :data:`TICK`.

SimPy orders its queue by ``(time, priority, insertion id)``; :class:`At` puts an
event at an *absolute* time (``Timeout`` adds a delay to ``now``, which can move an
event by one ulp and break exact ties).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush

import simpy
from simpy.events import Event

__all__ = ["GPU", "TICK", "At", "Engine"]

GPU = 1
TICK = 2


class Engine(simpy.Environment):
    """A SimPy environment with an optional event trace.

    Attributes:
        trace: when a list, components append ``(name, env.now)`` for each step they
            take (tests pin the exact order); ``None`` (default) records nothing.
    """

    def __init__(self, trace: list[tuple[str, float]] | None = None) -> None:
        super().__init__(initial_time=0.0)
        self.trace = trace

    def log(self, name: str) -> None:
        """Append ``(name, now)`` to the trace, if tracing."""
        if self.trace is not None:
            self.trace.append((name, self.now))

    def call_at(self, time: float, fn: Callable[[], None]) -> At:
        """Run ``fn()`` at absolute ``time`` (s) at :data:`GPU` priority; the returned
        event's :meth:`At.cancel` stops it (the GPU's :class:`~simulator.serving.clock.Clock`)."""
        ev = At(self, time, GPU)
        ev.callbacks.append(lambda _ev: fn())
        return ev


class At(Event):
    """An event that fires at absolute time ``time`` (s) with ``priority``.

    Raises:
        ValueError: ``time`` is in the past.
    """

    def __init__(self, env: Engine, time: float, priority: int) -> None:
        if time < env._now:
            raise ValueError(f'"time" must be >= now ({time} < {env.now})')
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        # (EventPriority is a typing.NewType of int: the int itself orders the queue)
        heappush(env._queue, (time, priority, next(env._eid), self))  # type: ignore[misc]

    def cancel(self) -> None:
        """Drop the callbacks: when its time comes the event runs nothing."""
        if self.callbacks:
            self.callbacks.clear()
