"""A fixed list of requests straight onto one GPU: no bank, allocator or pool.

For checking the serving model against another simulator on the same workload
(``bench/serving_blis.py``, docs/serving.md "Cross-simulator check"): each request
arrives at its own time with its prompt and the exact number of tokens it generates,
and the :class:`~simulator.serving.fluid.FluidGpu` runs on the event engine's clock.
:func:`run_blis` runs one BLIS golden workload (:mod:`simulator.serving.blis`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.des.engine import TICK, At, Engine
from simulator.serving import blis
from simulator.serving.fluid import Entry, FluidGpu
from simulator.serving.spec import GpuSpec

__all__ = ["GpuTimes", "run_blis", "run_requests"]


@dataclass(frozen=True)
class GpuTimes:
    """Per request (s, NaN where it never happened): slot taken, decoding started
    (its prefill ended), first decode token, generation done; and the run's end."""

    started: np.ndarray
    decoding: np.ndarray
    first_token: np.ndarray
    left: np.ndarray
    preemptions: np.ndarray
    expired: np.ndarray
    end: float


class _Levels:
    def add(self, t0: float, t1: float, active: int, queued: int, tokens: float) -> None:
        return None

    def drop(self, t0: float, t: float) -> bool:
        return True


class _Times:
    def __init__(self, env: Engine, n: int) -> None:
        self.env = env
        nan = np.full(n, math.nan)
        self.started, self.decoding, self.first, self.left = (nan.copy() for _ in range(4))
        self.expired = np.zeros(n, dtype=bool)
        self.preempt = np.zeros(n, dtype=np.int64)

    def started_(self, q: int, t: float) -> None:
        self.started[q] = t

    def left_(self, q: int, t: float) -> None:
        self.left[q] = t

    def expired_(self, q: int, t_end: float, t_now: float) -> None:
        self.expired[q] = True

    def timed_out(self, q: int, t: float, used: int) -> None:
        raise AssertionError("no patience in a fixed request list")

    def preempted(self, q: int) -> None:
        self.preempt[q] += 1

    def first_token(self, q: int, t: float) -> None:
        # the GPU reports it when q starts decoding: now is when its prefill step ended
        self.decoding[q] = self.env.now
        self.first[q] = t


class _Outcomes:
    """Adapter from the GPU's outcome calls to :class:`_Times` (method names differ
    only because ``started``/``left`` are also the arrays)."""

    def __init__(self, times: _Times) -> None:
        self.started, self.left, self.expired = times.started_, times.left_, times.expired_
        self.timed_out, self.preempted = times.timed_out, times.preempted
        self.first_token = times.first_token


def _admitter(gpu: FluidGpu, t: float, entries: list[Entry]) -> Callable[[Any], None]:
    def admit(_ev: Any) -> None:
        gpu.admit(t, entries)
    return admit


def run_requests(spec: GpuSpec, arrival: np.ndarray, prompt: np.ndarray,
                 tokens: np.ndarray) -> GpuTimes:
    """Run requests (arrival s, prompt tokens, tokens generated >= 1) on one GPU.

    Requests arriving at the same time are admitted together in index order.

    Raises:
        ValueError: lengths differ, arrivals not sorted, or a request generates < 1 token.
    """
    n = len(arrival)
    if len(prompt) != n or len(tokens) != n:
        raise ValueError("arrival, prompt and tokens must have the same length")
    if n and (np.any(np.diff(arrival) < 0) or arrival[0] < 0):
        raise ValueError("arrival times must be sorted and >= 0")
    if n and int(np.min(tokens)) < 1:
        raise ValueError("every request must generate at least 1 token")
    env = Engine()
    times = _Times(env, n)
    gpu = FluidGpu(env, spec, _Levels(), _Outcomes(times))
    groups: dict[float, list[int]] = {}
    for i, t in enumerate(arrival.tolist()):
        groups.setdefault(t, []).append(i)
    for t, idx in groups.items():
        entries: list[Entry] = [(i, int(tokens[i]), 0.0, t, int(prompt[i]), int(tokens[i]),
                                 math.inf) for i in idx]
        At(env, t, TICK).callbacks.append(_admitter(gpu, t, entries))
    env.run()
    gpu.close(env.now)
    return GpuTimes(times.started, times.decoding, times.first, times.left, times.preempt,
                    times.expired, float(env.now))


def run_blis(w: blis.Workload, mapping: str = "roofline"
             ) -> tuple[dict[str, float], GpuTimes, int, dict[str, Any]]:
    """One BLIS golden workload on clearsim's GPU (:mod:`simulator.serving.blis`).

    Returns BLIS's metrics as clearsim computes them, the per-request times (in request
    order), the seed of the draw and the ``gpu`` fields used.
    """
    seed, d = blis.nearest_draw(w)
    fields = blis.gpu_fields(w, mapping, float(d.inputs.mean()))
    queued, prompt, tokens = blis.engine_requests(w, d)
    order = np.argsort(queued, kind="stable")
    t = run_requests(GpuSpec(**fields), queued[order], prompt[order], tokens[order])
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    times = GpuTimes(t.started[inv], t.decoding[inv], t.first_token[inv], t.left[inv],
                     t.preemptions[inv], t.expired[inv], t.end)
    if times.expired.any() or np.isnan(times.left).any():
        raise ValueError(f"workload {w.name}: {int(times.expired.sum())} requests never "
                         "fit in the KV pool")
    return blis.blis_metrics(w, d, times.decoding, times.left, t.end), times, seed, fields
