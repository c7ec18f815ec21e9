"""Append-only outcome records with fixed schemas, streamed to a sink in chunks.

* :data:`QUERY_SCHEMA` - one row per arrival (``queries.parquet``);
* :data:`TICK_SCHEMA` - one row per allocator tick (``ticks.parquet``);
* :data:`GPU_SCHEMA` - time-weighted GPU levels per window (``gpu.parquet``; with
  several replicas :data:`GPU_REPLICA_SCHEMA`, one row per replica and window);
* :data:`KV_SCHEMA` - KV memory held per replica and window (``kv.parquet``, runs with
  a KV pool only).

Rows reach a :class:`Sink` in chunks, so memory does not grow with the number of
arrivals: :class:`MemorySink` keeps the frames (Python API), :class:`ParquetSink`
writes chunk files and joins them into one file at the end (CLI).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import polars as pl

from simulator.atomic import atomic_write, atomic_write_parquet

__all__ = ["GPU_REPLICA_SCHEMA", "GPU_SCHEMA", "KV_SCHEMA", "OUTCOMES", "QUERY_SCHEMA", "SERVING_COLUMNS", "TICK_SCHEMA", "Block",
           "MemorySink", "Occupancy", "ParquetSink", "Sink", "Spool", "block_frame"]

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
KV_SCHEMA: dict[str, pl.DataType] = {
    "replica": I64, "window_start": F64, "window_end": F64, "kv_mean": F64, "kv_peak": F64,
    "kv_utilisation": F64, "kv_peak_utilisation": F64,
}
"""``kv.parquet`` (runs with a KV pool): per replica and window, the KV memory held
(tokens; time-weighted mean and peak) and as fractions of the pool."""
GPU_REPLICA_SCHEMA: dict[str, pl.DataType] = {"replica": I64, **GPU_SCHEMA}
"""``gpu.parquet`` with ``replicas > 1``: the GPU levels per replica and window."""
SCHEMAS = {"queries": QUERY_SCHEMA, "ticks": TICK_SCHEMA, "gpu": GPU_SCHEMA, "kv": KV_SCHEMA}

SERVING_COLUMNS: dict[str, pl.DataType] = {
    "ttft": F64, "tpot": F64, "preemptions": I64,
}
"""Extra ``queries.parquet`` columns when a serving-v2 feature is on (``GpuSpec.extended``):
time to first token from arrival (s), time per output token after the first (s/token),
times the query was preempted."""

PENDING, CORRECT, WRONG, ABANDONED, EXPIRED, TIMED_OUT = 0, 1, 2, 3, 4, 5
OUTCOMES = np.array(["pending", "correct", "wrong", "abandoned", "expired", "timed_out"])
"""Outcome codes used in :class:`Block`; ``queries.parquet`` stores the names."""


@dataclass
class Block:
    """Per-query columns for queries ``q0 .. q0 + n - 1``, filled in as they resolve.

    Drawn when the block is created: ``time`` (arrival, s), ``pool_index``, ``tier``,
    ``rollout``, ``threshold`` (predicted T, tokens), ``spread`` and ``solvability``
    (NaN when the predictor gives none), and the predictor's ``threshold_sd`` (one
    number; NaN when it gives none), ``prompt`` (prompt tokens from a trace, replacing
    the pool's; None when the arrivals carry none) and ``stream`` (the stream number of
    each query in a several-stream run; None otherwise). Set by the engine: ``tick`` (-1 = never),
    ``cap``, ``generated`` (tokens), ``correct``, ``start`` and ``end`` (s, NaN until
    known), ``first`` (first output token, s, NaN until known), ``preemptions`` and
    ``outcome`` (a code into :data:`OUTCOMES`), ``replica`` (the GPU replica it was routed
to; -1 until routed). ``remaining`` counts the queries without
    an outcome yet.
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
    prompt: np.ndarray | None = None
    stream: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.time.size
        self.tick = np.full(n, -1, dtype=np.int64)
        self.cap = np.zeros(n, dtype=np.int64)
        self.generated = np.zeros(n, dtype=np.int64)
        self.correct = np.zeros(n, dtype=bool)
        self.start = np.full(n, np.nan)
        self.end = np.full(n, np.nan)
        self.first = np.full(n, np.nan)
        self.preemptions = np.zeros(n, dtype=np.int64)
        self.outcome = np.zeros(n, dtype=np.int8)
        self.replica = np.full(n, -1, dtype=np.int64)
        self.remaining = n

    @property
    def n(self) -> int:
        """Queries in the block."""
        return int(self.time.size)


