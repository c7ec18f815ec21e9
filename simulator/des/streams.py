"""Several arrival streams, each one SimPy process, merged in arrival order for the tick.

A scenario's ``streams:`` list gives each stream a name, a difficulty mix (and
schedule) and an arrival process. Each stream is a :class:`StreamFeed` process: it
draws its next :data:`~simulator.des.source.BLOCK` arrivals in one vectorised step
(times, pool rows, rollout draws, predictor guesses), then sleeps until the last of
them is due: one event per block, none per arrival. Its random numbers are named
children of the scenario seed keyed by the stream's name (``streams/<name>/arrivals``,
``.../mix``, ``.../rollouts``, ``.../predictor``), so adding or removing a stream
leaves every other stream's queries unchanged (common random numbers per stream).

:class:`MultiSource` is what the allocator reads (the :class:`QuerySource` interface:
``peek``, ``take``, ``blocks``, ``n_arrivals``). A tick at t takes every buffered row
with time <= t from all streams, orders them by (time, stream order) and numbers them
in that order into shared query blocks, which carry a ``stream`` column. Stream wakes
have priority 1 (as GPU events), before the tick at the same instant (priority 2), so
a block is in the buffer before any tick that could need it. ``n_queries`` counts all
streams together; rows drawn past it are dropped, and the streams' pending wakes are
removed from the event queue so they do not run the clock on.

The single-stream form (``stream`` + ``arrivals``) still runs through
:class:`QuerySource` with its own seed names, so its outputs are unchanged.
"""

from __future__ import annotations

import heapq
from collections.abc import Generator

import numpy as np
from simpy.events import Event

from predictors.base import Predictor
from simulator.des.engine import At, Engine
from simulator.des.records import Block
from simulator.des.replay import pick_rollouts
from simulator.des.source import BLOCK
from simulator.errors import UserError
from simulator.pools.pool import Pool
from simulator.scenario.models import NamedStream, Scenario
from simulator.seeds import rng_for
from simulator.traffic.arrivals import TraceSpec, make_arrivals
from simulator.traffic.streams import sample_stream

__all__ = ["ARRIVAL", "MultiSource", "StreamFeed"]

ARRIVAL = 1  #: priority of a stream's wake: before the tick (2) at the same instant

_COLS = ("time", "index", "rollout", "threshold", "spread", "solvability", "prompt")


