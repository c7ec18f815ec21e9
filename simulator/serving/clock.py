"""What the GPU needs from the engine it runs in, as protocols (no SimPy here).

The event engine (:mod:`simulator.des.engine`) provides a :class:`Clock`; the records
module provides a :class:`Levels` recorder; the query ledger provides
:class:`Outcomes`. Keeping them as protocols lets :mod:`simulator.serving` stay below
:mod:`simulator.des` in the import layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "Handle", "Levels", "Outcomes", "Timer"]


class Handle(Protocol):
    """A scheduled callback that can be cancelled before it fires."""

    def cancel(self) -> None:
        """Never run the callback."""
        ...


class Timer(Protocol):
    """One pending callback whose time can move (``inf``: not pending).

    The callback runs only when it is due: moving the time later never calls it at
    the old time.
    """

    def set(self, time: float) -> None:
        """Call back at ``time`` (s, >= now; ``inf``: not at all) instead."""
        ...


class Clock(Protocol):
    """The engine's clock: the time now (s), an optional trace, scheduled callbacks
    (one-off, or a movable :class:`Timer`)."""

    @property
    def now(self) -> float:
        """Simulated time (s)."""
        ...

    trace: list[tuple[str, float]] | None

    def log(self, name: str) -> None:
        """Append ``(name, now)`` to the trace, if tracing."""
        ...

    def call_at(self, time: float, fn: Callable[[], None]) -> Handle:
        """Run ``fn`` at absolute ``time`` (s, >= now) with the GPU's priority."""
        ...

    def timer(self, fn: Callable[[], None]) -> Timer:
        """A :class:`Timer` that runs ``fn()`` with the GPU's priority."""
        ...

    def peek(self) -> float:
        """Time (s) of the earliest scheduled callback or event (inf if none)."""
        ...


class Levels(Protocol):
    """Time-weighted recorder of the GPU's levels."""

    def add(self, t0: float, t1: float, active: int, queued: int, tokens: float) -> None:
        """Account [t0, t1) (s) at constant levels; ``tokens`` generated in it."""
        ...

    def drop(self, t0: float, t: float) -> bool:
        """One request left the queue at ``t`` (s) and the next :meth:`add` starts at
        ``t0`` <= ``t`` with the level after it: count it as queued over [t0, t).
        False (nothing recorded) when ``t`` is past the window that holds ``t0``; the
        GPU then splits the interval at ``t`` with :meth:`add` instead."""
        ...


class Outcomes(Protocol):
    """Where the GPU reports what happens to each query ``q`` (times in s)."""

    def started(self, q: int, t: float) -> None:
        """``q`` took a slot for the first time."""
        ...

    def left(self, q: int, t: float) -> None:
        """``q`` generated all its tokens."""
        ...

    def expired(self, q: int, t_end: float, t_now: float) -> None:
        """``q`` expired in the queue at ``t_end``; its cap returns at ``t_now``."""
        ...

    def timed_out(self, q: int, t: float, used: int) -> None:
        """``q``'s client gave up at ``t`` after ``used`` tokens were generated."""
        ...

    def preempted(self, q: int) -> None:
        """``q`` lost its KV memory and will recompute."""
        ...

    def first_token(self, q: int, t: float) -> None:
        """``q``'s first output token is at ``t``."""
        ...
