"""Rollout pools: queries with K cached rollouts each, replayed as an oracle.

A pool is stored as Parquet, one row per query, with this fixed schema
(:data:`POOL_SCHEMA`):

==============  ==================  ==============================================
column          type                meaning
==============  ==================  ==============================================
id              str                 unique query id
benchmark       str                 benchmark name (e.g. ``math500``)
text            str, nullable       query text, when known
level           int, nullable       difficulty level (e.g. MATH 1-5), when known
prompt_tokens   int, nullable       prompt length in tokens, when known
max_tokens      int                 collection cap L_max in tokens (> 0)
lengths         list[int]           K >= 1 rollout lengths in generated tokens
correct         list[bool]          K grades, aligned with ``lengths``
==============  ==================  ==============================================

Invariants checked on load (:func:`validate_frame`): no nulls in required columns,
``1 <= lengths[k] <= max_tokens``, ``len(lengths) == len(correct) >= 1``, unique ids.
Error messages name the column and the 1-based row (query) that breaks them.

In memory a :class:`Pool` keeps the ragged rollouts as padded ``(N, Kmax)`` numpy
arrays plus a validity mask, so every per-query quantity is vectorised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from simulator.atomic import atomic_write_parquet
from simulator.errors import UserError

__all__ = ["POOL_SCHEMA", "Pool", "PoolError", "load_pool", "save_pool", "validate_frame"]

POOL_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "benchmark": pl.String(),
    "text": pl.String(),
    "level": pl.Int64(),
    "prompt_tokens": pl.Int64(),
    "max_tokens": pl.Int64(),
    "lengths": pl.List(pl.Int64()),
    "correct": pl.List(pl.Boolean()),
}
REQUIRED = ("id", "benchmark", "max_tokens", "lengths", "correct")
OPTIONAL = ("text", "level", "prompt_tokens")


class PoolError(UserError):
    """A pool file or frame breaks the schema; the message names column and row."""


@dataclass(frozen=True)
class Pool:
    """An in-memory rollout pool (see module docstring for the schema).

    Attributes:
        frame: the validated polars frame, one row per query, columns of POOL_SCHEMA.
        lengths: (N, Kmax) int64 rollout lengths in tokens; padding is 0.
        correct: (N, Kmax) bool grades; padding is False.
        valid: (N, Kmax) bool mask of real rollouts.
        max_tokens: (N,) int64 collection cap L_max in tokens.
    """

    frame: pl.DataFrame
    lengths: np.ndarray
    correct: np.ndarray
    valid: np.ndarray
    max_tokens: np.ndarray

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, source: str = "<frame>") -> Pool:
        """Validate ``frame`` and build the padded arrays.

        Raises:
            PoolError: on any schema violation, naming ``source``, column and row.
        """
        frame = validate_frame(frame, source)
        k = frame["lengths"].list.len().to_numpy().astype(np.int64)
        n, kmax = frame.height, int(k.max())
        valid = np.arange(kmax)[None, :] < k[:, None]
        lengths = np.zeros((n, kmax), dtype=np.int64)
        correct = np.zeros((n, kmax), dtype=bool)
        lengths[valid] = frame["lengths"].explode().to_numpy()
        correct[valid] = frame["correct"].explode().to_numpy()
        return cls(frame, lengths, correct, valid, frame["max_tokens"].to_numpy().astype(np.int64))

    # ---- basic accessors -------------------------------------------------------------
    def __len__(self) -> int:
        return self.frame.height

    @property
    def n_rollouts(self) -> np.ndarray:
        """(N,) number of rollouts K_i per query."""
        return self.valid.sum(axis=1)

    @property
    def ids(self) -> np.ndarray:
        return self.frame["id"].to_numpy()

    @property
    def benchmarks(self) -> np.ndarray:
        return self.frame["benchmark"].to_numpy()

    @property
    def prompt_tokens(self) -> np.ndarray:
        """(N,) prompt tokens; 0 where unknown."""
        return self.frame["prompt_tokens"].fill_null(0).to_numpy().astype(np.int64)

    # ---- the oracle quantities of model.md section 1 ---------------------------------
    @property
    def solvable(self) -> np.ndarray:
        """(N,) bool: at least one correct rollout."""
        return (self.correct & self.valid).any(axis=1)

    @property
    def tau(self) -> np.ndarray:
        """(N,) oracle emergence threshold tau_i in tokens (float64).

        K = 1: the single rollout's length (as in the paper). K > 1: the median length
        of the correct rollouts. Insolvent queries get the median of all their rollouts,
        which is what a deployment observes, so predictors never see a correctness leak.
        """
        good = self.correct & self.valid
        use = np.where(self.solvable[:, None], good, self.valid)
        masked = np.where(use, self.lengths.astype(np.float64), np.nan)
        return np.nanmedian(masked, axis=1)

    def accuracy_at(self, caps: np.ndarray) -> np.ndarray:
        """(N,) expected accuracy A_i(t_i) = mean_k 1[c_ik and l_ik <= t_i].

        Args:
            caps: (N,) token caps t_i (tokens, >= 0).
        """
        caps = np.asarray(caps, dtype=np.float64)
        hit = self.correct & self.valid & (self.lengths <= caps[:, None])
        return hit.sum(axis=1) / self.n_rollouts

    def expected_tokens(self, caps: np.ndarray) -> np.ndarray:
        """(N,) expected generated tokens E_k[min(l_ik, t_i)]."""
        caps = np.asarray(caps, dtype=np.float64)
        gen = np.minimum(self.lengths.astype(np.float64), caps[:, None])
        return np.where(self.valid, gen, 0.0).sum(axis=1) / self.n_rollouts

    def subset(self, index: np.ndarray) -> Pool:
        """Rows ``index`` (may repeat) as a new pool sharing no arrays."""
        index = np.asarray(index, dtype=np.int64)
        return Pool(
            self.frame[index],
            self.lengths[index],
            self.correct[index],
            self.valid[index],
            self.max_tokens[index],
        )


def _fail(source: str, column: str, row: int | None, what: str, fix: str) -> PoolError:
    where = f"{source}: column '{column}'" + (f", row {row + 1}" if row is not None else "")
    return PoolError(f"{where}: {what}; {fix}")


def _first(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def validate_frame(frame: pl.DataFrame, source: str = "<frame>") -> pl.DataFrame:
    """Check ``frame`` against POOL_SCHEMA and return it cast to the schema's types.

    Raises:
        PoolError: naming the source, column and first offending row, and the fix.
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise _fail(source, missing[0], None, "missing required column",
                    f"a pool needs columns {', '.join(REQUIRED)}")
    if frame.height == 0:
        raise PoolError(f"{source}: the pool is empty; it needs at least one query")
    for c in OPTIONAL:
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=POOL_SCHEMA[c]).alias(c))
    _check_whole_numbers(frame, source)
    try:
        frame = frame.select([pl.col(c).cast(t, strict=True) for c, t in POOL_SCHEMA.items()])
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        bad = _bad_cast_column(frame)
        raise _fail(source, bad, None, f"wrong type ({str(exc).splitlines()[0]})",
                    f"expected {POOL_SCHEMA[bad]}") from None
    for c in REQUIRED:
        nulls = frame[c].is_null()
        if nulls.any():
            raise _fail(source, c, _first(nulls), "null value", "every query needs this field")
    dup = frame["id"].is_duplicated()
    if dup.any():
        raise _fail(source, "id", _first(dup), f"duplicate id {frame['id'][_first(dup)]!r}",
                    "ids must be unique")
    k_len = frame["lengths"].list.len()
    k_cor = frame["correct"].list.len()
    empty = k_len == 0
    if empty.any():
        raise _fail(source, "lengths", _first(empty), "no rollouts", "each query needs K >= 1")
    mism = k_len != k_cor
    if mism.any():
        r = _first(mism)
        raise _fail(source, "correct", r,
                    f"{k_cor[r]} grades for {k_len[r]} lengths",
                    "'lengths' and 'correct' must have the same number of entries")
    cap = frame["max_tokens"]
    if (cap <= 0).any():
        raise _fail(source, "max_tokens", _first(cap <= 0), "cap must be > 0",
                    "set the collection cap L_max in tokens")
    for col in ("lengths", "correct"):
        inner_null = frame[col].list.eval(pl.element().is_null().any()).list.first()
        if inner_null.any():
            raise _fail(source, col, _first(inner_null), "null or NaN inside the list",
                        "every rollout needs a value")
    lo = frame["lengths"].list.min()
    if (lo < 1).any():
        r = _first(lo < 1)
        raise _fail(source, "lengths", r, f"length {lo[r]} < 1",
                    "rollout lengths are positive token counts")
    hi = frame["lengths"].list.max()
    over = hi > cap
    if over.any():
        r = _first(over)
        raise _fail(source, "lengths", r, f"length {hi[r]} exceeds max_tokens {cap[r]}",
                    "raise max_tokens to the collection cap")
    for c in ("level", "prompt_tokens"):
        neg = frame[c].fill_null(0) < 0
        if neg.any():
            raise _fail(source, c, _first(neg), "negative value", "use a value >= 0 or null")
    return frame


