"""Arrival processes: one registry keyed by the scenario's ``arrivals.kind``.

Each kind is a pydantic spec (validated at the edge, no I/O) plus a block generator:
``ARRIVALS[kind](spec, rng)`` returns an :class:`ArrivalGen` whose ``next_block(n)``
gives the next ``n`` arrival times in seconds (strictly ascending blocks, ``inf`` once
the process is exhausted). Times are drawn in vectorised blocks so the engine never
schedules one SimPy event per arrival; the allocator tick collects the arrivals that
fall in its interval.

Kinds:
    poisson: exponential inter-arrival times at ``rate`` queries/s.
    gamma: gamma inter-arrival times with mean 1/rate and coefficient of variation
        ``cv`` (cv = 1 is Poisson, cv > 1 is bursty).
    piecewise: Poisson with a piecewise-constant rate ``schedule`` of (time, rate);
        the last rate holds forever. Drawn by inverting the integrated rate.
    trace: replay a trace file (:mod:`simulator.traffic.traces`: formats timestamps,
        azure, mooncake; a window by start, limit and time_scale; prompt lengths when
        the file has them); read when the run starts, never by the config.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from simulator.checks import StrictModel

if TYPE_CHECKING:  # traces need polars: imported only when a trace is read
    from simulator.traffic.traces import Trace

__all__ = ["ARRIVALS", "ArrivalGen", "ArrivalSpec", "GammaSpec", "PiecewiseSpec",
           "PoissonSpec", "RatePoint", "TraceSpec", "make_arrivals"]


class _Spec(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PoissonSpec(_Spec):
    """Poisson arrivals."""

    kind: Literal["poisson"] = "poisson"
    rate: float = Field(gt=0, description="mean arrival rate (queries/s)")


class GammaSpec(_Spec):
    """Renewal arrivals with gamma inter-arrival times (burstiness)."""

    kind: Literal["gamma"] = "gamma"
    rate: float = Field(gt=0, description="mean arrival rate (queries/s)")
    cv: float = Field(gt=0, description="coefficient of variation of the gaps (1 = Poisson)")


class RatePoint(_Spec):
    """From ``time`` on (seconds), arrivals come at ``rate`` (queries/s)."""

    time: float = Field(ge=0, description="start of this rate segment (s)")
    rate: float = Field(ge=0, description="arrival rate from this time on (queries/s)")


class PiecewiseSpec(_Spec):
    """Time-varying Poisson rate, piecewise constant."""

    kind: Literal["piecewise"] = "piecewise"
    schedule: list[RatePoint] = Field(min_length=1)

    @field_validator("schedule")
    @classmethod
    def _ordered(cls, v: list[RatePoint]) -> list[RatePoint]:
        if v[0].time != 0:
            raise ValueError("the first segment must start at time 0")
        times = [p.time for p in v]
        if any(b <= a for a, b in zip(times, times[1:], strict=False)):
            raise ValueError("segment times must be strictly increasing")
        return v


class TraceSpec(_Spec):
    """Replay arrivals (and prompt lengths, when the file has them) from a trace file."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    kind: Literal["trace"] = "trace"
    path: str = Field(description="the trace file, relative to the scenario file")
    format: Literal["timestamps", "azure", "mooncake"] = Field(
        default="timestamps", description="timestamps: one time (s) per line, or CSV/"
        "Parquet with 'time' (and optional 'prompt_tokens'); azure: AzurePublicDataset "
        "LLM CSV (TIMESTAMP, ContextTokens); mooncake: JSONL (timestamp ms, input_length)")
    time_scale: float = Field(default=1.0, gt=0, le=1e6, description="replayed time = "
                              "(trace time - start) * time_scale; 0.5 replays twice as fast")
    start: float = Field(default=0.0, ge=0, le=1e9, description="window start in trace "
                         "time (s from the trace's origin)")
    limit: int | None = Field(default=None, gt=0, le=10**9, description="at most this many "
                              "rows from start (null = all)")
    fallback: str | None = Field(default=None, description="a trace of the same format "
                                 "used when 'path' does not exist (relative to the "
                                 "scenario file)")

    def resolved_path(self) -> str:
        """``path`` when it exists, else ``fallback`` (when given), else ``path``."""
        if self.fallback is not None and not Path(self.path).exists():
            return self.fallback
        return self.path


ArrivalSpec = Annotated[PoissonSpec | GammaSpec | PiecewiseSpec | TraceSpec,
                        Field(discriminator="kind")]


class ArrivalGen(Protocol):
    """A stream of arrival times, handed out in blocks."""

    def next_block(self, n: int) -> np.ndarray:
        """The next ``n`` arrival times (s, ascending); ``inf`` past the end."""
        ...


