"""The SimPy clock with exact absolute-time events and a fixed tie-break order.

Tie-breaking at equal timestamps (pinned by ``tests/test_des_trace.py``):

1. **GPU events** (a sequence leaves, or finishes prefill and joins decoding)
   - priority :data:`GPU`. Their refunds reach the bank first.
2. **Arrivals** are not events: the tick at time t collects every arrival with
   arrival time <= t, so an arrival at exactly t is decided by that tick.
3. **Allocator ticks** - priority :data:`TICK`.

SimPy orders its queue by ``(time, priority, insertion id)``; :class:`At` puts an
event at an *absolute* time (``Timeout`` adds a delay to ``now``, which can move an
event by one ulp and break exact ties). Components that only react to the clock run
as callbacks of :class:`At` events (no generator process per step); the GPU's one
pending event is a :class:`Timer`, whose time can move without waking the GPU for
nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.events import Event

__all__ = ["GPU", "START", "TICK", "At", "Engine", "Timer"]

START = 0  #: SimPy's URGENT: after the processes started at time 0, before any other event
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

    def run(self, until: float | Event | None = None) -> Any:
        """:meth:`simpy.Environment.run`; without ``until``, the same steps in one loop
        (no method call per event): pop the next event, run its callbacks, raise if it
        failed undefused, until the queue is empty."""
        if until is not None:
            return super().run(until)
        queue = self._queue
        while queue:
            self._now, _, _, event = heappop(queue)
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
        return None

    def again(self, ev: Event, time: float, priority: int,
              fn: Callable[[Event], None]) -> None:
        """Queue ``ev``, an event that has run, again at ``time`` (s, >= now) with
        ``fn`` as its callback: the queue order of a new :class:`At` made now, without
        making one."""
        ev.callbacks = [fn]
        heappush(self._queue, (time, priority, next(self._eid), ev))  # type: ignore[misc]

    def call_at(self, time: float, fn: Callable[[], None]) -> At:
        """Run ``fn()`` at absolute ``time`` (s) at :data:`GPU` priority; the returned
        event's :meth:`At.cancel` stops it."""
        return At(self, time, GPU, lambda _ev: fn())

    def timer(self, fn: Callable[[], None]) -> Timer:
        """A :class:`Timer` running ``fn()`` at GPU priority when set and due (the
        GPU's :class:`~simulator.serving.clock.Clock`)."""
        return Timer(self, fn)

    def next_is(self, time: float, priority: int) -> bool:
        """Whether an event queued now at ``(time, priority)`` would be the next to run
        (nothing queued comes before it); if so the clock moves to ``time`` (s), so
        the caller can take that step at once instead of queueing it.

        Every queued event has a smaller insertion id, so it runs first when its
        ``(time, priority)`` is not greater.
        """
        queue = self._queue
        if queue:
            head = queue[0]
            if head[0] < time or (head[0] == time and head[1] <= priority):
                return False
        self._now = time
        return True


class At(Event):
    """An event that fires at absolute time ``time`` (s) with ``priority``; ``fn``, if
    given, is its first callback (called with the event).

    Raises:
        ValueError: ``time`` is in the past.
    """

    def __init__(self, env: Engine, time: float, priority: int,
                 fn: Callable[[Event], None] | None = None) -> None:
        if time < env._now:
            raise ValueError(f'"time" must be >= now ({time} < {env.now})')
        self.env = env
        self.callbacks = [] if fn is None else [fn]
        self._value = None
        self._ok = True
        # (EventPriority is a typing.NewType of int: the int itself orders the queue)
        heappush(env._queue, (time, priority, next(env._eid), self))  # type: ignore[misc]

    def cancel(self) -> None:
        """Drop the callbacks: when its time comes the event runs nothing."""
        if self.callbacks:
            self.callbacks.clear()


class Timer:
    """One pending callback at :data:`GPU` priority whose time can move.

    :meth:`set` to a time earlier than the queued entry's queues a new entry at once
    (the old one is cancelled and runs nothing); to a later time it only records the
    time, and the queued entry, when it comes due, re-queues itself there without
    calling back. So ``fn`` runs only when it is due (no superseded call), and an
    entry is queued only when the time moves earlier, or once per later move, at the
    moment the earlier entry comes due (the insertion order a cancel-free re-arm at
    that moment would give).

    Attributes:
        time: when ``fn`` is due (s); ``inf``: never.
    """

    __slots__ = ("_env", "_ev", "_fn", "_queued", "_spare", "time")

    def __init__(self, env: Engine, fn: Callable[[], None]) -> None:
        self._env, self._fn = env, fn
        self._ev: At | None = None
        self._queued = math.inf   # time of the live queue entry (inf: none)
        self._spare: Event | None = None  # an entry that has run, to queue again
        self.time = math.inf

    def set(self, time: float) -> None:
        """Run ``fn`` at ``time`` (s, >= now; ``inf``: not at all) instead."""
        self.time = time
        if time < self._queued:
            if self._ev is not None:
                self._ev.cancel()
            spare, self._spare = self._spare, None
            if spare is None:
                self._ev = At(self._env, time, GPU, self._due)
            else:
                self._requeue(spare, time)
            self._queued = time

    def _requeue(self, ev: Event, time: float) -> None:
        """Queue ``ev``, an entry of this timer that has run, again at ``time`` (as a new
        :class:`At` would be queued: after every event queued so far)."""
        self._env.again(ev, time, GPU, self._due)
        self._ev = ev  # type: ignore[assignment]

    def _due(self, ev: Event) -> None:
        self._ev, self._queued = None, math.inf
        time = self.time
        if self._env._now < time:  # moved later since this entry was queued
            if time < math.inf:
                self._requeue(ev, time)
                self._queued = time
            return
        self._spare = ev  # (done with: the next set() reuses it)
        self._fn()
