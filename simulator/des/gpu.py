"""The GPU as a fluid continuous-batching resource (model.md section 6).

Model. At most S sequences hold a slot; more wait in a FIFO queue. A sequence that gets
a slot first prefills for ``p0 + p1 * prompt_tokens`` seconds (holding the slot, not
slowing the others), then decodes. With n sequences decoding, one decode step takes
s(n) = s0 + s1 n seconds and emits one token for each, so every decoding sequence
advances at 1 / s(n) tokens/s.

Fluid form. Let V(t) be the *virtual token count*: the tokens a sequence decoding
since time 0 would have emitted, dV/dt = 1 / s(n(t)). n only changes when a sequence
joins or leaves, so between such events V is linear in t. A sequence that starts
decoding at V_j with g tokens to generate leaves when V reaches V_j + g. The resource
keeps a heap of those finish points (and a heap of prefill end times) and schedules a
SimPy event only for the earliest one; each event advances V, processes everything due,
moves queued requests into free slots and schedules the next event. No event is ever
scheduled per token. Tokens are a fluid: a step in progress is counted fractionally.

With s0 = 0, unlimited S and no prefill every sequence advances at 1 / (s1 n): an
M/G/1 processor-sharing server of capacity 1 / s1 tokens/s.

Deadlines. A queued request expires at arrival + ``deadline``: the head of the queue's
deadline is one more scheduled GPU event, so its cap returns to the bank and its queue
place frees at that moment (a request decided by a tick already past its deadline
expires at that tick).

Order at one instant: leaves, then prefill completions join decoding, then queued
requests take free slots (FIFO), then queued requests at their deadline expire. A joining event is scheduled at GPU priority, ahead
of an allocator tick at the same time (see :mod:`simulator.des.engine`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush

from simulator.des.engine import GPU, At, Engine
from simulator.des.records import Occupancy
from simulator.scenario.models import GpuSpec

__all__ = ["FluidGpu"]

OnStart = Callable[[int, float], None]
OnLeave = Callable[[int, float], None]
OnExpire = Callable[[int, float, float], None]


class FluidGpu:
    """Continuous batching with events only at joins and leaves.

    Args:
        env: the engine.
        spec: ``max_seqs`` S, ``s0``, ``s1`` (s), ``max_queue``, ``deadline`` (s).
        occupancy: time-weighted level recorder.
        on_start: ``(query, t)`` when a query takes a slot.
        on_leave: ``(query, t)`` when it has generated all its tokens.
        on_expire: ``(query, t_end, t_now)`` when it expires in the queue; ``t_end`` is
            the moment it expired (arrival + deadline, or ``t_now`` for a full queue).
    """

    def __init__(self, env: Engine, spec: GpuSpec, occupancy: Occupancy,
                 on_start: OnStart, on_leave: OnLeave, on_expire: OnExpire) -> None:
        self.env = env
        self.s0, self.s1 = spec.s0, spec.s1
        self.slots = spec.max_seqs if spec.max_seqs is not None else math.inf
        self.max_queue = spec.max_queue if spec.max_queue is not None else math.inf
        self.deadline = spec.deadline if spec.deadline is not None else math.inf
        self.occupancy = occupancy
        self.on_start, self.on_leave, self.on_expire = on_start, on_leave, on_expire
        self.t = 0.0          # time V was last advanced to (s)
        self.v = 0.0          # virtual tokens per decoding sequence
        self.n_dec = 0
        self.n_pre = 0
        self._dec: list[tuple[float, int]] = []            # (V at finish, query)
        self._pre: list[tuple[float, int, int]] = []       # (time prefill ends, query, g)
        self.queue: deque[tuple[int, int, float, float]] = deque()  # (q, g, prefill, arrival)
        self._gen = 0
        self._trace = env.trace is not None

    # ---- state -------------------------------------------------------------------
    @property
    def active(self) -> int:
        """Sequences holding a slot (prefilling or decoding)."""
        return self.n_dec + self.n_pre

    def _advance(self, t: float) -> None:
        dt = t - self.t
        if dt <= 0:
            return
        n = self.n_dec
        tokens = 0.0
        if n:
            dv = dt / (self.s0 + self.s1 * n)
            self.v += dv
            tokens = n * dv
        self.occupancy.add(self.t, t, n + self.n_pre, len(self.queue), tokens)
        self.t = t

    # ---- joins -------------------------------------------------------------------
    def admit(self, t: float, entries: list[tuple[int, int, float, float]]) -> None:
        """Admit ``(query, tokens g >= 1, prefill s, arrival s)`` entries at time ``t``.

        They take free slots in order; the rest queue FIFO, and those beyond
        ``max_queue`` expire at once.
        """
        self._advance(t)
        self.queue.extend(entries)
        self._fill(t)
        self._expire_due(t)
        while len(self.queue) > self.max_queue:
            q = self.queue.pop()[0]
            self.on_expire(q, t, t)
            if self._trace:
                self.env.log(f"expire q{q}")
        self._schedule()

    def _fill(self, t: float) -> None:
        queue = self.queue
        while queue and self.n_dec + self.n_pre < self.slots:
            q, g, prefill, arrival = queue.popleft()
            if arrival + self.deadline < t:  # decided by a tick after its deadline
                self.on_expire(q, arrival + self.deadline, t)
                if self._trace:
                    self.env.log(f"expire q{q}")
                continue
            self.on_start(q, t)
            if self._trace:
                self.env.log(f"start q{q}")
            if prefill > 0:
                self.n_pre += 1
                heappush(self._pre, (t + prefill, q, g))
            else:
                self.n_dec += 1
                heappush(self._dec, (self.v + g, q))

    def _expire_due(self, t: float) -> None:
        """Queued requests whose deadline is <= ``t`` expire now (the queue is in arrival
        order, so they are a prefix of it)."""
        queue = self.queue
        while queue and queue[0][3] + self.deadline <= t:
            q = queue.popleft()[0]
            self.on_expire(q, t, t)
            if self._trace:
                self.env.log(f"expire q{q}")

    # ---- events ------------------------------------------------------------------
    def _schedule(self) -> None:
        self._gen += 1
        nxt = math.inf
        if self._dec:
            step = self.s0 + self.s1 * self.n_dec
            nxt = self.t + max(self._dec[0][0] - self.v, 0.0) * step
        if self._pre and self._pre[0][0] < nxt:
            nxt = self._pre[0][0]
        if self.queue and self.queue[0][3] + self.deadline < nxt:  # head's deadline
            nxt = self.queue[0][3] + self.deadline
        if nxt < math.inf:
            ev = At(self.env, max(nxt, self.env.now), GPU)
            gen = self._gen
            ev.callbacks.append(lambda _ev: self._fire(gen))

    def _fire(self, gen: int) -> None:
        if gen != self._gen:  # superseded by a later join
            return
        t = self.env.now
        self._advance(t)
        eps = 1e-9 * max(1.0, self.v)
        dec, pre = self._dec, self._pre
        while dec and dec[0][0] <= self.v + eps:
            q = heappop(dec)[1]
            self.n_dec -= 1
            self.on_leave(q, t)
            if self._trace:
                self.env.log(f"leave q{q}")
        while pre and pre[0][0] <= t:
            _, q, g = heappop(pre)
            self.n_pre -= 1
            self.n_dec += 1
            heappush(dec, (self.v + g, q))
            if self._trace:
                self.env.log(f"decode q{q}")
        self._fill(t)
        self._expire_due(t)
        self._schedule()

    def close(self, t: float) -> None:
        """Account occupancy up to the end of the run at ``t`` (s)."""
        self._advance(t)