class _Renewal:
    """i.i.d. gaps drawn by ``draw(rng, n)``; times are their running sum."""

    def __init__(self, draw: Callable[[np.random.Generator, int], np.ndarray],
                 rng: np.random.Generator) -> None:
        self._draw, self._rng, self._t = draw, rng, 0.0

    def next_block(self, n: int) -> np.ndarray:
        times = self._t + np.cumsum(self._draw(self._rng, n))
        self._t = float(times[-1])
        return times


class _Piecewise:
    """Inverse of the integrated rate Lambda(t) applied to unit-rate Poisson times."""

    def __init__(self, spec: PiecewiseSpec, rng: np.random.Generator) -> None:
        self._t0 = np.array([p.time for p in spec.schedule])
        self._rate = np.array([p.rate for p in spec.schedule])
        seg = np.diff(self._t0) * self._rate[:-1]
        self._lam0 = np.concatenate(([0.0], np.cumsum(seg)))  # Lambda at segment starts
        self._rng, self._u = rng, 0.0

    def next_block(self, n: int) -> np.ndarray:
        u = self._u + np.cumsum(self._rng.standard_exponential(n))
        self._u = float(u[-1])
        k = np.searchsorted(self._lam0, u, side="right") - 1
        # A zero-rate segment has a flat Lambda; searchsorted skips it, except the last.
        rate = self._rate[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self._t0[k] + (u - self._lam0[k]) / rate
        return np.where(rate > 0, t, np.inf)


class _Trace:
    """Replays a :class:`~simulator.traffic.traces.Trace`; ``last_prompts`` holds the
    prompt lengths of the block just handed out (None when the trace has none)."""

    def __init__(self, trace: Trace) -> None:
        self._times, self._prompts, self._i = trace.times, trace.prompts, 0
        self.notes = trace.notes
        self.has_prompts = trace.prompts is not None
        self.last_prompts: np.ndarray | None = None

    def next_block(self, n: int) -> np.ndarray:
        out = np.full(n, np.inf)
        chunk = self._times[self._i:self._i + n]
        out[:chunk.size] = chunk
        if self._prompts is not None:
            self.last_prompts = np.full(n, np.nan)
            self.last_prompts[:chunk.size] = self._prompts[self._i:self._i + n]
        self._i += chunk.size
        return out


def read_trace(path: str) -> np.ndarray:
    """Timestamps (s) from a ``timestamps`` trace at ``path``, sorted ascending.

    Raises:
        UserError: naming ``arrivals.path`` (and the line or row of a bad value), when
            the file is missing, unreadable or holds anything but numbers >= 0.
    """
    from simulator.traffic.traces import load_trace

    return load_trace(path).times


ArrivalFactory = Callable[[object, np.random.Generator], ArrivalGen]


def _poisson(spec: object, rng: np.random.Generator) -> ArrivalGen:
    assert isinstance(spec, PoissonSpec)
    scale = 1.0 / spec.rate
    return _Renewal(lambda g, n: g.exponential(scale, n), rng)


def _gamma(spec: object, rng: np.random.Generator) -> ArrivalGen:
    assert isinstance(spec, GammaSpec)
    shape = 1.0 / spec.cv**2
    scale = 1.0 / (spec.rate * shape)
    return _Renewal(lambda g, n: g.gamma(shape, scale, n), rng)


def _piecewise(spec: object, rng: np.random.Generator) -> ArrivalGen:
    assert isinstance(spec, PiecewiseSpec)
    return _Piecewise(spec, rng)


def _trace(spec: object, rng: np.random.Generator) -> ArrivalGen:
    assert isinstance(spec, TraceSpec)
    from simulator.traffic.traces import load_trace

    path = spec.resolved_path()
    gen = _Trace(load_trace(path, spec.format, start=spec.start,
                            time_scale=spec.time_scale, limit=spec.limit))
    if path != spec.path:
        gen.notes.insert(0, f"arrivals.path {spec.path} not found; replayed the "
                         f"fallback {path}")
    return gen


ARRIVALS: dict[str, ArrivalFactory] = {
    "poisson": _poisson,
    "gamma": _gamma,
    "piecewise": _piecewise,
    "trace": _trace,
}


def make_arrivals(spec: PoissonSpec | GammaSpec | PiecewiseSpec | TraceSpec,
                  rng: np.random.Generator) -> ArrivalGen:
    """The generator registered for ``spec.kind``, drawing from ``rng``."""
    return ARRIVALS[spec.kind](spec, rng)
