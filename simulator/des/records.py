"""Append-only outcome records with fixed schemas, streamed to a sink in chunks.

* :data:`QUERY_SCHEMA` - one row per arrival (``queries.parquet``);
* :data:`TICK_SCHEMA` - one row per allocator tick (``ticks.parquet``);
* :data:`GPU_SCHEMA` - time-weighted GPU levels per window (``gpu.parquet``).

Rows reach a :class:`Sink` in chunks, so memory does not grow with the number of
arrivals: :class:`MemorySink` keeps the frames (Python API), :class:`ParquetSink`
writes chunk files and joins them into one file at the end (CLI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from simulator.atomic import atomic_write, atomic_write_parquet

__all__ = ["GPU_SCHEMA", "OUTCOMES", "QUERY_SCHEMA", "TICK_SCHEMA", "Block", "MemorySink",
           "Occupancy", "ParquetSink", "Sink", "Spool", "block_frame"]

F64, I64, STR = pl.Float64(), pl.Int64(), pl.String()

QUERY_SCHEMA: dict[str, pl.DataType] = {
    "query": I64, "pool_index": I64, "id": STR, "benchmark": STR, "tier": I64,
    "arrival_time": F64, "tick": I64, "cap": I64, "predicted_threshold": F64,
    "true_tau": F64, "rollout": I64, "tokens_generated": I64, "outcome": STR,
    "queue_wait": F64, "generation_time": F64, "latency": F64, "end_time": F64,
}
TICK_SCHEMA: dict[str, pl.DataType] = {
    "tick": I64, "time": F64, "pending": I64, "bank": F64, "free_tokens": F64,
    "tick_budget": F64, "lambda": F64, "admitted": I64, "abandoned": I64, "committed_tokens": I64,
}
GPU_SCHEMA: dict[str, pl.DataType] = {
    "window_start": F64, "window_end": F64, "mean_active": F64, "mean_queued": F64,
    "busy_fraction": F64, "tokens": F64,
}
SCHEMAS = {"queries": QUERY_SCHEMA, "ticks": TICK_SCHEMA, "gpu": GPU_SCHEMA}

PENDING, CORRECT, WRONG, ABANDONED, EXPIRED = 0, 1, 2, 3, 4
OUTCOMES = np.array(["pending", "correct", "wrong", "abandoned", "expired"])
"""Outcome codes used in :class:`Block`; ``queries.parquet`` stores the names."""


@dataclass
class Block:
    """Per-query columns for queries ``q0 .. q0 + n - 1``, filled in as they resolve.

    Drawn when the block is created: ``time`` (arrival, s), ``pool_index``, ``tier``,
    ``rollout``, ``threshold`` (predicted T, tokens), ``spread`` and ``solvability``
    (NaN when the predictor gives none), and the predictor's ``threshold_sd`` (one
    number; NaN when it gives none). Set by the engine: ``tick`` (-1 = never),
    ``cap``, ``generated`` (tokens), ``correct``, ``start`` and ``end`` (s, NaN until
    known) and ``outcome`` (a code into :data:`OUTCOMES`). ``remaining`` counts the
    queries without an outcome yet.
    """

    q0: int
    time: np.ndarray
    pool_index: np.ndarray
    tier: np.ndarray
    rollout: np.ndarray
    threshold: np.ndarray
    spread: np.ndarray
    solvability: np.ndarray
    threshold_sd: float = float("nan")

    def __post_init__(self) -> None:
        n = self.time.size
        self.tick = np.full(n, -1, dtype=np.int64)
        self.cap = np.zeros(n, dtype=np.int64)
        self.generated = np.zeros(n, dtype=np.int64)
        self.correct = np.zeros(n, dtype=bool)
        self.start = np.full(n, np.nan)
        self.end = np.full(n, np.nan)
        self.outcome = np.zeros(n, dtype=np.int8)
        self.remaining = n

    @property
    def n(self) -> int:
        """Queries in the block."""
        return int(self.time.size)


def block_frame(block: Block, ids: pl.Series, benchmarks: pl.Series,
                tau: np.ndarray) -> pl.DataFrame:
    """The finished ``block`` as ``queries.parquet`` rows (:data:`QUERY_SCHEMA`).

    Completed queries: queue_wait = start - arrival (allocator wait + GPU queue),
    generation_time = end - start (prefill + decode), latency = end - arrival.
    Abandoned and expired ones never start: queue_wait = latency, generation_time = 0.
    """
    idx = block.pool_index
    started = ~np.isnan(block.start)
    start = np.where(started, block.start, block.end)
    return pl.DataFrame({
        "query": np.arange(block.q0, block.q0 + block.n, dtype=np.int64),
        "pool_index": idx,
        "id": ids.gather(idx),
        "benchmark": benchmarks.gather(idx),
        "tier": block.tier.astype(np.int64),
        "arrival_time": block.time,
        "tick": block.tick,
        "cap": block.cap,
        "predicted_threshold": block.threshold,
        "true_tau": tau[idx],
        "rollout": block.rollout,
        "tokens_generated": block.generated,
        "outcome": OUTCOMES[block.outcome],
        "queue_wait": start - block.time,
        "generation_time": block.end - start,
        "latency": block.end - block.time,
        "end_time": block.end,
    }, schema=QUERY_SCHEMA)


class Sink(Protocol):
    """Where record chunks go."""

    def write(self, name: str, frame: pl.DataFrame) -> None:
        """Append one chunk of table ``name``."""
        ...


class MemorySink:
    """Keeps every chunk; :meth:`frame` concatenates them."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pl.DataFrame]] = {n: [] for n in SCHEMAS}

    def write(self, name: str, frame: pl.DataFrame) -> None:
        self.parts[name].append(frame)

    def frame(self, name: str) -> pl.DataFrame:
        """All rows of table ``name`` with its fixed schema."""
        parts = self.parts[name]
        return pl.concat(parts) if parts else pl.DataFrame(schema=SCHEMAS[name])


