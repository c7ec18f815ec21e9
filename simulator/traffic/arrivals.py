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
    trace: replay timestamps from a file (one number per line, or a Parquet/CSV
        column ``time``); read when the run starts, never by the config.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.errors import UserError

__all__ = ["ARRIVALS", "ArrivalGen", "ArrivalSpec", "GammaSpec", "PiecewiseSpec",
           "PoissonSpec", "RatePoint", "TraceSpec", "make_arrivals"]


class _Spec(BaseModel):
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
    """Replay arrival timestamps (seconds) from a file."""

    kind: Literal["trace"] = "trace"
    path: str = Field(description="text file (one timestamp per line) or Parquet/CSV "
                      "with a 'time' column; relative to the scenario file")


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
    def __init__(self, times: np.ndarray) -> None:
        self._times, self._i = times, 0

    def next_block(self, n: int) -> np.ndarray:
        out = np.full(n, np.inf)
        chunk = self._times[self._i:self._i + n]
        out[:chunk.size] = chunk
        self._i += chunk.size
        return out


def read_trace(path: str) -> np.ndarray:
    """Timestamps (s) from ``path``, sorted ascending.

    Raises:
        UserError: naming ``arrivals.path`` (and the line or row of a bad value), when
            the file is missing, unreadable or holds anything but numbers >= 0.
    """
    import polars as pl  # only here: a scenario's schema and validation need no polars

    p = Path(path)
    where = f"arrivals.path: {p}"
    if not p.is_file():
        raise UserError(f"{where}: trace file not found")
    try:
        if p.suffix in (".parquet", ".csv"):
            frame = pl.read_parquet(p) if p.suffix == ".parquet" else pl.read_csv(p)
            if "time" not in frame.columns:
                raise UserError(f"{where}: needs a 'time' column, has {frame.columns}")
            col = frame["time"]
            times = col.cast(pl.Float64, strict=False).to_numpy()
            label, rows = "column 'time', row", np.arange(1, times.size + 1)
            shown = col.to_list()
        else:
            numbered = [(i, s.strip()) for i, s in enumerate(p.read_text().splitlines(), 1)]
            kept = [(i, s) for i, s in numbered if s and not s.startswith("#")]
            times = np.array([_number(s) for _, s in kept], dtype=np.float64)
            label, rows = "line", np.array([i for i, _ in kept], dtype=np.int64)
            shown = [s for _, s in kept]
    except (OSError, UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
        raise UserError(f"{where}: not a readable list of timestamps "
                        f"({type(exc).__name__})") from None
    bad = ~(np.isfinite(times) & (times >= 0))
    if bad.any():
        k = int(np.argmax(bad))
        raise UserError(f"{where}: {label} {rows[k]}: {shown[k]!r} is not a timestamp "
                        ">= 0 (seconds)")
    if times.size == 0:
        raise UserError(f"{where}: no timestamps; it needs at least one (seconds)")
    return np.sort(times)


def _number(text: str) -> float:
    """``text`` as a float, NaN when it is not a number (reported with its line)."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


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
    return _Trace(read_trace(spec.path))


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
