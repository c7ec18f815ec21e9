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

No query waits for a later tick. A query already past its client's patience
(arrival + patience <= now) or its GPU deadline (arrival + deadline < now) when its
tick comes takes no share of the budget: it ends at arrival + patience (``timed_out``)
or arrival + deadline (``expired``). Policies also see a sample of the last
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
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from simpy.events import Event

from simulator.des.bank import TokenBank
from simulator.des.engine import START, TICK, At, Engine
from simulator.des.ledger import Ledger, PoolView
from simulator.des.pacing import Pacer
from simulator.des.records import EXPIRED, TIMED_OUT, Block, Spool
from simulator.des.replay import replay, replay_one
from simulator.des.rows import BlockRows
from simulator.des.source import ArrivalSource, QuerySource
from simulator.policies import AllocationInput, PolicyFn, uses_curves
from simulator.serving import Entry, Gpu, PatienceDraws

__all__ = ["REFERENCE", "Allocator", "integer_caps"]

REFERENCE = 512  #: recent predicted thresholds passed as ``prior_thresholds`` (about the
                 #: paper's batch of 500), for policies that fit a prior to the traffic
REFRESH = 64     #: new predictions before that sample is renewed (fewer while it is
                 #: small), so a policy can reuse a prior fitted to it in between


SMALL = 16  #: up to this many queries per tick, the scalar steps run on Python lists