class StreamFeed:
    """One named stream: its arrival blocks and the buffer of rows not yet taken.

    Args:
        k: position of the stream in ``streams`` (tie-break and ``stream`` code).
        spec: the stream.
        seed: the scenario seed.
        pool: the query pool; ``tier`` its tiers; ``predictor`` the threshold predictor.
        duration: arrivals at or after it are dropped (s; None = no limit).
        pool_prompts: the pool's prompt tokens, for rows whose stream has none, when
            another stream's trace gives prompt lengths (None otherwise).
    """

    def __init__(self, k: int, spec: NamedStream, seed: int, pool: Pool, tier: np.ndarray,
                 predictor: Predictor, duration: float | None,
                 pool_prompts: np.ndarray | None) -> None:
        name = spec.name
        self.k, self.spec = k, spec
        self.gen = make_arrivals(spec.arrivals, rng_for(seed, "streams", name, "arrivals"))
        self._rng_mix = rng_for(seed, "streams", name, "mix")
        self._rng_roll = rng_for(seed, "streams", name, "rollouts")
        self._rng_pred = rng_for(seed, "streams", name, "predictor")
        self._pool, self._tier, self._predictor = pool, tier, predictor
        self._horizon = np.inf if duration is None else duration
        self._pool_prompts = pool_prompts
        self._mix_times = np.array([0.0] + [c.time for c in spec.schedule])
        self._mixes = [spec.mix] + [c.mix for c in spec.schedule]
        self.notes: list[str] = list(getattr(self.gen, "notes", []))
        self.buf: dict[str, np.ndarray] = {}
        self.threshold_sd = np.nan
        self.done = False
        self.drawn = 0
        self.wake: Event | None = None

    @property
    def has_prompts(self) -> bool:
        """True when this stream's trace gives prompt lengths."""
        return bool(getattr(self.gen, "has_prompts", False))

    def draw(self) -> bool:
        """Draw the next block into the buffer; False once the stream is exhausted."""
        if self.done:
            return False
        times = self.gen.next_block(BLOCK)
        keep = times < self._horizon
        if not keep.all():
            times = times[keep]
            self.done = True
        if times.size == 0:
            self.done = True
            if self.drawn == 0 and isinstance(self.spec.arrivals, TraceSpec):
                raise UserError(f"streams[{self.k}].arrivals.path: "
                                f"{self.spec.arrivals.resolved_path()}: no rows in the "
                                "window before the scenario's duration; widen the window")
            return False
        n = times.size
        seg = np.searchsorted(self._mix_times, times, side="right") - 1
        index = np.empty(n, dtype=np.int64)
        for s in np.unique(seg):
            sel = seg == s
            index[sel] = sample_stream(self._pool, self._mixes[s], int(sel.sum()),
                                       self._rng_mix, tier=self._tier)
        rollout = pick_rollouts(self._pool, index, self._rng_roll.random(n))
        pred = self._predictor.predict(self._pool, index, self._rng_pred)
        nan = np.full(n, np.nan)
        prompts = getattr(self.gen, "last_prompts", None)
        new = {
            "time": times, "index": index, "rollout": rollout,
            "threshold": np.asarray(pred.thresholds, dtype=np.float64),
            "spread": nan if pred.log_spread is None else np.asarray(pred.log_spread, float),
            "solvability": nan if pred.solvability is None else
            np.asarray(pred.solvability, float),
            "prompt": prompts[:n].astype(np.float64) if prompts is not None else
            (self._pool_prompts[index].astype(np.float64) if self._pool_prompts is not None
             else nan),
        }
        self.threshold_sd = np.nan if pred.threshold_sd is None else float(pred.threshold_sd)
        self.buf = new if not self.buf or self.buf["time"].size == 0 else \
            {c: np.concatenate([self.buf[c], new[c]]) for c in _COLS}
        self.drawn += n
        return True

    def head(self) -> float:
        """Time (s) of the first untaken row; ``inf`` when none is buffered."""
        return float(self.buf["time"][0]) if self.buf and self.buf["time"].size else np.inf

    def pop_until(self, t: float) -> dict[str, np.ndarray]:
        """Remove and return the buffered rows with time <= ``t``."""
        if not self.buf:
            return {c: np.empty(0) for c in _COLS}
        hi = int(np.searchsorted(self.buf["time"], t, side="right"))
        out = {c: v[:hi] for c, v in self.buf.items()}
        self.buf = {c: v[hi:] for c, v in self.buf.items()}
        return out

    def process(self, env: Engine, merger: MultiSource) -> Generator[Event, None, None]:
        """Draw a block, sleep until its last arrival is due, repeat until exhausted."""
        while not merger.stopped and self.draw() and not self.done:
            env.log(f"stream {self.spec.name} block")
            self.wake = At(env, float(self.buf["time"][-1]), ARRIVAL)
            yield self.wake
        self.wake = None


