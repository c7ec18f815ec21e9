"""The periodic allocator tick (model.md section 5), a SimPy process.

Every ``period`` seconds (ticks at t = 0, Delta, 2 Delta, ...) the tick takes the
queries that arrived since the last tick (arrival time <= now), lets the policy
allocate the tick budget B among them (``allocator.tick_budget``: ``paced``, the
default, grants the tick its share of the budget's flow plus what the bank would lose
at its cap; ``bank`` grants all free tokens, model.md's literal rule; see
:mod:`simulator.des.pacing`), and:

* floors each cap to whole tokens and clips it to the query's collection cap L_max
  (no rollout can use more, and the clipped tokens stay free), keeping the sum <= B;
* admits queries with a cap >= 1 token: their caps are committed in the bank, their
  rollouts are replayed (tokens and correctness fixed now) and they join the GPU in
  arrival order;
* abandons the rest, which end at the tick with outcome ``abandoned``.

No query waits for a later tick. Policies also see a sample of the last
:data:`REFERENCE` predicted thresholds (``prior_thresholds``, renewed every
:data:`REFRESH` predictions), which ``clear-calibrated`` fits its empirical-Bayes prior
to (and refits only when the sample is renewed). ``lambda*`` is warm-started from the previous tick's
shadow price and logged per tick (null for policies without one).

With ``period = 0`` there is one tick at each distinct arrival time, deciding just the
queries arriving then (latency then has no allocator wait). With an unlimited budget
the policy is bypassed and every query gets its L_max, so every rollout replays in full.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping
from typing import Any

import numpy as np
from simpy.events import Event

from simulator.des.bank import TokenBank
from simulator.des.engine import TICK, At, Engine
from simulator.des.gpu import FluidGpu
from simulator.des.ledger import Ledger, PoolView
from simulator.des.pacing import Pacer
from simulator.des.records import Block, Spool
from simulator.des.replay import replay, replay_one
from simulator.des.source import QuerySource
from simulator.policies import AllocationInput, PolicyFn, uses_curves

SMALL = 16  #: ticks deciding at most this many queries do their bookkeeping on lists
_ALL_NAN, _NO_NAN, _MIXED = 0, 1, 2   #: what a block's spread/solvability column holds

__all__ = ["REFERENCE", "Allocator", "integer_caps"]

REFERENCE = 512  #: recent predicted thresholds passed as ``prior_thresholds`` (about the
                 #: paper's batch of 500), for policies that fit a prior to the traffic
REFRESH = 64     #: new predictions before that sample is renewed (fewer while it is
                 #: small), so a policy can reuse a prior fitted to it in between


def integer_caps(caps: np.ndarray, limit: np.ndarray, free: float) -> np.ndarray:
    """Whole-token caps: floor, clip to ``limit`` (L_max), and keep the sum <= ``free``."""
    if caps.size <= SMALL:
        small = _integer_caps_small(caps.tolist(), limit.tolist(), free)
        if small is not None:
            return np.array(small, dtype=np.int64)
    out = np.minimum(np.floor(np.maximum(caps, 0.0)), limit).astype(np.int64)
    over = int(out.sum()) - int(np.floor(free))
    while over > 0:  # only float rounding of a policy that spends exactly B gets here
        k = int(np.argmax(out))
        take = min(over, int(out[k]))
        out[k] -= take
        over -= take
    return out


def _integer_caps_small(caps: list[float], limit: list[int], free: float) -> list[int] | None:
    """:func:`integer_caps` on a few Python floats (the same integers), or None for
    non-finite input. floor(min(max(c, 0), L)) = min(floor(max(c, 0)), L) for whole L."""
    if not (math.isfinite(free) and all(map(math.isfinite, caps))):
        return None
    out = [math.floor(min(max(c, 0.0), float(lim))) for c, lim in zip(caps, limit, strict=True)]
    over = sum(out) - math.floor(free)
    while over > 0:
        k = max(range(len(out)), key=out.__getitem__)    # the first largest, as argmax
        take = min(over, out[k])
        out[k] -= take
        over -= take
    return out


class Allocator:
    """The tick process; see the module docstring.

    Args:
        env: the engine.
        period: Delta (s); 0 = a tick at every arrival time.
        source: arrival blocks.
        bank: the rolling budget.
        gpu: the GPU resource.
        ledger: outcome bookkeeping.
        view: pool arrays.
        policy: the policy function, or None for an unlimited budget.
        params: policy parameters.
        ticks: per-tick records.
        prefill: (p0, p1): prefill seconds = p0 + p1 * prompt_tokens.
        progress: called with the tick time (s) after each tick.
        pacer: the tick-budget rule, or None for an unlimited budget (B = free = inf).
    """

    def __init__(self, env: Engine, period: float, source: QuerySource, bank: TokenBank,
                 gpu: FluidGpu, ledger: Ledger, view: PoolView, policy: PolicyFn | None,
                 params: Mapping[str, Any], ticks: Spool, prefill: tuple[float, float],
                 progress: Callable[[float], None] | None = None,
                 pacer: Pacer | None = None) -> None:
        self.env, self.period, self.source, self.bank = env, period, source, bank
        self.gpu, self.ledger, self.view = gpu, ledger, view
        self.policy, self.params, self.ticks = policy, params, ticks
        self.p0, self.p1 = prefill
        self.progress = progress
        self.pacer = pacer
        self.lam: float | None = None
        self._curves = policy is not None and uses_curves(policy)
        self.n_ticks = 0
        self._recent = np.empty(0)
        self._sample = np.empty(0)
        self._fresh = 0
        self._pending: list[np.ndarray] = []
        self._nan_cols: dict[tuple[int, str], int] = {}

    def process(self) -> Generator[Event, None, None]:
        """Tick until every arrival has been decided."""
        while True:
            nxt = self.source.peek()
            if nxt == np.inf:
                return
            t = nxt if self.period == 0 else self.n_ticks * self.period
            yield At(self.env, t, TICK)
            self.decide(t)
            if self.progress is not None:
                self.progress(t)

    def decide(self, t: float) -> None:
        """One tick at time ``t`` (s)."""
        k = self.n_ticks
        self.n_ticks += 1
        if self.env.trace is not None:
            self.env.log(f"tick {k}")
        parts = self.source.take(t)
        bank = self.bank
        bank.accrue(t)
        free, holdings = bank.free, bank.holdings
        if not parts:
            self._log(k, t, 0, holdings, free, None, None, 0, 0, 0)
            return
        budget = free
        if self.pacer is not None:
            for block, lo, hi in parts:
                self.pacer.observe(block.time[lo:hi])
            budget = self.pacer.budget(t, sum(hi - lo for _, lo, hi in parts), free)
        if len(parts) == 1 and parts[0][2] - parts[0][1] == 1:
            self._decide_one(k, t, parts[0][0], parts[0][1], free, holdings, budget)
            return
        cat = (lambda f: f(parts[0])) if len(parts) == 1 else (
            lambda f: np.concatenate([f(p) for p in parts]))
        idx = cat(lambda p: p[0].pool_index[p[1]:p[2]])
        view = self.view
        limit = view.max_tokens[idx]
        if self.policy is None:
            caps = limit.copy()
        else:
            thresholds = cat(lambda p: p[0].threshold[p[1]:p[2]])
            inp = AllocationInput(
                thresholds=thresholds, budget=budget,
                log_spread=self._known(parts, "spread", cat),
                solvability=self._known(parts, "solvability", cat),
                true_tau=view.tau[idx],
                curves=(view.pool.lengths[idx], view.good[idx]) if self._curves else None,
                warm_start=self.lam, threshold_sd=_sd(parts[0][0]),
                prior_thresholds=self._reference(thresholds))
            alloc = self.policy(inp, self.params)
            self.lam = alloc.shadow_price
            raw = np.asarray(alloc.caps, dtype=np.float64)
            small = _integer_caps_small(raw.tolist(), limit.tolist(), budget) \
                if len(parts) == 1 and idx.size <= SMALL else None
            if small is not None:
                self._finish_small(k, t, parts[0], idx, small, free, holdings, budget)
                return
            caps = integer_caps(raw, limit, budget)
        rollout = cat(lambda p: p[0].rollout[p[1]:p[2]])
        if len(parts) == 1 and idx.size <= SMALL:
            self._finish_small(k, t, parts[0], idx, caps.tolist(), free, holdings, budget)
            return
        generated, correct = replay(view.pool, idx, rollout, caps)
        admit = caps >= 1
        committed = int(caps[admit].sum())
        bank.commit(committed)
        entries: list[tuple[int, int, float, float]] = []
        prefill = self.p0 + self.p1 * view.prompt_tokens[idx]
        off = 0
        for block, lo, hi in parts:
            sl = slice(off, off + hi - lo)
            off += hi - lo
            self._record(block, lo, hi, k, caps[sl], generated[sl], correct[sl])
            rows = np.arange(lo, hi)
            ok = admit[sl]
            if not ok.all():
                self.ledger.abandoned(block, rows[~ok], t)
            if self.env.trace is not None:
                for r, a in zip(rows.tolist(), ok.tolist(), strict=True):
                    self.env.log(f"{'admit' if a else 'abandon'} q{block.q0 + r}")
            entries.extend(zip((block.q0 + rows[ok]).tolist(), generated[sl][ok].tolist(),
                               prefill[sl][ok].tolist(), block.time[lo:hi][ok].tolist(),
                               strict=True))
        n_adm = len(entries)
        if entries:
            self.gpu.admit(t, entries)
        self._log(k, t, idx.size, holdings, free, budget, self.lam, n_adm, idx.size - n_adm,
                  committed)

    def _finish_small(self, k: int, t: float, part: tuple[Block, int, int], idx: np.ndarray,
                      caps: list[int], free: float, holdings: float, budget: float) -> None:
        """The rest of :meth:`decide` for one block slice of a few queries, on lists
        (the same records, bank moves, GPU entries and order of side effects)."""
        block, lo, hi = part
        view = self.view
        rollout = block.rollout[lo:hi]
        rows = idx.tolist()
        lengths, grades = view.lists.lengths, view.lists.correct
        length = [lengths[i][r] for i, r in zip(rows, rollout.tolist(), strict=True)]
        graded = [grades[i][r] for i, r in zip(rows, rollout.tolist(), strict=True)]
        admit = [c >= 1 for c in caps]
        generated = [min(g, c) if a else 0 for g, c, a in zip(length, caps, admit, strict=True)]
        committed = sum(c for c, a in zip(caps, admit, strict=True) if a)
        self.bank.commit(committed)
        block.tick[lo:hi] = k
        block.cap[lo:hi] = caps                 # caps are >= 0: the zeros stay zero
        block.generated[lo:hi] = generated
        block.correct[lo:hi] = [c and g <= cap and a for c, g, cap, a
                                in zip(graded, length, caps, admit, strict=True)]
        n = hi - lo
        n_adm = sum(admit)
        if n_adm < n:
            self.ledger.abandoned(block, np.array([lo + i for i in range(n) if not admit[i]],
                                                  dtype=np.int64), t)
        if self.env.trace is not None:
            for i, a in enumerate(admit):
                self.env.log(f"{'admit' if a else 'abandon'} q{block.q0 + lo + i}")
        if n_adm:
            p0, p1 = self.p0, self.p1
            prompt = [view.lists.prompt_tokens[i] for i in rows]
            times = block.time[lo:hi].tolist()
            q0 = block.q0 + lo
            self.gpu.admit(t, [(q0 + i, generated[i], p0 + p1 * float(prompt[i]), times[i])
                               for i in range(n) if admit[i]])
        self._log(k, t, n, holdings, free, budget, self.lam, n_adm, n - n_adm, committed)

    def _decide_one(self, k: int, t: float, block: Block, j: int, free: float,
                    holdings: float, budget: float) -> None:
        """The same decision for a single pending query, in scalar form (fast path)."""
        view = self.view
        lists = view.lists
        i = int(block.pool_index[j])
        limit = lists.max_tokens[i]
        if self.policy is None:
            cap = limit
        else:
            sl = slice(j, j + 1)
            inp = AllocationInput(
                thresholds=block.threshold[sl], budget=budget,
                log_spread=_known(block.spread[sl]), solvability=_known(block.solvability[sl]),
                true_tau=view.tau[i:i + 1],
                curves=(view.pool.lengths[i:i + 1], view.good[i:i + 1])
                if self._curves else None,
                warm_start=self.lam, threshold_sd=_sd(block),
                prior_thresholds=self._reference(block.threshold[sl]))
            alloc = self.policy(inp, self.params)
            self.lam = alloc.shadow_price
            cap = int(integer_caps(np.asarray(alloc.caps, dtype=np.float64),
                                   view.max_tokens[i:i + 1], budget)[0])
        block.tick[j] = k
        q = block.q0 + j
        if cap < 1:
            self.ledger.abandoned(block, np.array([j]), t)
            self.env.log(f"abandon q{q}")
            self._log(k, t, 1, holdings, free, budget, self.lam, 0, 1, 0)
            return
        generated, correct = replay_one(view.pool, i, int(block.rollout[j]), cap)
        block.cap[j] = cap
        block.generated[j] = generated
        block.correct[j] = correct
        self.bank.commit(cap)
        if self.env.trace is not None:
            self.env.log(f"admit q{q}")
        self.gpu.admit(t, [(q, generated, self.p0 + self.p1 * float(lists.prompt_tokens[i]),
                            float(block.time[j]))])
        self._log(k, t, 1, holdings, free, budget, self.lam, 1, 0, cap)

    def _known(self, parts: list[tuple[Block, int, int]], column: str,
               cat: Callable[[Callable[[tuple[Block, int, int]], np.ndarray]], np.ndarray]
               ) -> np.ndarray | None:
        """``_known`` of a column over ``parts``, using what is known of each whole block
        (checked once per block): all NaN (the predictor gave none) is None at once, no
        NaN at all is the values at once; only a mixed block is checked per tick."""
        kinds = [self._nan_kind(block, column) for block, _, _ in parts]
        if all(k == _ALL_NAN for k in kinds):
            return None
        values = cat(lambda p: getattr(p[0], column)[p[1]:p[2]])
        if all(k == _NO_NAN for k in kinds):
            return values
        return _known(values)

    def _nan_kind(self, block: Block, column: str) -> int:
        key = (block.q0, column)
        kind = self._nan_cols.get(key)
        if kind is None:
            if len(self._nan_cols) > 64:   # finished blocks' entries
                self._nan_cols.clear()
            nan = np.isnan(getattr(block, column))
            kind = _ALL_NAN if nan.all() else _MIXED if nan.any() else _NO_NAN
            self._nan_cols[key] = kind
        return kind

    def _reference(self, current: np.ndarray) -> np.ndarray:
        """A sample of recent predicted thresholds (tokens) for ``prior_thresholds``.

        The last REFERENCE predictions as of its latest renewal, which happens once
        REFRESH new ones have arrived (a quarter of its size while it is smaller), so it
        includes this tick's predictions when it was renewed now.
        """
        self._pending.append(current)   # joined into _recent only when it is renewed
        self._fresh += current.size
        if self._fresh >= min(REFRESH, max(1, self._sample.size // 4)):
            self._recent = np.concatenate([self._recent, *self._pending])[-REFERENCE:]
            self._pending = []
            self._sample, self._fresh = self._recent, 0
        return self._sample

    @staticmethod
    def _record(block: Block, lo: int, hi: int, k: int, caps: np.ndarray,
                generated: np.ndarray, correct: np.ndarray) -> None:
        block.tick[lo:hi] = k
        block.cap[lo:hi] = np.where(caps >= 1, caps, 0)
        block.generated[lo:hi] = np.where(caps >= 1, generated, 0)
        block.correct[lo:hi] = correct & (caps >= 1)

    def _log(self, k: int, t: float, pending: int, holdings: float, free: float,
             budget: float | None, lam: float | None, admitted: int, abandoned: int,
             committed: int) -> None:
        unl = self.bank.unlimited
        self.ticks.append(k, t, pending, None if unl else holdings, None if unl else free,
                          None if unl else budget, lam, admitted, abandoned, committed)


def _known(a: np.ndarray) -> np.ndarray | None:
    """``a`` unless it is all NaN (the predictor gave no such estimate)."""
    return None if np.isnan(a).all() else a


def _sd(block: Block) -> float | None:
    """The predictor's ``threshold_sd`` recorded on ``block``, or None."""
    return None if np.isnan(block.threshold_sd) else float(block.threshold_sd)
