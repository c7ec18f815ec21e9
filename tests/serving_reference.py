"""A brute-force, step-by-step reference of the serving model (tests only).

It runs the batch one decode step at a time, with whole tokens, and checks memory before
every step, which is what the fluid engine (:mod:`simulator.serving.fluid`) replaces by
closed forms between events. Same rules: FIFO queue, preempted sequences resume first,
KV admission by whole blocks (on-demand: prompt below (1 - watermark) of the pool;
reserve-cap: prompt + cap within the pool), the newest sequence preempted when the next
step's tokens would not fit, recompute on resume. Differences from the fluid engine are
discretisation only: a timer prefill ending within a step and a prompt finished in
the step budget decode from the next step. The context term of a step is charged at
mid-step, s2 (C + n / 2), which is what the fluid clock's continuous context integrates
to over one step (so n sequences started together end at exactly
g (s0 + s1 n + s2 n P) + s2 n g^2 / 2 in both).

Also the fluid engine driven directly (no allocator): :func:`fluid`.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass, field

from simulator.des.engine import TICK, At, Engine
from simulator.serving import FluidGpu, GpuSpec

__all__ = ["Request", "Result", "fluid", "reference"]


@dataclass(frozen=True)
class Request:
    """One request: admitted at ``time`` (s), ``g`` tokens to generate, prompt, cap."""

    time: float
    g: int
    prompt: int
    cap: int


@dataclass
class Result:
    """Per query: outcome, end time (s), preemptions; and run figures."""

    outcome: dict[int, str] = field(default_factory=dict)
    end: dict[int, float] = field(default_factory=dict)
    preemptions: dict[int, int] = field(default_factory=dict)
    max_step: float = 0.0
    max_held: float = 0.0


class _Recorder(Result):
    def started(self, q: int, t: float) -> None:
        self.preemptions.setdefault(q, 0)

    def left(self, q: int, t: float) -> None:
        self.outcome[q], self.end[q] = "done", t

    def expired(self, q: int, t_end: float, t_now: float) -> None:
        self.outcome[q], self.end[q] = "expired", t_end

    def timed_out(self, q: int, t: float, used: int) -> None:
        self.outcome[q], self.end[q] = "timed_out", t

    def preempted(self, q: int) -> None:
        self.preemptions[q] = self.preemptions.get(q, 0) + 1

    def first_token(self, q: int, t: float) -> None:
        pass


class _NoLevels:
    def add(self, t0: float, t1: float, active: int, queued: int, tokens: float) -> None:
        pass

    def drop(self, t0: float, t: float) -> bool:
        return True


class Stalled(AssertionError):
    """The fluid GPU fired more often than any finite run of these requests needs."""


def fluid(spec: GpuSpec, reqs: list[Request], watch: list[float] | None = None,
          max_fires: int = 200_000) -> Result:
    """Run ``reqs`` through the fluid engine; ``watch`` collects KV held after events.
    Raises :class:`Stalled` after ``max_fires`` GPU callbacks (a clock that cannot
    advance would otherwise fire at one instant for ever)."""
    env = Engine()
    rec = _Recorder()
    gpu = FluidGpu(env, spec, _NoLevels(), rec)
    times = sorted({r.time for r in reqs})

    def admit_at(t: float) -> None:
        gpu.admit(t, [(q, r.g, spec.p0 + spec.p1 * r.prompt, r.time, r.prompt, r.cap,
                       math.inf) for q, r in enumerate(reqs) if r.time == t])

    def on_tick(_ev: object, t: float) -> None:
        admit_at(t)

    for t in times:  # at tick priority, after GPU events at the same time
        At(env, t, TICK).callbacks.append(functools.partial(on_tick, t=t))
    fire = gpu._fire
    fires = [0]

    def watched() -> None:
        fires[0] += 1
        if fires[0] > max_fires:
            raise Stalled(f"{fires[0]} GPU callbacks, clock at {env.now!r}")
        fire()
        if watch is not None:
            watch.append(gpu.held)
    gpu._timer = env.timer(watched)  # (the GPU's timer calls the callback it was made with)
    env.run()
    for q in range(len(reqs)):
        rec.preemptions.setdefault(q, 0)
    return rec


@dataclass
class _Seq:
    q: int
    g: int
    prompt: int
    cap: int
    done: int = 0          # tokens generated before the current run
    gen: int = 0           # tokens generated in the current run
    left: int = 0          # prompt tokens still to prefill (chunked)
    ready: float = 0.0     # timer prefill end (s)
    phase: str = "queued"  # queued, prefill, chunk, decode

    @property
    def context(self) -> int:
        return self.prompt + self.done + self.gen


def reference(spec: GpuSpec, reqs: list[Request]) -> Result:
    """Step-by-step simulation of ``reqs`` (no patience, no deadline, no max_queue)."""
    res = Result()
    cap_kv = math.inf if spec.kv_tokens is None else float(spec.kv_tokens)
    reserve = spec.admission == "reserve-cap"
    limit = cap_kv if reserve else cap_kv * (1 - spec.watermark)
    bs = spec.block_size
    slots = spec.max_seqs if spec.max_seqs is not None else math.inf
    budget = spec.max_batched_tokens

    def blocks(x: float) -> float:
        return math.ceil(x / bs - 1e-9) * bs

    def holds(s: _Seq) -> float:
        return s.prompt + s.cap if reserve else s.context

    arrivals = deque(sorted(range(len(reqs)), key=lambda q: (reqs[q].time, q)))
    queue: deque[_Seq] = deque()
    resume: deque[_Seq] = deque()
    running: list[_Seq] = []  # admission order
    t = 0.0

    def held() -> float:
        return float(sum(holds(s) for s in running)) if spec.kv_tokens is not None else 0.0

    def fits(s: _Seq) -> bool:
        if spec.kv_tokens is None:
            return True
        need = blocks(s.prompt + s.cap if reserve else s.prompt + s.done)
        after = held() + need
        return after <= limit + 1e-9 and (reserve or after < cap_kv * (1 - 1e-9))

    def fill(now: float) -> None:
        while len(running) < slots and (resume or queue):
            src = resume if resume else queue
            s = src[0]
            if not fits(s):
                return
            if budget is not None and any(r.phase == "chunk" for r in running):
                return
            src.popleft()
            running.append(s)
            if budget is not None:
                s.phase, s.left = "chunk", s.prompt + s.done
            else:
                prefill = spec.p0 + spec.p1 * (s.prompt + s.done)
                s.phase, s.ready = "prefill", now + prefill

    def possible(r: Request) -> bool:
        if spec.kv_tokens is None:
            return True
        if reserve:
            return blocks(r.prompt + r.cap) <= cap_kv
        return blocks(r.prompt + r.g) <= limit

    def arrive(upto: float, strict: bool) -> None:
        while arrivals and (reqs[arrivals[0]].time < upto if strict
                            else reqs[arrivals[0]].time <= upto + 1e-12):
            q = arrivals.popleft()
            r = reqs[q]
            res.preemptions[q] = 0
            if not possible(r):
                res.outcome[q], res.end[q] = "expired", r.time
                continue
            queue.append(_Seq(q, r.g, r.prompt, r.cap))
            if budget is None:  # timer prefill: a request takes a slot when it arrives
                fill(r.time)

    while True:
        arrive(t, strict=False)
        fill(t)
        for s in running:
            if s.phase in ("prefill", "warm") and s.ready <= t + 1e-12:
                s.phase = "decode"
        decoding = [s for s in running if s.phase == "decode"]
        # memory for this step's new tokens; the newest sequences give way
        if spec.kv_tokens is not None and not reserve:
            while running and decoding and held() + len(decoding) > cap_kv + 1e-9:
                s = running.pop()
                s.done, s.gen, s.phase = s.done + s.gen, 0, "queued"
                resume.appendleft(s)
                res.preemptions[s.q] += 1
                decoding = [x for x in running if x.phase == "decode"]
        chunking = [s for s in running if s.phase == "chunk"]
        if not decoding and not chunking:
            cands = [s.ready for s in running if s.phase == "prefill"]
            if arrivals:
                cands.append(reqs[arrivals[0]].time)
            nxt = min(cands, default=math.inf)
            if nxt == math.inf:
                break
            t = max(t, nxt)
            continue
        n = len(decoding)
        ctx = float(sum(s.context for s in running))
        for s in decoding:  # this step's tokens are allocated as it starts
            s.gen += 1
        prefill_tokens = 0
        if budget is not None:
            room = budget - n
            while room > 0:
                head = next((s for s in running if s.phase == "chunk"), None)
                if head is None:
                    fill(t)
                    head = next((s for s in running if s.phase == "chunk"), None)
                    if head is None:
                        break
                take = min(room, head.left)
                head.left -= take
                room -= take
                prefill_tokens += take
                if head.left == 0:
                    head.phase, head.ready = "warm", t  # decodes from the next step
        # the context term is charged at mid-step, C + n / 2: the fluid's continuous
        # context C + n x integrates to exactly that over one step
        dt = spec.s0 + spec.s1 * n + spec.s2 * (ctx + n / 2) + spec.p1 * prefill_tokens
        res.max_step = max(res.max_step, dt)
        res.max_held = max(res.max_held, held())
        arrive(t + dt, strict=True)  # requests arriving during the step
        t += dt
        for s in decoding:
            if s.done + s.gen >= s.g:
                running.remove(s)
                res.outcome[s.q], res.end[s.q] = "done", t
    return res