class ParquetSink:
    """Writes chunk files under ``folder/.parts`` and joins them with :meth:`finish`."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._parts = self.folder / ".parts"
        self._parts.mkdir(parents=True, exist_ok=True)
        self._count: dict[str, int] = {n: 0 for n in SCHEMAS}

    def write(self, name: str, frame: pl.DataFrame) -> None:
        i = self._count[name]
        self._count[name] += 1
        atomic_write_parquet(frame, self._parts / f"{name}-{i:06d}.parquet")

    def finish(self, name: str) -> Path:
        """Join the chunks of ``name`` into ``folder/name.parquet`` (streamed, atomic)."""
        out = self.folder / f"{name}.parquet"
        files = [self._parts / f"{name}-{i:06d}.parquet" for i in range(self._count[name])]
        if not files:
            return atomic_write_parquet(pl.DataFrame(schema=SCHEMAS[name]), out)
        lazy = pl.scan_parquet(files)
        atomic_write(out, lambda tmp: lazy.sink_parquet(tmp, statistics=False,
                                                        row_group_size=1 << 16))
        for f in files:
            f.unlink()
        return out

    def close(self) -> None:
        """Remove the (empty) chunk folder."""
        if self._parts.exists() and not any(self._parts.iterdir()):
            self._parts.rmdir()


class Spool:
    """Row-wise appends for an in-order table, flushed to ``sink`` every ``rows`` rows."""

    def __init__(self, name: str, sink: Sink, rows: int = 1 << 16) -> None:
        self.name, self.sink, self.rows = name, sink, rows
        self.schema = SCHEMAS[name]
        self._rows: list[tuple[float | int | None, ...]] = []

    def append(self, *row: float | int | None) -> None:
        """One row, in schema column order."""
        if len(row) != len(self.schema):
            raise ValueError(f"{self.name}: {len(row)} values for {len(self.schema)} columns")
        self._rows.append(row)
        if len(self._rows) >= self.rows:
            self.flush()

    def flush(self) -> None:
        """Send the buffered rows to the sink (rows turned into columns here, once)."""
        if self._rows:
            cols = zip(*self._rows, strict=True)
            data = {k: pl.Series(k, list(c), dtype=t)
                    for (k, t), c in zip(self.schema.items(), cols, strict=True)}
            self.sink.write(self.name, pl.DataFrame(data))
            self._rows = []


class Occupancy:
    """Time-weighted GPU levels in fixed windows of ``width`` seconds.

    The GPU calls :meth:`add` for every interval on which its state is constant:
    ``active`` sequences in slots, ``queued`` waiting, ``tokens`` generated (spread
    evenly over the interval). Windows are closed into a :class:`Spool`.
    """

    def __init__(self, width: float, spool: Spool) -> None:
        self.width, self.spool = width, spool
        self._k = 0
        self._end = width
        self._area_a = self._area_q = self._busy = self._tokens = 0.0
        self.total_area = 0.0  # integral of active + queued over time (for Little's law)

    def add(self, t0: float, t1: float, active: int, queued: int, tokens: float) -> None:
        """Account [t0, t1) (s) at constant levels."""
        rate = tokens / (t1 - t0)
        self.total_area += (active + queued) * (t1 - t0)
        if t1 < self._end:   # within the open window: the loop's first pass, inlined
            d = t1 - t0
            self._area_a += active * d
            self._area_q += queued * d
            if active:
                self._busy += d
            self._tokens += rate * d
            return
        while True:
            hi = min(t1, self._end)
            d = hi - t0
            self._area_a += active * d
            self._area_q += queued * d
            if active:
                self._busy += d
            self._tokens += rate * d
            if t1 < self._end:
                return
            self._close(self._end)
            t0 = hi
            if t0 >= t1:
                return

    def _close(self, end: float) -> None:
        start = self._k * self.width
        span = end - start
        if span > 0:
            self.spool.append(start, end, self._area_a / span, self._area_q / span,
                              self._busy / span, self._tokens)
        self._k += 1
        self._end = (self._k + 1) * self.width
        self._area_a = self._area_q = self._busy = self._tokens = 0.0

    def finish(self, t: float) -> None:
        """Close the last, partial window at the end of the run ``t`` (s)."""
        if t > self._k * self.width:
            self._close(t)
        self.spool.flush()
