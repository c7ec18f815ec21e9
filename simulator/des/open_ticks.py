"""The allocator of a run with ``period = 0`` and an unlimited budget, a block at a time.

With an unlimited budget the policy is bypassed: every query's cap is its L_max
(:mod:`simulator.des.allocator`), whatever the state of the run. With ``period = 0``
the tick at each distinct arrival time decides just the queries arriving then. So
every decision of a block of arrivals is known when the block is drawn: caps, the
replayed tokens and correctness, the row records and the tick rows are computed in
one vectorised pass, and the tick at each arrival time only hands its prepared GPU
entries to the GPU. When no other event is due before the next arrival time, that
tick runs at once instead of through the event queue
(:meth:`~simulator.des.engine.Engine.next_is`), in the order the queue would give.

The outputs are those of :class:`~simulator.des.allocator.Allocator` bit for bit (the
same integers and floats reach the records and the GPU, in the same order;
``tests/test_des_open_ticks.py`` compares the two). The runner uses this form for one
arrival stream without client patience, GPU deadline, trace or online policy; the
allocator handles every other case.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from simpy.events import Event

from simulator.des.engine import START, TICK, At, Engine
from simulator.des.ledger import PoolView
from simulator.des.records import Block, Spool
from simulator.des.replay import replay
from simulator.des.source import QuerySource
from simulator.serving import Entry, Gpu

__all__ = ["OpenTicks"]


class OpenTicks:
    """Period-0 ticks of an unlimited budget (see the module docstring).

    Args:
        env: the engine.
        source: the arrivals (one stream).
        gpu: the GPU resource.
        view: pool arrays.
        ticks: per-tick records.
        prefill: (p0, p1): prefill seconds = p0 + p1 * prompt_tokens.
        progress: called with the tick time (s) after each tick.
    """

    def __init__(self, env: Engine, source: QuerySource, gpu: Gpu, view: PoolView,
                 ticks: Spool, prefill: tuple[float, float],
                 progress: Callable[[float], None] | None = None) -> None:
        self.env, self.source, self.gpu = env, source, gpu
        self.view, self.ticks = view, ticks
        self.p0, self.p1 = prefill
        self.progress = progress
        self.n_ticks = 0
        self._times: list[float] = []    # distinct arrival times of the batch (s)
        self._bounds: list[int] = [0]    # entries of tick g: _entries[_bounds[g]:_bounds[g+1]]
        self._entries: list[Entry] = []
        self._g = 0                      # next tick of the batch

    def start(self) -> None:
        """Tick until every arrival has been decided."""
        At(self.env, 0.0, START, self._batch)

    def _batch(self, _ev: Event | None = None) -> None:
        """Decide the next block of arrivals and queue its first tick."""
        parts = self.source.take_block()
        if not parts:
            return
        self._decide(parts)
        self._g = 0
        At(self.env, self._times[0], TICK, self._tick)

    def _tick(self, ev: Event) -> None:
        env, gpu, progress = self.env, self.gpu, self.progress
        times, bounds, entries = self._times, self._bounds, self._entries
        g, n = self._g, len(times)
        while True:
            t = times[g]
            lo, hi = bounds[g], bounds[g + 1]
            if lo < hi:
                gpu.admit(t, entries[lo:hi])
            self.n_ticks += 1
            if progress is not None:
                progress(t)
            g += 1
            if g == n:
                self._batch()
                return
            if not env.next_is(times[g], TICK):
                break
        self._g = g
        env.again(ev, times[g], TICK, self._tick)

    def _decide(self, parts: list[tuple[Block, int, int]]) -> None:
        """Every decision of the arrivals ``parts``: records, tick rows, GPU entries."""
        view = self.view
        cat = (lambda f: f(parts[0])) if len(parts) == 1 else (
            lambda f: np.concatenate([f(p) for p in parts]))
        idx = cat(lambda p: p[0].pool_index[p[1]:p[2]])
        arrival = cat(lambda p: p[0].time[p[1]:p[2]])
        caps = view.max_tokens[idx]
        if not (caps >= 1).all():  # (a pool's L_max is > 0: every query is admitted)
            raise RuntimeError("a collection cap L_max below one token")
        generated, correct = replay(view.pool, idx, cat(lambda p: p[0].rollout[p[1]:p[2]]),
                                    caps)
        n = idx.size
        first = np.ones(n, dtype=bool)
        first[1:] = arrival[1:] != arrival[:-1]
        starts = np.flatnonzero(first)               # each tick's first row
        k0 = self.n_ticks
        tick = k0 + np.cumsum(first) - 1
        off = 0
        for block, lo, hi in parts:
            sl = slice(off, off + hi - lo)
            off += hi - lo
            block.tick[lo:hi] = tick[sl]
            block.cap[lo:hi] = caps[sl]
            block.generated[lo:hi] = generated[sl]
            block.correct[lo:hi] = correct[sl]
        bounds = np.append(starts, n)
        size = np.diff(bounds)
        times = arrival[starts].tolist()
        none = [None] * starts.size
        self.ticks.extend(list(range(k0, k0 + starts.size)), times, size.tolist(), none,
                          none, none, none, size.tolist(), [0] * starts.size,
                          np.add.reduceat(caps, starts).tolist())
        q = cat(lambda p: np.arange(p[0].q0 + p[1], p[0].q0 + p[2]))
        prompt = (view.prompt_tokens[idx] if parts[0][0].prompt is None
                  else cat(_prompts))
        self._entries = list(zip(q.tolist(), generated.tolist(),
                                 (self.p0 + self.p1 * prompt).tolist(), arrival.tolist(),
                                 prompt.tolist(), caps.tolist(), [math.inf] * n,
                                 strict=True))
        self._times, self._bounds = times, bounds.tolist()


def _prompts(part: tuple[Block, int, int]) -> np.ndarray:
    """Trace prompt lengths (tokens) of the queries ``lo:hi`` of a block that has them."""
    block, lo, hi = part
    assert block.prompt is not None
    return block.prompt[lo:hi]