def _check_whole_numbers(frame: pl.DataFrame, source: str) -> None:
    """Float token counts must be whole and not NaN (a cast would truncate or fail)."""
    for c in ("lengths", "max_tokens", "level", "prompt_tokens"):
        dtype = frame.schema[c]
        is_list = isinstance(dtype, pl.List)
        inner = dtype.inner if isinstance(dtype, pl.List) else dtype
        if inner is None or not inner.is_float():
            continue
        bad_el = pl.element().is_nan() | (pl.element() != pl.element().round(0))
        series = frame[c] if is_list else frame[c].implode()
        bad = series.list.eval(bad_el)
        bad = (bad.list.any() if is_list else bad.explode()).fill_null(False)
        if bad.any():
            raise _fail(source, c, _first(bad), "NaN or fractional value",
                        "this column holds whole numbers (tokens or levels)")


def _bad_cast_column(frame: pl.DataFrame) -> str:
    for c, t in POOL_SCHEMA.items():
        try:
            frame[c].cast(t, strict=True)
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
            return c
    return "?"


def load_pool(path: str | os.PathLike[str]) -> Pool:
    """Read and validate a pool Parquet file.

    Raises:
        PoolError: the file is missing, unreadable or breaks the schema.
    """
    p = Path(path)
    if not p.is_file():
        raise PoolError(f"{p}: pool file not found; give a Parquet file made by "
                        "'clearsim pool import' or the embedded pool 'default'")
    if p.suffix.lower() in (".csv", ".tsv", ".jsonl", ".json", ".ndjson"):
        raise PoolError(f"{p}: a pool is a Parquet file, not {p.suffix.lstrip('.').upper()}; "
                        f"build one from these rollouts with 'clearsim pool import {p} "
                        "-o pool.parquet'")
    try:
        frame = pl.read_parquet(p)
    except Exception as exc:  # polars raises several types for corrupt files
        raise PoolError(f"{p}: not a readable Parquet file ({type(exc).__name__}); "
                        "re-create it with 'clearsim pool import'") from None
    return Pool.from_frame(frame, source=str(p))


def save_pool(pool: Pool | pl.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Validate and write atomically (temporary file, then rename). Returns the path."""
    frame = pool.frame if isinstance(pool, Pool) else validate_frame(pool, str(path))
    return atomic_write_parquet(frame, path)