class MultiSource:
    """The merged arrivals of several :class:`StreamFeed` processes (see module doc).

    Args:
        scenario: a validated scenario with ``streams``.
        pool, tier, predictor: as for :class:`~simulator.des.source.QuerySource`.
        pool_prompts: the pool's prompt tokens (per pool row).
    """

    def __init__(self, scenario: Scenario, pool: Pool, tier: np.ndarray,
                 predictor: Predictor, pool_prompts: np.ndarray) -> None:
        assert scenario.streams is not None
        self.names = [s.name for s in scenario.streams]
        self.feeds = [StreamFeed(k, s, scenario.seed, pool, tier, predictor,
                                 scenario.duration, pool_prompts)
                      for k, s in enumerate(scenario.streams)]
        self._prompts = any(f.has_prompts for f in self.feeds)
        if not self._prompts:
            for f in self.feeds:
                f._pool_prompts = None
        self._tier = tier
        self._left = scenario.n_queries
        self.notes = [n for f in self.feeds for n in f.notes]
        self.blocks: dict[int, Block] = {}
        self.n_arrivals = 0
        self.stopped = False
        self._cur: Block | None = None
        self._fill = 0
        self._finished = False

    def start(self, env: Engine) -> None:
        """Start one process per stream (before the allocator's, so they draw first)."""
        self._env = env
        for f in self.feeds:
            env.process(f.process(env, self))

    def _stop(self) -> None:
        """``n_queries`` reached: drop the streams' pending wakes, which would otherwise
        run the clock on to the end of their last blocks."""
        self.stopped = True
        pending = {id(f.wake) for f in self.feeds if f.wake is not None}
        queue = self._env._queue
        queue[:] = [e for e in queue if id(e[3]) not in pending]
        heapq.heapify(queue)

    def _exhausted(self) -> bool:
        return self.stopped or all(f.done and f.head() == np.inf for f in self.feeds)

    def peek(self) -> float:
        """Arrival time (s) of the next untaken query; ``inf`` when none is left."""
        if self._exhausted():
            self._finish()
            return np.inf
        heads = [f.head() for f in self.feeds]
        if any(h == np.inf and not f.done for h, f in zip(heads, self.feeds, strict=True)):
            raise RuntimeError("a stream's buffer ran dry before its process refilled it")
        return min(heads)

    def take(self, t: float) -> list[tuple[Block, int, int]]:
        """Every untaken arrival with time <= ``t``, as ``(block, lo, hi)`` slices."""
        if self.stopped:
            return []
        parts = [f.pop_until(t) for f in self.feeds]
        code = np.concatenate([np.full(p["time"].size, f.k, dtype=np.int64)
                               for p, f in zip(parts, self.feeds, strict=True)])
        rows = {c: np.concatenate([p[c] for p in parts]) for c in _COLS}
        order = np.lexsort((code, rows["time"]))
        if self._left is not None and order.size >= self._left:
            order = order[:self._left]
            self._stop()
        if self._left is not None:
            self._left -= order.size
        rows = {c: v[order] for c, v in rows.items()}
        code = code[order]
        out: list[tuple[Block, int, int]] = []
        pos, n = 0, order.size
        while pos < n:
            if self._cur is None or self._fill == BLOCK:
                self._new_block()
            block = self._cur
            assert block is not None
            m = min(BLOCK - self._fill, n - pos)
            lo, src = self._fill, slice(pos, pos + m)
            dst = slice(lo, lo + m)
            block.time[dst] = rows["time"][src]
            block.pool_index[dst] = rows["index"][src]
            block.tier[dst] = self._tier[rows["index"][src]]
            block.rollout[dst] = rows["rollout"][src]
            block.threshold[dst] = rows["threshold"][src]
            block.spread[dst] = rows["spread"][src]
            block.solvability[dst] = rows["solvability"][src]
            assert block.stream is not None
            block.stream[dst] = code[src]
            if block.prompt is not None:
                block.prompt[dst] = rows["prompt"][src]
            self._fill += m
            pos += m
            out.append((block, lo, lo + m))
        self.n_arrivals += n
        if self._exhausted():
            self._finish()
        return out

    def _new_block(self) -> None:
        q0 = 0 if self._cur is None else self._cur.q0 + BLOCK
        sd = next((f.threshold_sd for f in self.feeds if f.drawn), np.nan)
        nan = np.full(BLOCK, np.nan)
        self._cur = Block(q0, np.full(BLOCK, np.inf), np.zeros(BLOCK, dtype=np.int64),
                          np.zeros(BLOCK, dtype=np.int64), np.zeros(BLOCK, dtype=np.int64),
                          nan.copy(), nan.copy(), nan.copy(), sd,
                          prompt=np.zeros(BLOCK) if self._prompts else None,
                          stream=np.zeros(BLOCK, dtype=np.int64))
        self._fill = 0
        self.blocks[q0 // BLOCK] = self._cur

    def _finish(self) -> None:
        """Cut the last block to the rows it holds (once every stream is exhausted)."""
        if self._finished:
            return
        self._finished = True
        block = self._cur
        if block is None or self._fill == BLOCK:
            return
        n = self._fill
        for name, value in list(vars(block).items()):
            if isinstance(value, np.ndarray) and value.shape[:1] == (BLOCK,):
                setattr(block, name, value[:n])
        block.remaining -= BLOCK - n
