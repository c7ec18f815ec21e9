"""The GPU as a fluid continuous-batching resource (model.md section 6, docs/serving.md).

Model. At most S sequences hold a slot; more wait in a FIFO queue. With n sequences
decoding, one decode step takes s = s0 + s1 n + s2 C seconds (C: the cached context of
the running batch, tokens) and emits one token for each. Prefill is either a timer of
``p0 + p1 * prompt`` seconds (holding the slot, not slowing the others), or, with
``max_batched_tokens`` M, a share of each step: the step carries the n decode tokens
and M - n prompt tokens of the oldest sequence being prefilled, and takes p1 s more
per prompt token.

Fluid form. V(t), the *virtual token count*, is the number of steps since time 0:
dV/dt = 1 / s. Between events the batch is fixed, C grows by n tokens per step, and
the time to advance V is a quadratic (:mod:`simulator.serving.steptime`). A request
that takes a slot mid-step (s2 > 0) holds its KV at once, but its context enters C at
the step's end (a step's cost is fixed by the batch it started with): up to that
boundary the old C applies, after it the new one (``_pend``). A sequence
that starts decoding at V_j with g tokens to generate leaves when V reaches V_j + g;
the prefill head finishes when its remaining prompt is done; memory fills when the KV
held reaches the pool (:mod:`simulator.serving.memory`). The resource keeps heaps of
finish points, timer-prefill ends and client give-up times, and one engine
:class:`~simulator.serving.clock.Timer` set to the earliest of them: it runs only when
an event is due (a next event that moved later never wakes the GPU at the old time).
No event is ever scheduled per token; work per event is O(log n).

Client give-ups are cheap (most clients of an overloaded GPU give up in the queue): a
request waiting in the FIFO queue is only its entry tuple until it takes a slot; a
give-up behind a head that waits for memory or slots changes nothing but the queue, so
it skips the fill; and give-ups earlier than anything else on the engine are handled
in line by the callback that fired (:meth:`FluidGpu._fire`), at their own times, with
the same arithmetic as if each had its own callback. Such a give-up, well before the
next event of the fluid clock, does not even advance the fluid state: the queued level
it ends is recorded with :meth:`~simulator.serving.clock.Levels.drop`. A memory-full
step boundary with nothing else due near it (a fifth of the events of a GPU whose KV
binds) takes the same short way: :meth:`FluidGpu._mem_due` does only the preemptions,
in line as well when it comes before anything else on the engine.

Memory (``kv_tokens``). ``on-demand``: when the KV held reaches the pool, the newest
sequence is preempted: it frees its KV, keeps the tokens it generated, and goes to a
resume queue served before the FIFO queue; it re-prefills prompt + those tokens.
``reserve-cap``: admission reserves prompt + cap, so memory never fills.

Deadlines and patience. A request still in the FIFO queue ``deadline`` s after arrival
expires then (only the queue's head needs a timer). A client with patience gives up at
arrival + patience wherever its request is (outcome ``timed_out``, the whole tokens it
got are spent).

Order at one instant: leaves, then prefill completions join decoding, then memory-full
preemptions, then give-ups, then waiting requests take free slots (resumed first, then
FIFO), then queued requests at their deadline expire. GPU callbacks run at GPU priority,
ahead of an allocator tick at the same time (see :mod:`simulator.des.engine`).

With s2 = 0, unlimited memory, timer prefill and no patience the arithmetic is exactly
the original model's (dV = dt / (s0 + s1 n)), so its outputs are reproduced bit for bit.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from heapq import heappop, heappush
from math import ceil as _ceil
from math import floor as _floor
from math import sqrt as _sqrt

from simulator.serving.clock import Clock, Levels, Outcomes
from simulator.serving.memory import KvPool
from simulator.serving.spec import GpuSpec
from simulator.serving.steptime import time_for

__all__ = ["Entry", "FluidGpu", "Seq"]

QUEUED, PREFILL, CHUNK, JOIN, DECODE, GONE = range(6)
_INF = math.inf

Entry = tuple[int, int, float, float, int, int, float]
"""(query, tokens g >= 1, timer prefill s, arrival s, prompt tokens, cap tokens,
give-up time s or inf)."""


class Seq:
    """One request on the GPU. ``done``: tokens generated before its current run
    (non-zero after a preemption); ``held``: KV tokens it holds; ``epoch`` invalidates
    stale heap entries."""

    __slots__ = ("arrival", "cap", "done", "epoch", "first", "g", "give_up", "held",
                 "prefill", "prompt", "q", "started", "state", "v0")
    held: float  # set when it takes a slot
    v0: float    # V when it started decoding (set then)

    def __init__(self, q: int, g: int, prefill: float, arrival: float, prompt: int,
                 cap: int, give_up: float) -> None:
        self.q, self.g, self.prefill, self.arrival = q, g, prefill, arrival
        self.prompt, self.cap, self.give_up = prompt, cap, give_up
        self.done = 0.0
        self.epoch = 0
        self.state = QUEUED
        self.started = self.first = False


class FluidGpu:
    """Continuous batching with events only at joins, leaves and memory-full moments.

    Args:
        clock: the engine's clock.
        spec: the ``gpu`` section.
        occupancy: time-weighted level recorder.
        outcomes: receives each query's fate (the ledger).
    """

    def __init__(self, clock: Clock, spec: GpuSpec, occupancy: Levels,
                 outcomes: Outcomes) -> None:
        self.clock = clock
        self.s0, self.s1, self.s2 = spec.s0, spec.s1, spec.s2
        self.p0, self.p1 = spec.p0, spec.p1
        self.slots = spec.max_seqs if spec.max_seqs is not None else math.inf
        self.max_queue = spec.max_queue if spec.max_queue is not None else math.inf
        self.deadline = spec.deadline if spec.deadline is not None else math.inf
        self.budget = spec.max_batched_tokens  # None = timer prefill
        self.mem = KvPool(spec.kv_tokens, spec.block_size, spec.admission, spec.watermark)
        self._odm = self.mem.limited and not self.mem.reserve  # holdings grow
        self._capacity = self.mem.capacity
        self._full = self._capacity + 0.5  # KV held above this at a step boundary: full
        mem = self.mem  # (what _fill reads on each call, bound once)
        self._fill_k = (mem.limited, mem.reserve, mem.block, mem.at_most, mem.below,
                        self.slots)
        self.occupancy = occupancy
        self._out = outcomes
        self.on_start, self.on_leave, self.on_expire = (outcomes.started, outcomes.left,
                                                        outcomes.expired)
        self._plain = spec.s2 == 0 and not self.mem.limited and self.budget is None
        # serving-v2 mode: the batch changes only at step boundaries (integer V)
        self._extended = spec.extended
        self.t = 0.0          # time V was last advanced to (s)
        self.v = 0.0          # virtual tokens per decoding sequence (steps)
        self.ctx = 0.0        # cached context in the step time (tokens): see _pend
        self.held = 0.0       # KV tokens held (reserve-cap: reservations)
        self.n_dec = 0
        self.n_pre = 0
        self.n_join = 0       # prefilled, joining decoding at the next step boundary
        self.preemptions = 0
        self.never_fit = 0    # requests that expired at admission: larger than KV memory
        self._chunk: Seq | None = None   # the sequence being prefilled in the step budget
        self._chunk_left = 0.0           # its prompt tokens still to prefill
        self._chunk_at = math.inf        # V from which a new prompt may enter the budget
        self._spill = False              # a prompt finished now: the next takes its room
        self._joins: deque[tuple[float, int, Seq]] = deque()  # (V of the boundary, epoch, seq)
        self._dec: list[tuple[float, int, int, Seq]] = []    # (V at finish, q, epoch, seq)
        self._pre: list[tuple[float, int, int, Seq]] = []    # (time prefill ends, ...)
        # client give-ups: a heap of times (s) and who gives up then (a list, in query
        # order, when several do); a request waiting in the FIFO queue is its entry
        # there and its number in _waiting, a Seq only from when it takes a slot
        # (_patient: those with a give-up time, until they end)
        self._give: list[float] = []
        self._give_q: dict[float, int | list[int]] = {}
        self.queue: deque[Entry] = deque()                  # FIFO, lazily cleaned
        self._waiting: set[int] = set()                     # live in the FIFO queue
        self._patient: dict[int, Seq] = {}
        self._resume: deque[Seq] = deque()                   # preempted, newest first
        self._mem: dict[int, Seq] = {}                       # in memory, by admission
        self._firsts: list[int] = []  # started decoding at this instant, first token due
        self._timer = clock.timer(self._fire)
        self._next_t = math.inf
        self._give_next = False  # the next event is a client give-up (see _plan)
        self._mem_next = False   # the next event is a memory-full boundary only (_plan)
        self._v_next = math.inf  # the next event the fluid clock sets (s; see _plan)
        self._base_next = math.inf  # the earliest of it, timers and deadline (_replan)
        self._quiet = False      # a fill would change nothing (see _event)
        # context of sequences that took a slot mid-step (s2 > 0): it enters the step
        # time (ctx) at the step's end, V = _pend_at (the batch of a step is fixed when
        # it starts; their KV is held at once)
        self._pend = 0.0
        self._pend_at = math.inf
        self._pend_seqs: list[Seq] = []
        self._for_budget = False  # the last fill stopped on the prompt in the step budget
        self._trace = clock.trace is not None
        self._floor_k = 4.0 * 2.0**-52 / self.s0 if self.s0 > 0 else 0.0  # (see _due_eps)

    # ---- state -------------------------------------------------------------------
    @property
    def active(self) -> int:
        """Sequences holding a slot (prefilling or decoding)."""
        return self.n_dec + self.n_pre + self.n_join + (self._chunk is not None)

    def _boundary(self) -> float:
        """V of the next step boundary (V itself when it is on one)."""
        v = self.v
        return float(_ceil(v - 1e-9 * (v if v > 1.0 else 1.0)))  # (max(1.0, v))

    def _due_eps(self, t: float) -> tuple[float, float]:
        """(eps, floor): an event the fluid clock sets is due at ``t`` (s) when V is
        within ``eps`` steps of it, and the prompt in the step budget is done when at
        most ``floor`` steps of it are left.

        eps is 1e-9 relative to V, and never below ``floor``: at least the steps that
        four ulps of ``t`` hold (``t`` 4 x 2**-52 / s0, a bound that needs no step time
        on the hot path: one step takes >= s0). Closer than that, the time of the event
        rounds to ``t`` itself, the clock cannot advance to it, and without the floor
        the GPU would fire at ``t`` for ever (seen at t = 3.3e4 s with a resumed prompt
        6e-8 tokens short)."""
        v = self.v
        if self._floor_k:
            floor = t * self._floor_k
        else:  # (s0 = 0: the step time itself; none when idle)
            step = self._step(self._rate())
            floor = 4.0 * math.ulp(t) / step if step > 0.0 else 0.0
        eps = 1e-9 * (v if v > 1.0 else 1.0)  # (max(1.0, v))
        return (eps if eps > floor else floor), floor

    def _chunk_done(self, floor: float) -> bool:
        """The prompt in the step budget has no tokens left (within rounding)."""
        chunk = self._chunk
        assert chunk is not None
        left = self._chunk_left
        budget = self.budget  # (_rate in line)
        rate = float(max(budget - self.n_dec, 0)) if budget is not None else 0.0
        return left <= 1e-9 * max(1.0, chunk.prompt + chunk.done) or left <= rate * floor

    @property
    def n_queued(self) -> int:
        """Requests waiting in the FIFO queue."""
        return len(self._waiting)

    @property
    def load(self) -> int:
        """Requests in slots or waiting (FIFO and resume queues)."""
        return self.active + len(self._waiting) + len(self._resume)

    def sync(self, t: float) -> None:
        """Advance the fluid state to ``t`` (s) without handling events (a router reads
        the levels at ``t``; events due at ``t`` have already run)."""
        self._advance(t)

    @property
    def kv_used(self) -> float:
        """KV tokens held now (context, or reservations in reserve-cap mode)."""
        return self.held

    def _rate(self) -> float:
        """Prompt tokens prefilled per step in the step budget now."""
        if self._chunk is None:
            return 0.0
        return float(max(self.budget - self.n_dec, 0)) if self.budget is not None else 0.0

    def step_time(self) -> float:
        """Seconds one step takes now."""
        return self._step(self._rate())

    def _step(self, rate: float) -> float:
        """Seconds one step takes now with ``rate`` prompt tokens in it (:meth:`_rate`)."""
        return self.s0 + self.s1 * self.n_dec + self.s2 * self.ctx + self.p1 * rate

    def _advance(self, t: float) -> None:
        dt = t - self.t
        if dt <= 0:
            return
        n = self.n_dec
        tokens = 0.0
        if self._plain:
            if n:
                dv = dt / (self.s0 + self.s1 * n)
                self.v += dv
                tokens = n * dv
        else:  # (_rate, _step and steps_in in line: the same floats)
            r = 0.0
            if self._chunk is not None and self.budget is not None:
                r = float(max(self.budget - n, 0))
            if n or r or self._joins:
                a = self.s0 + self.s1 * n + self.s2 * self.ctx + self.p1 * r
                b = self.s2 * n
                dv = dt / a if b == 0.0 else 2.0 * dt / (a + _sqrt(a * a + 2.0 * b * dt))
                if self._pend_seqs and self.v + dv > self._pend_at - 1e-9 * max(1.0, self.v):
                    # the step's end, where the waiting context enters (usually an event:
                    # the finished prompt joins there); past it by more than rounding, the
                    # old context only up to it
                    x = self._pend_at - self.v
                    if dv > x + 1e-9 * max(1.0, self.v) and x > 0.0:
                        t1 = x * (a + 0.5 * b * x)  # (time_for in line)
                        self.v += x
                        tokens = n * x
                        self.ctx += tokens
                        if self._odm:
                            self.held += tokens
                        if r:
                            self._chunk_left -= r * x
                        dt -= t1
                        self._fold()
                        a = self.s0 + self.s1 * n + self.s2 * self.ctx + self.p1 * r
                        dv = dt / a if b == 0.0 else 2.0 * dt / (a + _sqrt(a * a + 2.0 * b * dt))
                    else:
                        self._fold()  # (the old context to the step's end within rounding)
                self.v += dv
                g = n * dv
                tokens += g
                self.ctx += g
                if self._odm:
                    self.held += g
                if r:
                    self._chunk_left -= r * dv
        self.occupancy.add(self.t, t, n + self.n_pre + self.n_join + (self._chunk is not None),
                           len(self._waiting) + len(self._resume), tokens)
        self.t = t

    def _fold(self) -> None:
        """The step in which sequences took a slot has ended: their context is in the
        step time from now."""
        self.ctx += self._pend
        self._pend = 0.0
        self._pend_at = _INF
        self._pend_seqs.clear()

    # ---- joins -------------------------------------------------------------------
    def admit(self, t: float, entries: list[Entry]) -> None:
        """Admit entries (see :data:`Entry`) at time ``t`` (s).

        They take free slots in order; the rest queue FIFO, and those beyond
        ``max_queue`` expire at once. A request that could never fit in KV memory
        expires at once too.
        """
        self._advance(t)
        queue, waiting = self.queue, self._waiting
        mem = self.mem  # (KvPool.possible in line: the same floats)
        limited, reserve, block = mem.limited, mem.reserve, mem.block
        bound = mem.capacity if reserve else mem.limit
        give, give_q = self._give, self._give_q
        for e in entries:
            q = e[0]
            if limited and (_ceil((e[4] + (e[5] if reserve else e[1])) / block - 1e-9) * block
                            > bound):
                self.never_fit += 1
                self.on_expire(q, t, t)
                if self._trace:
                    self.clock.log(f"expire q{q}")
                continue
            queue.append(e)
            waiting.add(q)
            g = e[6]
            if g < _INF:
                x = give_q.get(g)
                if x is None:
                    give_q[g] = q
                else:  # (a tie: in query order, as a heap of (time, query) pops)
                    if isinstance(x, int):
                        x = give_q[g] = [x]
                    insort(x, q)
                heappush(give, g)
        self._fill(t)
        self._expire_due(t)
        while len(waiting) > self.max_queue:
            q = queue.pop()[0]
            if q not in waiting:
                continue
            waiting.remove(q)
            self.on_expire(q, t, t)
            if self._trace:
                self.clock.log(f"expire q{q}")
        self._quiet = False
        self._schedule()

    def _fill(self, t: float, dry: bool = False) -> bool:
        """Waiting requests take free slots, in order, while they fit. Returns False
        when a prompt waits for the next step boundary (``_chunk_at``), True when the
        rest waits for an event: slots, memory, the prompt in the step budget, or
        nothing waits.

        ``dry``: change nothing (beyond dropping given-up heads); return True only if
        the fill would stop at once, waiting for an event."""
        queue, resume, waiting = self.queue, self._resume, self._waiting
        self._for_budget = False
        if not queue and not resume:  # nothing waits (the common case at low load)
            return True
        limited, reserve, block, at_most, below, slots = self._fill_k  # (KvPool.fits in
        #                                                   line below: the same floats)
        while (self.n_dec + self.n_pre + self.n_join + (self._chunk is not None)) < slots:
            s: Seq | None
            if resume:
                s = resume[0]
                if s.state == GONE:  # gave up while waiting
                    resume.popleft()
                    continue
                context, cap = s.prompt + s.done, s.cap
            elif queue:
                e = queue[0]
                if e[0] not in waiting:  # gave up while waiting
                    queue.popleft()
                    continue
                if e[3] + self.deadline < t:  # decided after its deadline
                    if dry:
                        return False
                    queue.popleft()
                    waiting.remove(e[0])
                    self.on_expire(e[0], e[3] + self.deadline, t)
                    if self._trace:
                        self.clock.log(f"expire q{e[0]}")
                    continue
                s = None
                context, cap = e[4] + 0.0, e[5]  # (prompt + no tokens done)
            else:
                return True
            if limited:  # KV as allocated for the step in progress
                if reserve:
                    if self.held + _ceil((context + cap) / block - 1e-9) * block > at_most:
                        return True  # FIFO: the head waits for memory
                else:
                    need = _ceil(context / block - 1e-9) * block
                    after = self.held + need
                    if not (after <= at_most and after < below):
                        return True  # (without the step's tokens already: no room)
                    n = self.n_dec
                    if n:  # the step in progress allocates one token per sequence
                        v = self.v
                        after = (self.held + n * (float(_ceil(v - 1e-9 * (v if v > 1.0
                                                                          else 1.0))) - v)
                                 + need)
                        if not (after <= at_most and after < below):
                            return True
            if self.budget is not None:
                if self._chunk is not None:
                    self._for_budget = True
                    return True  # one prompt at a time in the step budget (fluid)
                if self.n_dec and not self._spill:
                    v = self.v  # (_boundary and the floor of _due_eps in line)
                    vb = float(_ceil(v - 1e-9 * (v if v > 1.0 else 1.0)))
                    floor = t * self._floor_k if self._floor_k else self._due_eps(t)[1]
                    if vb > v + max(1e-9, floor):
                        if not dry:
                            self._chunk_at = vb  # the step's budget is planned
                        return False
            if dry:
                return False
            if s is None:
                queue.popleft()
                waiting.remove(e[0])
                s = Seq(*e)
            else:
                resume.popleft()
            self._load(s, t, context)
        return True

    def _load(self, s: Seq, t: float, context: float) -> None:
        """``s`` takes a slot at ``t``: its KV is allocated and its prefill starts."""
        if not s.started:
            s.started = True
            if s.give_up < _INF:
                self._patient[s.q] = s
            self.on_start(s.q, t)
            if self._trace:
                self.clock.log(f"start q{s.q}")
        elif self._trace:
            self.clock.log(f"resume q{s.q}")
        if not self._plain:
            mem = self.mem  # (KvPool.hold in line: the same floats)
            s.held = (context + s.cap if mem.reserve else context) if mem.limited else 0.0
            self.held += s.held
            self._mem[s.q] = s
            if self.n_dec > 0 or self._chunk is not None or self._joins or self._spill:
                v = self.v  # a step is in progress: mid-step? (_boundary in line; with
                #             s2 = 0 the context is not in the step time)
                if self.s2 and (vb := float(_ceil(v - 1e-9 * (v if v > 1.0 else 1.0)))) > (
                        v + 1e-9 * (v if v > 1.0 else 1.0)):
                    self._pend += context  # (in the step time from the step's end)
                    self._pend_at = vb
                    self._pend_seqs.append(s)
                else:
                    self.ctx += context
            else:
                if self.budget is not None:  # an idle GPU starts a step now
                    self.v = self._boundary()
                    if self._pend_seqs:
                        self._fold()
                self.ctx += context
        s.epoch += 1
        if self.budget is not None:
            s.state = CHUNK
            self._chunk, self._chunk_left = s, context
            self._chunk_at = math.inf
            return
        prefill = s.prefill if s.done == 0 else self.p0 + self.p1 * context
        if prefill > 0:
            s.state = PREFILL
            self.n_pre += 1
            heappush(self._pre, (t + prefill, s.q, s.epoch, s))
        else:
            self._ready(s, t)

    def _ready(self, s: Seq, t: float) -> None:
        """``s`` is prefilled: it decodes from the next step boundary (at once in the
        original model, or when no step is in progress)."""
        if not self._plain:  # (_boundary in line; a step is in progress while sequences
            #                 decode, a prompt is in the budget or prefilled ones wait to join)
            v = self.v
            vb = float(_ceil(v - 1e-9 * (v if v > 1.0 else 1.0)))
            if (not (self.n_dec > 0 or self._chunk is not None or self._joins)
                    and s.state != CHUNK):
                self.v = vb
                if self._pend_seqs:  # (a step ended while the GPU idled)
                    self._fold()
            elif vb > v + 1e-9 * (v if v > 1.0 else 1.0):  # (max(1.0, v))
                # (a finished prompt waits for the end of its step even on an idle
                # GPU: the step costs s0 whether or not the next prompt fills it)
                s.state = JOIN
                s.epoch += 1
                self.n_join += 1
                self._joins.append((vb, s.epoch, s))
                return
        self._decode(s, t)

    def _decode(self, s: Seq, t: float) -> None:
        s.state = DECODE
        s.epoch += 1
        self.n_dec += 1
        s.v0 = self.v
        heappush(self._dec, (self.v + (s.g - s.done), s.q, s.epoch, s))
        if self._extended and not s.first:
            s.first = True
            self._firsts.append(s.q)

    def _expire_due(self, t: float) -> bool:
        """Queued requests whose deadline is <= ``t`` expire now (the queue is in arrival
        order, so they are a prefix of it). Returns whether any did."""
        queue, waiting = self.queue, self._waiting
        expired = False
        while queue and (queue[0][0] not in waiting or queue[0][3] + self.deadline <= t):
            q = queue.popleft()[0]
            if q not in waiting:
                continue
            waiting.remove(q)
            expired = True
            self.on_expire(q, t, t)
            if self._trace:
                self.clock.log(f"expire q{q}")
        return expired

    # ---- leaving memory ------------------------------------------------------------
    def _unload(self, s: Seq) -> float:
        """Take ``s`` out of its slot and memory; return the tokens it generated (fluid)."""
        gen = s.done
        if s.state == DECODE:
            self.n_dec -= 1
            gen += self.v - s.v0
        elif s.state == PREFILL:
            self.n_pre -= 1
        elif s.state == JOIN:
            self.n_join -= 1
        elif s.state == CHUNK:
            self._chunk = None
        if not self._plain:
            self._mem.pop(s.q, None)
            if self._pend_seqs and s in self._pend_seqs:  # (it never decoded: gen = done)
                self._pend_seqs.remove(s)
                self._pend -= s.prompt + gen
                if not self._pend_seqs:
                    self._pend, self._pend_at = 0.0, _INF
            else:
                self.ctx -= s.prompt + gen
            self.held -= s.prompt + gen if self._odm else s.held  # on-demand: its context
            if not self._mem:  # nothing in memory: drop accumulated rounding
                self.held = self.ctx = self._pend = 0.0
        s.epoch += 1
        return gen

    def _preempt(self) -> None:
        """Memory is full: the newest sequence in memory frees its KV and will resume."""
        s = self._mem[next(reversed(self._mem))]
        s.done = min(float(round(self._unload(s))), float(s.g))  # at a step boundary
        s.state = QUEUED
        self._resume.appendleft(s)
        self.preemptions += 1
        self._out.preempted(s.q)
        if self._trace:
            self.clock.log(f"preempt q{s.q}")

    def _give_up(self, s: Seq, t: float) -> None:
        """The client of ``s`` (it has taken a slot before) gives up at ``t`` (s)."""
        del self._patient[s.q]
        if s.state == QUEUED:  # rare: a preempted request (resume queue), O(len(resume))
            self._resume.remove(s)
            used = s.done
        else:
            used = self._unload(s)
        s.state = GONE
        self._out.timed_out(s.q, t, min(int(used + 1e-9), s.g))
        if self._trace:
            self.clock.log(f"timeout q{s.q}")

    def _give_gone(self, q: int, t: float) -> None:
        """The client of ``q``, waiting in the FIFO queue, gives up at ``t`` (s) (its
        entry leaves the queue lazily)."""
        self._waiting.remove(q)
        self._out.timed_out(q, t, 0)  # (no token yet)
        if self._trace:
            self.clock.log(f"timeout q{q}")

    def _give_top(self) -> float:
        """The earliest give-up time (s) of a live request (inf if none); give-ups of
        requests that ended first are dropped."""
        give, give_q, waiting, patient = self._give, self._give_q, self._waiting, self._patient
        while give:
            x = give_q[give[0]]
            q = x if isinstance(x, int) else x[0]
            if q in waiting or q in patient:
                return give[0]
            self._pop_give()
        return _INF

    def _pop_give(self) -> int:
        """Remove the earliest give-up; its query."""
        t = heappop(self._give)
        x = self._give_q[t]
        if isinstance(x, int):
            del self._give_q[t]
            return x
        q = x.pop(0)
        if len(x) == 1:
            self._give_q[t] = x[0]
        return q

    # ---- events ------------------------------------------------------------------
    def _schedule(self) -> None:
        """Plan the next event and set the engine timer to it."""
        self._plan()
        self._timer.set(self._next_t)

    def _plan(self, passive: bool = False) -> None:
        """Set ``_next_t``, the time (s) of the next event, and ``_give_next``: whether
        it is a client give-up earlier than every other event (one :meth:`_fire` may
        then handle it in line, see there).

        ``passive``: only FIFO give-ups happened since the last full plan, so the next
        event that the fluid clock sets (a leave, the prompt in the budget, memory
        full, a join or a deferred prompt: ``_v_next``, s) has not moved; it only
        changes by rounding when recomputed from the advanced state. When the next
        give-up is well before it (by 1e-6 s + 1e-9 relative, far above that rounding),
        and before the timer events, it is the next event, and the fluid candidate
        need not be recomputed.

        (``b if b > a else a`` is ``max(a, b)`` and ``b if b < a else a`` is
        ``min(a, b)``, operand for operand: the same floats, without the calls.)"""
        if self._firsts:  # first token: one fluid step of the batch as it is now
            n, budget = self.n_dec, self.budget  # (step_time in line)
            r = float(max(budget - n, 0)) if self._chunk is not None and budget is not None \
                else 0.0
            a = self.s0 + self.s1 * n + self.s2 * self.ctx + self.p1 * r
            t1 = self.t + time_for(1.0, a, self.s2 * n)
            for q in self._firsts:
                self._out.first_token(q, t1)
            self._firsts.clear()
        if passive and self._give:
            g = self._give_top()
            vn = self._v_next
            pre, queue = self._pre, self.queue
            if (g < _INF and (vn == _INF or g < vn - (1e-6 + 1e-9 * vn))
                    and (not pre or g < pre[0][0])
                    and (not queue or g < queue[0][3] + self.deadline)):
                self._give_next = True
                self._mem_next = False
                self._next_t = g if g >= self.t else self.t
                return
        dec = self._dec
        while dec and dec[0][3].epoch != dec[0][2]:
            heappop(dec)
        nxt = _INF
        v = self.v
        n = self.n_dec
        mem = _INF  # V steps to a memory-full boundary that is the only event there
        if self._plain:
            if dec:
                step = self.s0 + self.s1 * n
                nxt = self.t + max(dec[0][0] - v, 0.0) * step
        else:  # (_rate, _step, _boundary and time_for in line: the same floats)
            dx = _INF
            if dec:
                dx = dec[0][0] - v
                if dx < 0.0:
                    dx = 0.0
            r = 0.0
            if self._chunk is not None and self.budget is not None:
                r = float(max(self.budget - n, 0))
                if r > 0:
                    dx = min(dx, max(self._chunk_left, 0.0) / r)
            if n:
                # the boundary before the next step overflows memory; not before dx
                # when there is room for dx + 3 more steps (then y >= k > dx below)
                if self._odm and self._full - self.held <= n * (dx + 3.0):
                    vb = float(_ceil(v - 1e-9 * (v if v > 1.0 else 1.0)))
                    k = _floor((self._full - (self.held + n * (vb - v))) / n)
                    y = vb - v + (0 if k < 0 else k)
                    if y < dx:
                        if y + (1e-6 + 1e-8 * (v if v > 1.0 else 1.0)) < dx:
                            mem = y
                        dx = y
                at = self._chunk_at
                if at < _INF and at > v and at - v < dx + 1e-6 + 1e-8 * v:
                    mem = _INF
                    if at - v < dx:
                        dx = at - v
            joins = self._joins
            if joins:
                y = joins[0][0] - v
                if y < 0.0:
                    y = 0.0
                if y < dx + 1e-6 + 1e-8 * (v if v > 1.0 else 1.0):
                    mem = _INF
                    if y < dx:
                        dx = y
            if dx < _INF:
                a = self.s0 + self.s1 * n + self.s2 * self.ctx + self.p1 * r
                b = self.s2 * n
                if self._pend_seqs and (y := self._pend_at - v) < dx:
                    # the waiting context enters at the step's end, y steps on
                    if y < 0.0:
                        y = 0.0
                    z = dx - y
                    a2 = a + b * y + self.s2 * self._pend
                    nxt = self.t + y * (a + 0.5 * b * y) + z * (a2 + 0.5 * b * z)
                else:
                    nxt = self.t + (dx * a if b == 0.0 else dx * (a + 0.5 * b * dx))
        self._v_next = nxt
        self._replan()  # (the timer events and give-ups)
        if mem < _INF and self._quiet and not self._give_next and not self._trace:
            # only the memory-full boundary is due then (the other candidates are
            # later by more than _event's rounding), and the fill is quiet: see _mem_due
            nxt += 1e-6 + 1e-9 * nxt
            pre, queue, give = self._pre, self.queue, self._give
            self._mem_next = ((not pre or pre[0][0] > nxt)
                              and (not queue or queue[0][3] + self.deadline > nxt)
                              and (not give or give[0] > nxt))
        else:
            self._mem_next = False

    def _replan(self, behind: bool = False) -> None:
        """Set ``_next_t`` and ``_give_next`` from ``_v_next`` (the fluid clock's next
        event, s) and the other candidates: timer prefills, the queue head's deadline,
        the earliest live give-up. The end of :meth:`_plan`; on its own, when nothing
        but FIFO give-ups happened since it last ran and the state has not advanced
        (``_v_next`` is then the same float: the same result as a full plan).

        ``behind``: only a give-up behind the queue's head since the last call: the
        timers and the head's deadline are as then (``_base_next``), only the give-ups
        moved."""
        if behind:
            nxt = self._base_next
        else:
            nxt = self._v_next
            pre = self._pre
            if pre:
                while pre and pre[0][3].epoch != pre[0][2]:
                    heappop(pre)
                if pre and pre[0][0] < nxt:
                    nxt = pre[0][0]
            queue = self.queue
            if queue:
                waiting = self._waiting
                while queue and queue[0][0] not in waiting:
                    queue.popleft()
                if queue and queue[0][3] + self.deadline < nxt:
                    nxt = queue[0][3] + self.deadline
            self._base_next = nxt
        give = self._give
        if give:  # (_give_top in line when the earliest give-up is live: the common case)
            g = give[0]
            x = self._give_q[g]
            q = x[0] if x.__class__ is list else x
            if not (q in self._patient or q in self._waiting):
                g = self._give_top()
            if g < nxt:
                self._give_next = True
                nxt = g
            else:
                self._give_next = False
        else:
            self._give_next = False
        if nxt < _INF and self.t > nxt:
            nxt = self.t
        self._next_t = nxt

    def _fire(self) -> None:
        """The engine callback: handle the event due now.

        Then, while the next event is a client give-up earlier than anything else
        scheduled on the engine (``clock.peek``: allocator ticks, other replicas,
        cancelled callbacks), handle it here at its own time without a round trip
        through the engine's queue: nothing else can act in between, and the GPU reads
        the time only from its argument. Not when tracing (the trace reads the clock).
        """
        t = self.clock.now
        if t < self._next_t:  # the callback set at the last in-line give-up (below)
            return
        if self._give_next:
            self._give_up_due(t)
        elif self._mem_next:
            self._mem_due(t)
        else:
            self._event(t)
        if (self._give_next or self._mem_next) and not self._trace:
            until = self.clock.peek()
            last = t
            while self._next_t < until:
                if self._give_next:
                    last = self._next_t
                    self._give_up_due(last)
                elif self._mem_next:
                    last = self._next_t
                    self._mem_due(last)
                else:
                    break
            if last > t and self._next_t == _INF:
                self._timer.set(last)  # a callback that finds nothing due, so the
                return                 # engine's clock still ends at the GPU's last event
        self._timer.set(self._next_t)

    def _give_up_due(self, t: float) -> None:
        """The next event, at ``t`` (s), is a client give-up (``_give_next``).

        When the fill is quiet (see :meth:`_event`) and the client waits in the FIFO
        queue behind its head, and nothing else falls due at ``t`` within the rounding
        :meth:`_event` allows, all that happens is the give-up: no fill, no preemption,
        no expiry; and when ``t`` is also well before the fluid clock's next event (the
        margin of :meth:`_plan`'s passive form), the state is not even advanced to ``t``
        (the occupancy takes the queue's drop, :meth:`_replan` the next event).
        Otherwise :meth:`_event` handles ``t``."""
        x = self._give_q[self._give[0]]
        q = x[0] if x.__class__ is list else x
        if not self._quiet or q not in self._waiting or self._heads(q):
            self._event(t)
            return
        vn = self._v_next
        if (vn == _INF or t < vn - (1e-6 + 1e-9 * vn)) and self.occupancy.drop(self.t, t):
            # well before the next event of the fluid clock (as in _plan's passive
            # form): nothing is due at t, the state need not advance to it
            self._pop_give()
            self._waiting.remove(q)  # (_give_gone, in line)
            self._out.timed_out(q, t, 0)
            if self._trace:
                self.clock.log(f"timeout q{q}")
            self._replan(behind=True)
            return
        self._advance(t)
        v = self.v
        eps, floor = self._due_eps(t)  # (as in _event)
        dec, joins, chunk = self._dec, self._joins, self._chunk
        if ((dec and dec[0][0] <= v + eps) or (joins and joins[0][0] <= v + eps)
                or (chunk is not None and self._chunk_done(floor))
                or (self._odm and self.n_dec and self._boundary() <= v + eps)):
            self._event(t)  # (_advance is then a no-op)
            return
        self._pop_give()
        self._waiting.remove(q)  # (_give_gone, in line)
        self._out.timed_out(q, t, 0)
        if self._trace:
            self.clock.log(f"timeout q{q}")
        self._plan(passive=True)

    def _event(self, t: float) -> None:
        """Handle everything due at ``t`` (s), in the order of the module docstring,
        and plan the next event.

        ``_quiet``: the last fill stopped on something only an event changes (slots,
        memory, the prompt in the step budget) and nothing changed since; then a client
        who gives up in the FIFO queue behind its head cannot let anyone in, and the
        fill is skipped (it would find the same head blocked)."""
        self._advance(t)
        quiet = self._quiet
        if self._floor_k:  # (_due_eps in line)
            floor = t * self._floor_k
            v = self.v
            eps = 1e-9 * (v if v > 1.0 else 1.0)
            if not eps > floor:
                eps = floor
        else:
            eps, floor = self._due_eps(t)
        dec, pre = self._dec, self._pre
        while dec and dec[0][0] <= self.v + eps:
            _, q, epoch, s = heappop(dec)
            if s.epoch != epoch:
                continue
            quiet = False
            self._unload(s)
            s.state = GONE
            if s.give_up < _INF:
                del self._patient[q]
            self.on_leave(q, t)
            if self._trace:
                self.clock.log(f"leave q{q}")
        while pre and pre[0][0] <= t:
            _, q, epoch, s = heappop(pre)
            if s.epoch != epoch:
                continue
            quiet = False
            self.n_pre -= 1
            self._ready(s, t)
            if self._trace:
                self.clock.log(f"decode q{q}")
        chunk = self._chunk
        if chunk is not None and self._chunk_done(floor):
            if self._for_budget:  # (a fill that stopped on slots, memory or an empty
                quiet = False     # queue stays quiet: the prompt keeps its slot and KV)
            self._chunk = None
            self._spill = True
            self._ready(chunk, t)
            if self._trace:
                self.clock.log(f"decode q{chunk.q}")
        joins = self._joins
        if joins and joins[0][0] <= self.v + eps:
            quiet = False
            self._join_due(t, eps)
        give = self._give
        while give and give[0] <= t:
            q = self._pop_give()
            if q in self._waiting:
                if quiet and self._heads(q):
                    quiet = False
                self._give_gone(q, t)
            elif q in self._patient:
                quiet = False
                self._give_up(self._patient[q], t)
        if not quiet:
            self._chunk_at = math.inf  # _fill defers again if a prompt still must wait
            self._quiet = self._fill(t) if self.queue or self._resume else False
        self._spill = False
        if self._odm and self.n_dec and self.held + self.n_dec > self._full and (
                float(_ceil((v := self.v) - 1e-9 * (v if v > 1.0 else 1.0))) <= v + eps):
            # at a step boundary (V as above; _boundary in line)
            self._make_room(t)
        if self.queue and self.deadline < math.inf and self._expire_due(t):
            self._quiet = False  # (without a deadline _plan drops given-up heads)
        self._plan()

    def _make_room(self, t: float) -> None:
        """At a step boundary, the next step's tokens do not fit: the newest sequences
        give way. Then the fill is quiet if the preempted could not come back at once
        (and stays so until an event: KV held only grows till one)."""
        while self._mem and self.held + self.n_dec > self._full:
            self._preempt()
        s = self._resume[0]  # (the fill's head and its first KV test in line)
        _, _, block, at_most, below, _ = self._fill_k
        after = self.held + _ceil((s.prompt + s.done) / block - 1e-9) * block
        if after <= at_most and after < below:
            self._quiet = self._fill(t, dry=True)
        else:
            self._quiet, self._for_budget = True, False

    def _mem_due(self, t: float) -> None:
        """The next event, at ``t`` (s), is a memory-full step boundary and nothing
        else (``_mem_next``, see :meth:`_plan`: no leave, prompt, join, deferred prompt,
        timer, deadline or give-up within :meth:`_event`'s rounding of it, and the fill
        quiet): the preemptions of :meth:`_event` alone, then the plan."""
        self._advance(t)
        v = self.v
        floor = t * self._floor_k if self._floor_k else self._due_eps(t)[1]
        eps = 1e-9 * (v if v > 1.0 else 1.0)
        if (self.n_dec and self.held + self.n_dec > self._full
                and float(_ceil(v - eps)) <= v + (eps if eps > floor else floor)):
            self._make_room(t)
            self._plan()
        else:  # (not full after all, by rounding: the general handler)
            self._event(t)

    def _heads(self, q: int) -> bool:
        """Whether ``q``, waiting in the FIFO queue, is the request the fill tries next
        (the resume queue is empty and ``q`` is the first live entry of the queue)."""
        if self._resume:
            return False
        queue, waiting = self.queue, self._waiting
        while queue[0][0] not in waiting:
            queue.popleft()
        return queue[0][0] == q

    def _join_due(self, t: float, eps: float) -> None:
        """Prefilled sequences whose step boundary is within ``eps`` steps decode."""
        joins = self._joins
        while joins and joins[0][0] <= self.v + eps:
            _, epoch, s = joins.popleft()
            if s.epoch == epoch:
                self.n_join -= 1
                self._decode(s, t)

    def close(self, t: float) -> None:
        """Account occupancy up to the end of the run at ``t`` (s)."""
        self._advance(t)
