"""The query source: arrivals drawn in vectorised blocks, with everything per query.

Each block of :data:`BLOCK` arrivals carries, per query, its arrival time (s), pool
row, tier, the rollout it will replay and the predictor's guess. All of it is drawn
here, once per query, in arrival order, from four named streams of the scenario seed
(``arrivals``, ``stream``, ``rollouts``, ``predictor``). Nothing depends on the policy,
so two policies run on one scenario see the same queries, the same rollout draws and
the same predictor noise (common random numbers).

The allocator tick takes the arrivals with time <= now via :meth:`QuerySource.take`.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Protocol

import numpy as np

from predictors.base import Predictor
from simulator.des.records import Block
from simulator.des.replay import pick_rollouts
from simulator.errors import UserError
from simulator.pools.pool import Pool
from simulator.scenario.models import Scenario
from simulator.seeds import rng_for
from simulator.traffic.arrivals import TraceSpec, make_arrivals
from simulator.traffic.streams import sample_stream

__all__ = ["BLOCK", "ArrivalSource", "QuerySource"]

BLOCK = 1 << 16
"""Arrivals per block (and query rows per Parquet chunk). Part of the random stream."""

class ArrivalSource(Protocol):
    """What the allocator tick reads: :class:`QuerySource` (one stream) or
    :class:`simulator.des.streams.MultiSource` (several)."""

    blocks: dict[int, Block]
    n_arrivals: int
    notes: list[str]

    def peek(self) -> float:
        """Arrival time (s) of the next untaken query; ``inf`` when none is left."""
        ...

    def take(self, t: float) -> list[tuple[Block, int, int]]:
        """Every untaken arrival with time <= ``t``, as ``(block, lo, hi)`` slices."""
        ...


def _empty_window(spec: object, duration: float | None) -> None:
    """Refuse a trace whose window holds no arrival before ``duration`` (s)."""
    if isinstance(spec, TraceSpec):
        raise UserError(f"arrivals.path: {spec.resolved_path()}: no rows in the window "
                        f"(start = {spec.start:g} s, duration = {duration} s of replay "
                        "time); widen the window or lower arrivals.start")


class QuerySource:
    """Arrival blocks for one scenario, cut at its horizon.

    Args:
        scenario: validated scenario (arrivals, stream, horizon, seed).
        pool: the query pool.
        tier: (N,) tiers of the pool (quartiles of ln tau).
        predictor: threshold predictor (noise from the ``predictor`` stream).
    """

    def __init__(self, scenario: Scenario, pool: Pool, tier: np.ndarray,
                 predictor: Predictor) -> None:
        seed = scenario.seed
        assert scenario.arrivals is not None
        self._spec = scenario.arrivals
        self._gen = make_arrivals(scenario.arrivals, rng_for(seed, "arrivals"))
        self.notes: list[str] = list(getattr(self._gen, "notes", []))
        self._rng_stream = rng_for(seed, "stream")
        self._rng_roll = rng_for(seed, "rollouts")
        self._rng_pred = rng_for(seed, "predictor")
        self._pool, self._tier, self._predictor = pool, tier, predictor
        self._duration = scenario.duration
        self._left = scenario.n_queries
        sched = scenario.stream.schedule
        self._mix_times = np.array([0.0] + [c.time for c in sched])
        self._mixes = [scenario.stream.mix] + [c.mix for c in sched]
        self.blocks: dict[int, Block] = {}
        self._done = False
        self._cur: Block | None = None
        self._pos = 0
        self._times: list[float] = []  # the current block's arrival times (s)
        self.n_arrivals = 0

    def _draw(self) -> Block | None:
        if self._done:
            return None
        n = BLOCK if self._left is None else min(BLOCK, self._left)
        times = self._gen.next_block(n)
        cut = times < (np.inf if self._duration is None else self._duration)
        times = times[cut] if not cut.all() else times
        if times.size < n or (self._left is not None and self._left == n):
            self._done = True
        if self._left is not None:
            self._left -= times.size
        if times.size == 0:
            if self.n_arrivals == 0:
                _empty_window(self._spec, self._duration)
            return None
        seg = np.searchsorted(self._mix_times, times, side="right") - 1
        index = np.empty(times.size, dtype=np.int64)
        for s in np.unique(seg):
            sel = seg == s
            index[sel] = sample_stream(self._pool, self._mixes[s], int(sel.sum()),
                                       self._rng_stream, tier=self._tier)
        rollout = pick_rollouts(self._pool, index, self._rng_roll.random(times.size))
        pred = self._predictor.predict(self._pool, index, self._rng_pred)
        nan = np.full(times.size, np.nan)
        prompts = getattr(self._gen, "last_prompts", None)
        block = Block(self.n_arrivals, times, index, self._tier[index], rollout,
                      np.asarray(pred.thresholds, dtype=np.float64),
                      nan if pred.log_spread is None else np.asarray(pred.log_spread, float),
                      nan if pred.solvability is None else np.asarray(pred.solvability, float),
                      np.nan if pred.threshold_sd is None else float(pred.threshold_sd),
                      prompt=None if prompts is None else prompts[:times.size])
        self.n_arrivals += times.size
        self.blocks[block.q0 // BLOCK] = block
        return block

    def peek(self) -> float:
        """Arrival time (s) of the next untaken query; ``inf`` when none is left."""
        if self._pos < len(self._times):
            return self._times[self._pos]
        while self._cur is None or self._pos >= self._cur.n:
            self._cur, self._pos = self._draw(), 0
            if self._cur is None:
                self._times = []
                return np.inf
        self._times = self._cur.time.tolist()
        return self._times[self._pos]

    def take_block(self) -> list[tuple[Block, int, int]]:
        """:meth:`take` up to the last arrival time of the current block: the rest of
        it, and the first rows of the next block if they arrive at that same time;
        ``[]`` when no arrival is left."""
        if self.peek() == np.inf:
            return []
        assert self._cur is not None
        return self.take(float(self._cur.time[-1]))

    def take(self, t: float) -> list[tuple[Block, int, int]]:
        """Every untaken arrival with time <= ``t``, as ``(block, lo, hi)`` slices."""
        out: list[tuple[Block, int, int]] = []
        while self.peek() <= t:
            assert self._cur is not None
            hi = bisect_right(self._times, t, self._pos)  # (rows before _pos are <= t)
            out.append((self._cur, self._pos, hi))
            self._pos = hi
        return out