def block_frame(block: Block, ids: pl.Series, benchmarks: pl.Series,
                tau: np.ndarray, streams: list[str] | None = None,
                extended: bool = False, replicas: bool = False) -> pl.DataFrame:
    """The finished ``block`` as ``queries.parquet`` rows (:data:`QUERY_SCHEMA`, then
    :data:`SERVING_COLUMNS` when ``extended``, then ``replica`` when ``replicas``).

    Completed queries: queue_wait = start - arrival (allocator wait + GPU queue),
    generation_time = end - start (prefill + decode), latency = end - arrival.
    Abandoned and expired ones never start: queue_wait = latency, generation_time = 0.
    Blocks with trace prompt lengths add a ``prompt_tokens`` column, several-stream runs
    a ``stream`` column (the names in ``streams``).
    ttft = first token - arrival (NaN when no token came before the end); tpot = (end - first token) /
    (tokens - 1) for completed queries with >= 2 tokens, else NaN.
    """
    idx = block.pool_index
    started = ~np.isnan(block.start)
    start = np.where(started, block.start, block.end)
    frame = pl.DataFrame({
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
    extra: list[pl.Series] = []
    if block.prompt is not None:
        extra.append(pl.Series("prompt_tokens", block.prompt.astype(np.int64), dtype=I64))
    if block.stream is not None and streams is not None:
        extra.append(pl.Series("stream", np.asarray(streams, dtype=object)[block.stream],
                               dtype=STR))
    if extended:
        done = (block.outcome == CORRECT) | (block.outcome == WRONG)
        # the first token is due one step after decoding starts; a completed query's is
        # never after its end, and a client that left before it never got one
        first = np.where(block.first > block.end, np.where(done, block.end, np.nan),
                         block.first)
        many = done & (block.generated >= 2)
        tpot = np.full(block.n, np.nan)
        tpot[many] = ((block.end[many] - first[many])
                      / (block.generated[many] - 1).astype(np.float64))
        extra += [pl.Series("ttft", first - block.time, dtype=F64),
                  pl.Series("tpot", tpot, dtype=F64),
                  pl.Series("preemptions", block.preemptions, dtype=I64)]
    if replicas:  # -1: never routed (abandoned, or timed out / expired at its tick)
        extra.append(pl.Series("replica", block.replica, dtype=I64))
    return frame.with_columns(extra) if extra else frame


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

    def __init__(self, name: str, sink: Sink, rows: int = 1 << 16,
                 schema: dict[str, pl.DataType] | None = None) -> None:
        self.name, self.sink, self.rows = name, sink, rows
        self.schema = SCHEMAS[name] if schema is None else schema
        self._rows: list[tuple[float | int | None, ...]] = []

    def append(self, *row: float | int | None) -> None:
        """One row, in schema column order."""
        rows = self._rows
        rows.append(row)
        if len(rows) >= self.rows:
            self.flush()

    def extend(self, *cols: Sequence[float | int | None]) -> None:
        """Many rows, as one list per column in schema order (the same chunks as
        appending them one by one)."""
        done, n = 0, len(cols[0])
        while done < n:
            take = min(n - done, self.rows - len(self._rows))
            self._rows.extend(zip(*(c[done:done + take] for c in cols), strict=True))
            done += take
            if len(self._rows) >= self.rows:
                self.flush()

    def flush(self) -> None:
        """Send the buffered rows to the sink."""
        if self._rows:
            if len(self._rows[0]) != len(self.schema):
                raise ValueError(f"{self.name}: rows of {len(self._rows[0])} values for "
                                 f"{len(self.schema)} columns")
            data = {k: pl.Series(k, list(c), dtype=t)
                    for (k, t), c in zip(self.schema.items(), zip(*self._rows, strict=True),
                                         strict=True)}
            self.sink.write(self.name, pl.DataFrame(data))
            self._rows = []


class Occupancy:
    """Time-weighted GPU levels in fixed windows of ``width`` seconds.

    The GPU calls :meth:`add` for every interval on which its state is constant:
    ``active`` sequences in slots, ``queued`` waiting, ``tokens`` generated (spread
    evenly over the interval). Windows are closed into a :class:`Spool`, each row
    prefixed by ``key`` (e.g. the replica number).
    """

    def __init__(self, width: float, spool: Spool, key: tuple[int, ...] = ()) -> None:
        self.width, self.spool, self.key = width, spool, key
        self._k = 0
        self._end = width
        self._area_a = self._area_q = self._busy = self._tokens = 0.0
        self.total_area = 0.0  # integral of active + queued over time (for Little's law)

    def add(self, t0: float, t1: float, active: int, queued: int, tokens: float) -> None:
        """Account [t0, t1) (s) at constant levels."""
        d = t1 - t0
        rate = tokens / d
        self.total_area += (active + queued) * d
        if t1 < self._end:  # (most intervals: inside the current window)
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

    def drop(self, t0: float, t: float) -> bool:
        """One request left the queue at ``t`` (s); the next :meth:`add`, from ``t0``,
        has the queued level after it (see :meth:`simulator.serving.clock.Levels.drop`)."""
        if t >= self._end:
            return False
        d = t - t0
        self._area_q += d
        self.total_area += d
        return True

    def _close(self, end: float) -> None:
        start = self._k * self.width
        span = end - start
        if span > 0:
            self.spool.append(*self.key, start, end, self._area_a / span, self._area_q / span,
                              self._busy / span, self._tokens)
        self._k += 1
        self._end = (self._k + 1) * self.width
        self._area_a = self._area_q = self._busy = self._tokens = 0.0

    def finish(self, t: float) -> None:
        """Close the last, partial window at the end of the run ``t`` (s)."""
        if t > self._k * self.width:
            self._close(t)
        self.spool.flush()