def integer_caps(caps: np.ndarray, limit: np.ndarray, free: float) -> np.ndarray:
    """Whole-token caps: floor, clip to ``limit`` (L_max), and keep the sum <= ``free``.

    Up to :data:`SMALL` finite caps with integer limits it runs on Python ints (the same
    values: floor, min and the sum are exact; ``tests/test_des_small_tick.py``).
    """
    if caps.size <= SMALL and limit.dtype.kind in "iu":
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
    """:func:`integer_caps` on Python numbers (the same values), or None when a cap is
    not finite (numpy's NaN handling is not copied)."""
    if not all(map(math.isfinite, caps)):
        return None
    small = [min(math.floor(x) if x > 0.0 else 0, m) for x, m in zip(caps, limit, strict=True)]
    over = sum(small) - math.floor(free)
    while over > 0:
        k = small.index(max(small))  # the first largest, as argmax
        take = min(over, small[k])
        small[k] -= take
        over -= take
    return small


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
        patience: client patience per query number, or None (clients wait forever).
        deadline: the GPU's queue deadline (s), or None.
    """

    def __init__(self, env: Engine, period: float, source: ArrivalSource, bank: TokenBank,
                 gpu: Gpu, ledger: Ledger, view: PoolView, policy: PolicyFn | None,
                 params: Mapping[str, Any], ticks: Spool, prefill: tuple[float, float],
                 progress: Callable[[float], None] | None = None,
                 pacer: Pacer | None = None, patience: PatienceDraws | None = None,
                 deadline: float | None = None) -> None:
        self.env, self.period, self.source, self.bank = env, period, source, bank
        self.gpu, self.ledger, self.view = gpu, ledger, view
        self.policy, self.params, self.ticks = policy, params, ticks
        self.p0, self.p1 = prefill
        self.progress = progress
        self.pacer = pacer
        self.patience = patience
        self.deadline = math.inf if deadline is None else deadline
        self._late_check = patience is not None or deadline is not None
        self.lam: float | None = None
        self._curves = policy is not None and uses_curves(policy)
        self._int_limits = view.max_tokens.dtype.kind in "iu"
        self._whole_blocks = isinstance(source, QuerySource)  # (MultiSource fills blocks)
        self._rows: BlockRows | None = None  # the current block's rows (small ticks)
        self.n_ticks = 0
        self._recent: deque[float] = deque(maxlen=REFERENCE)
        self._sample = np.empty(0)
        self._fresh = 0
        self._t = 0.0  # time of the queued tick (s)

    def start(self) -> None:
        """Tick until every arrival has been decided: the first tick is planned after
        the processes started at time 0 (the streams draw their first blocks)."""
        At(self.env, 0.0, START, self._plan)

    def _plan(self, ev: Event) -> None:
        """Queue the next tick, if an arrival is left to decide (``ev``: the event that
        has just run, queued again)."""
        nxt = self.source.peek()
        if nxt == np.inf:
            return
        self._t = nxt if self.period == 0 else self.n_ticks * self.period
        self.env.again(ev, self._t, TICK, self._tick)

    def _tick(self, ev: Event) -> None:
        t = self._t
        self.decide(t)
        if self.progress is not None:
            self.progress(t)
        self._plan(ev)

    def decide(self, t: float) -> None:
        """One tick at time ``t`` (s)."""
        k = self.n_ticks
        self.n_ticks += 1
        if self.env.trace is not None:  # (no string built untraced)
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
        if len(parts) == 1:
            block, lo, hi = parts[0]
            if hi - lo == 1:
                self._decide_one(k, t, block, lo, free, holdings, budget)
                return
            if hi - lo <= SMALL and self.env.trace is None:
                give: list[float] | None = None
                if self._late_check:  # (a query late at its tick takes the array form)
                    give = self._block_give_ups(block, lo, hi, t)
                if give is not None or not self._late_check:
                    self._decide_small(k, t, block, lo, hi, free, holdings, budget, give)
                    return
        cat = (lambda f: f(parts[0])) if len(parts) == 1 else (
            lambda f: np.concatenate([f(p) for p in parts]))
        idx = cat(lambda p: p[0].pool_index[p[1]:p[2]])
        view = self.view
        limit = view.max_tokens[idx]
        arrival = cat(lambda p: p[0].time[p[1]:p[2]])
        give_up: np.ndarray | None = None  # None: no patience or deadline (all inf)
        late: np.ndarray | None = None
        if self._late_check:
            give_up, late = self._late(
                cat(lambda p: np.arange(p[0].q0 + p[1], p[0].q0 + p[2])), arrival, t)
        if late is not None and late.all():
            caps = np.zeros(idx.size, dtype=np.int64)
        elif self.policy is None:
            caps = limit.copy()
        else:
            keep = slice(None) if late is None else ~late
            thresholds = cat(lambda p: p[0].threshold[p[1]:p[2]])[keep]
            inp = AllocationInput(
                thresholds=thresholds, budget=budget,
                log_spread=_known(cat(lambda p: p[0].spread[p[1]:p[2]])[keep]),
                solvability=_known(cat(lambda p: p[0].solvability[p[1]:p[2]])[keep]),
                true_tau=view.tau[idx[keep]],
                curves=(view.pool.lengths[idx[keep]], view.good[idx[keep]])
                if self._curves else None,
                warm_start=self.lam, threshold_sd=_sd(parts[0][0]),
                prior_thresholds=self._reference(thresholds))
            alloc = self.policy(inp, self.params)
            self.lam = alloc.shadow_price
            caps = np.zeros(idx.size, dtype=np.int64)
            caps[keep] = integer_caps(np.asarray(alloc.caps, dtype=np.float64), limit[keep],
                                      budget)
        if late is not None and self.policy is None:
            caps[late] = 0
        rollout = cat(lambda p: p[0].rollout[p[1]:p[2]])
        generated, correct = replay(view.pool, idx, rollout, caps)
        admit = caps >= 1
        committed = int(caps[admit].sum())
        bank.commit(committed)
        entries: list[Entry] = []
        prompt = view.prompt_tokens[idx] if parts[0][0].prompt is None else cat(_prompts)
        prefill = self.p0 + self.p1 * prompt
        off = 0
        for block, lo, hi in parts:
            sl = slice(off, off + hi - lo)
            off += hi - lo
            ok = admit[sl]
            self._record(block, lo, hi, k, caps[sl], generated[sl], correct[sl], ok)
            rows = np.arange(lo, hi)
            if late is not None:
                assert give_up is not None
                self._settle_late(block, rows, late[sl], arrival[sl], give_up[sl])
            if not ok.all():
                lost = ~ok if late is None else ~ok & ~late[sl]
                self.ledger.abandoned(block, rows[lost], t)
            if self.env.trace is not None:
                gone = np.zeros(ok.size, bool) if late is None else late[sl]
                for r, a, g in zip(rows.tolist(), ok.tolist(), gone.tolist(), strict=True):
                    if not g:
                        self.env.log(f"{'admit' if a else 'abandon'} q{block.q0 + r}")
            qs = (block.q0 + rows[ok]).tolist()
            entries.extend(zip(qs, generated[sl][ok].tolist(),
                               prefill[sl][ok].tolist(), block.time[lo:hi][ok].tolist(),
                               prompt[sl][ok].tolist(), caps[sl][ok].tolist(),
                               [math.inf] * len(qs) if give_up is None
                               else give_up[sl][ok].tolist(), strict=True))
        n_adm = len(entries)
        if entries:
            self.gpu.admit(t, entries)
        self._log(k, t, idx.size, holdings, free, budget, self.lam, n_adm, idx.size - n_adm,
                  committed)

    def _decide_small(self, k: int, t: float, block: Block, lo: int, hi: int, free: float,
                      holdings: float, budget: float, give_up: list[float] | None = None
                      ) -> None:
        """:meth:`decide` for a few queries of one block, none of them past its patience
        or deadline, without trace: the policy sees the same arrays; caps, replay, bank,
        records and GPU entries are computed on Python lists (the same integers, booleans
        and float operations as the array form). ``give_up``: their give-up times (s;
        None: no patience, all inf)."""
        view = self.view
        rows = self._block_rows(block)
        if rows is not None:
            limit_l, tau = rows.limit[lo:hi], rows.tau[lo:hi]
        else:
            idx = block.pool_index[lo:hi]
            limit_l, tau = view.max_tokens[idx].tolist(), view.tau[idx]
        c: list[int] | None = None
        if self.policy is None:
            c = limit_l
        else:
            thresholds = block.threshold[lo:hi]
            curves = None
            if self._curves:
                idx = block.pool_index[lo:hi]
                curves = (view.pool.lengths[idx], view.good[idx])
            inp = AllocationInput(
                thresholds=thresholds, budget=budget,
                log_spread=None if rows is not None and rows.no_spread
                else _known(block.spread[lo:hi]),
                solvability=None if rows is not None and rows.no_solvability
                else _known(block.solvability[lo:hi]), true_tau=tau, curves=curves,
                warm_start=self.lam, threshold_sd=_sd(block),
                prior_thresholds=self._reference(thresholds))
            alloc = self.policy(inp, self.params)
            self.lam = alloc.shadow_price
            raw = np.asarray(alloc.caps, dtype=np.float64)
            if raw.size <= SMALL and self._int_limits:
                c = _integer_caps_small(raw.tolist(), limit_l, budget)
            if c is None:
                c = integer_caps(raw, view.max_tokens[block.pool_index[lo:hi]], budget).tolist()
        if rows is not None:
            lengths, graded = rows.length[lo:hi], rows.graded[lo:hi]
        else:
            pool = view.pool
            idx, roll = block.pool_index[lo:hi], block.rollout[lo:hi]
            lengths, graded = pool.lengths[idx, roll].tolist(), pool.correct[idx, roll].tolist()
        gen = [min(n, x) if x >= 1 else 0 for n, x in zip(lengths, c, strict=True)]
        cor = [x >= 1 and g and n <= x for n, g, x in zip(lengths, graded, c, strict=True)]
        committed = sum(x for x in c if x >= 1)
        self.bank.commit(committed)
        block.tick[lo:hi] = k
        block.cap[lo:hi] = [x if x >= 1 else 0 for x in c]
        block.generated[lo:hi] = gen
        block.correct[lo:hi] = cor
        lost = [lo + j for j, x in enumerate(c) if x < 1]
        if lost:
            self.ledger.abandoned(block, np.array(lost, dtype=np.int64), t)
        if rows is not None:
            prompt, arrival = rows.prompt[lo:hi], rows.arrival[lo:hi]
        else:
            prompt = (view.prompt_tokens[block.pool_index[lo:hi]] if block.prompt is None
                      else block.prompt[lo:hi]).tolist()
            arrival = block.time[lo:hi].tolist()
        p0, p1, q0 = self.p0, self.p1, block.q0 + lo
        entries: list[Entry] = [
            (q0 + j, gen[j], p0 + p1 * float(prompt[j]), arrival[j], prompt[j], x,
             math.inf if give_up is None else give_up[j])
            for j, x in enumerate(c) if x >= 1]
        if entries:
            self.gpu.admit(t, entries)
        n = len(c)
        self._log(k, t, n, holdings, free, budget, self.lam, len(entries), n - len(entries),
                  committed)

    def _decide_one(self, k: int, t: float, block: Block, j: int, free: float,
                    holdings: float, budget: float) -> None:
        """The same decision for a single pending query, in scalar form (fast path)."""
        view = self.view
        i = int(block.pool_index[j])
        limit = int(view.max_tokens[i])
        q = block.q0 + j
        give_up = math.inf
        if self._late_check:
            one = self._block_give_ups(block, j, j + 1, t)
            if one is not None:
                give_up = one[0]
            else:  # past its patience or deadline: the array form settles it
                gu, late = self._late(np.array([q]), block.time[j:j + 1], t)
                assert late is not None
                block.tick[j] = k
                rows = np.array([j])
                self._settle_late(block, rows, late, block.time[j:j + 1], gu)
                self._log(k, t, 1, holdings, free, budget, self.lam, 0, 1, 0)
                return
        if self.policy is None:
            cap = limit
        else:
            sl = slice(j, j + 1)
            inp = AllocationInput(
                thresholds=block.threshold[sl], budget=budget,
                log_spread=_known(block.spread[sl]), solvability=_known(block.solvability[sl]),
                true_tau=view.tau[i:i + 1],
                curves=(view.pool.lengths[i:i + 1], view.good[i:i + 1]),
                warm_start=self.lam, threshold_sd=_sd(block),
                prior_thresholds=self._reference(block.threshold[sl]))
            alloc = self.policy(inp, self.params)
            self.lam = alloc.shadow_price
            cap = int(integer_caps(np.asarray(alloc.caps, dtype=np.float64),
                                   view.max_tokens[i:i + 1], budget)[0])
        block.tick[j] = k
        if cap < 1:
            self.ledger.abandoned(block, np.array([j]), t)
            if self.env.trace is not None:
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
        prompt = view.prompt_tokens[i] if block.prompt is None else block.prompt[j]
        self.gpu.admit(t, [(q, generated, self.p0 + self.p1 * float(prompt),
                            float(block.time[j]), int(prompt), cap, give_up)])
        self._log(k, t, 1, holdings, free, budget, self.lam, 1, 0, cap)

    def _late(self, q: np.ndarray, arrival: np.ndarray, t: float
              ) -> tuple[np.ndarray, np.ndarray | None]:
        """Give-up times (s; inf without patience) of queries ``q`` and which are already
        past their patience or deadline at the tick ``t`` (None: no such check)."""
        if not self._late_check:
            return np.full(q.size, math.inf), None
        give_up = (arrival + self.patience.of(q) if self.patience is not None
                   else np.full(q.size, math.inf))
        return give_up, (give_up <= t) | (arrival + self.deadline < t)

    def _block_rows(self, block: Block) -> BlockRows | None:
        """The rows of ``block`` for small ticks (None when blocks are not drawn whole)."""
        rows = self._rows
        if rows is None or rows.q0 != block.q0:
            rows = self._rows = BlockRows(block, self.view) if self._whole_blocks else None
        return rows

    def _block_give_ups(self, block: Block, lo: int, hi: int, t: float) -> list[float] | None:
        """:meth:`_give_ups` of rows ``lo:hi`` of ``block``, from its rows' give-up times
        (arrival + patience for the whole block at once: the same floats)."""
        rows = self._block_rows(block)
        if rows is None:
            return self._give_ups(block.q0 + lo, block.time[lo:hi].tolist(), t)
        if rows.give_up is None:
            n = block.time.size
            rows.give_up = ([math.inf] * n if self.patience is None else
                            (block.time + self.patience.of(np.arange(block.q0, block.q0 + n))
                             ).tolist())
        give = rows.give_up[lo:hi]
        if min(give) <= t or min(rows.arrival[lo:hi]) + self.deadline < t:
            return None
        return give

    def _give_ups(self, q0: int, arrival: list[float], t: float) -> list[float] | None:
        """Give-up times (s; inf without patience) of queries ``q0, q0 + 1, ...`` that
        arrived at ``arrival`` (s), as :meth:`_late` computes them, or None if one of
        them is already past its patience or deadline at the tick ``t``."""
        if self.patience is None:
            give = [math.inf] * len(arrival)
        else:
            give = [a + p for a, p in zip(arrival, self.patience.span(q0, q0 + len(arrival)),
                                          strict=True)]
        if (self.patience is not None and min(give) <= t) or min(arrival) + self.deadline < t:
            return None
        return give

    def _settle_late(self, block: Block, rows: np.ndarray, late: np.ndarray,
                     arrival: np.ndarray, give_up: np.ndarray) -> None:
        """Queries past their patience or deadline at their tick end without a cap, at
        the earlier of arrival + patience (timed_out) and arrival + deadline (expired)."""
        if not late.any():
            return
        expire = arrival + self.deadline
        timed = late & (give_up <= expire)
        for sel, ends, code in ((timed, give_up, TIMED_OUT), (late & ~timed, expire, EXPIRED)):
            if sel.any():
                self.ledger.timed_out_at_tick(block, rows[sel], ends[sel], code)
                if self.env.trace is not None:
                    name = "timeout" if code == TIMED_OUT else "expire"
                    for r in rows[sel].tolist():
                        self.env.log(f"{name} q{block.q0 + r}")

    def _reference(self, current: np.ndarray) -> np.ndarray:
        """A sample of recent predicted thresholds (tokens) for ``prior_thresholds``.

        The last REFERENCE predictions as of its latest renewal, which happens once
        REFRESH new ones have arrived (a quarter of its size while it is smaller), so it
        includes this tick's predictions when it was renewed now.
        """
        self._recent.extend(current[-REFERENCE:].tolist())  # (keeps the last REFERENCE)
        self._fresh += current.size
        if self._fresh >= min(REFRESH, max(1, self._sample.size // 4)):
            self._sample, self._fresh = np.array(self._recent, dtype=np.float64), 0
        return self._sample

    @staticmethod
    def _record(block: Block, lo: int, hi: int, k: int, caps: np.ndarray,
                generated: np.ndarray, correct: np.ndarray, ok: np.ndarray) -> None:
        """Row results of a tick; ``ok`` = caps >= 1 (admitted)."""
        block.tick[lo:hi] = k
        block.cap[lo:hi] = np.where(ok, caps, 0)
        block.generated[lo:hi] = np.where(ok, generated, 0)
        block.correct[lo:hi] = correct & ok

    def _log(self, k: int, t: float, pending: int, holdings: float, free: float,
             budget: float | None, lam: float | None, admitted: int, abandoned: int,
             committed: int) -> None:
        unl = self.bank.unlimited
        self.ticks.append(k, t, pending, None if unl else holdings, None if unl else free,
                          None if unl else budget, lam, admitted, abandoned, committed)


def _prompts(part: tuple[Block, int, int]) -> np.ndarray:
    """Trace prompt lengths (tokens) of the queries ``lo:hi`` of a block that has them."""
    block, lo, hi = part
    assert block.prompt is not None
    return block.prompt[lo:hi]


def _known(a: np.ndarray) -> np.ndarray | None:
    """``a`` unless it is all NaN (the predictor gave no such estimate)."""
    if a.size <= SMALL:
        return None if all(map(math.isnan, a.tolist())) else a
    return None if np.isnan(a).all() else a


def _sd(block: Block) -> float | None:
    """The predictor's ``threshold_sd`` recorded on ``block``, or None."""
    return None if math.isnan(block.threshold_sd) else float(block.threshold_sd)
