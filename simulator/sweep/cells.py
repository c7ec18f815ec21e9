"""Running cells in a worker: the shipped context, one task, one result.

The driver packs everything a worker needs into one picklable :class:`SweepContext`:
the kind, the resolved base and every pool the grid reads, as Parquet bytes. Executors
ship it once per worker (a process-pool initializer, or Ray's object store), so workers
never read the sweep's files. :func:`execute` never raises for a cell's own error: it
returns a :class:`CellResult` carrying the error text, and the sweep goes on.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from simulator.pools.pool import Pool

__all__ = ["CellResult", "CellTask", "SweepContext", "execute", "pool_bytes"]


@dataclass(frozen=True)
class CellTask:
    """One cell to run: its id, coordinates and derived seed."""

    cell_id: str
    coords: dict[str, Any]
    seed: int


@dataclass(frozen=True)
class CellResult:
    """The outcome of one cell.

    Attributes:
        cell_id: the cell.
        metrics: summary metrics, or None when the cell failed.
        error: ``"Type: message"`` when the cell failed.
        trace: the formatted traceback when the cell failed.
        wall_seconds: compute time of the cell in the worker (s; not reproducible).
    """

    cell_id: str
    metrics: dict[str, Any] | None
    error: str | None = None
    trace: str | None = None
    wall_seconds: float = 0.0


@dataclass(frozen=True)
class SweepContext:
    """Everything a worker needs besides the task (picklable, shipped once).

    Attributes:
        kind: the registered cell kind.
        base: the resolved base (JSON-able).
        root: folder that relative paths in axis values are taken from.
        pools: pool key -> the pool frame as Parquet bytes.
        digest: a hash of all of the above (workers cache decoded pools under it).
    """

    kind: str
    base: dict[str, Any]
    root: str
    pools: dict[str, bytes]
    digest: str = field(default="")

    @classmethod
    def make(cls, kind: str, base: dict[str, Any], root: str,
             pools: dict[str, bytes]) -> SweepContext:
        """A context with its digest filled in."""
        blob = pickle.dumps((kind, base, root, sorted(pools.items())))
        return cls(kind, base, root, pools, hashlib.sha256(blob).hexdigest()[:16])


def pool_bytes(pool: Pool) -> bytes:
    """The pool frame as Parquet bytes (for shipping)."""
    buf = io.BytesIO()
    pool.frame.write_parquet(buf)
    return buf.getvalue()


# Decoded pools per (context digest, pool key): each worker decodes a pool once.
_POOLS: dict[tuple[str, str], Pool] = {}


def _pool(ctx: SweepContext, key: str) -> Pool:
    if (ctx.digest, key) not in _POOLS:
        if len(_POOLS) > 8:
            _POOLS.clear()
        frame = pl.read_parquet(io.BytesIO(ctx.pools[key]))
        _POOLS[(ctx.digest, key)] = Pool.from_frame(frame, source=key)
    return _POOLS[(ctx.digest, key)]


def execute(ctx: SweepContext, task: CellTask) -> CellResult:
    """Build and run one cell; any exception becomes a failed :class:`CellResult`."""
    from simulator.sweep.kinds import get_kind

    start = time.perf_counter()
    try:
        kind = get_kind(ctx.kind)
        config = kind.build(ctx.base, task.coords, task.seed, Path(ctx.root))
        metrics = kind.run(config, _pool(ctx, kind.pool_key(config)))
    except Exception as exc:  # a cell's failure is recorded, never fatal to the sweep
        return CellResult(task.cell_id, None, f"{type(exc).__name__}: {exc}",
                          traceback.format_exc(), time.perf_counter() - start)
    return CellResult(task.cell_id, metrics, wall_seconds=time.perf_counter() - start)
