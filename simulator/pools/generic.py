"""Reader for generic rollout tables: CSV, JSONL or Parquet with one row per rollout.

Columns are found by name or alias (:data:`ALIASES`): ``id`` [problem_id, query_id, idx],
``benchmark`` [dataset], ``length`` [response_tokens, response_length, tokens],
``correct`` [is_correct] (0/1, bool or "true"/"false"), optional ``text`` [problem,
question], ``level`` (int or "Level 3"), ``prompt_tokens`` [prompt_length],
``max_tokens``. A pool Parquet (one row per query with ``lengths``/``correct`` lists) is
exploded back to rollouts, for merging. Every error names file, column and 1-based row.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from simulator.checks import bad_counts
from simulator.pools.pool import Pool, PoolError

__all__ = ["ALIASES", "ROLLOUT_SCHEMA", "read_generic"]

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "problem_id", "query_id", "idx"),
    "benchmark": ("benchmark", "dataset"),
    "length": ("length", "response_tokens", "response_length", "tokens"),
    "correct": ("correct", "is_correct"),
    "text": ("text", "problem", "question"),
    "level": ("level",),
    "prompt_tokens": ("prompt_tokens", "prompt_length"),
    "max_tokens": ("max_tokens",),
}
_TRUE, _FALSE = ("1", "true", "yes", "1.0"), ("0", "false", "no", "0.0")
ROLLOUT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(), "benchmark": pl.String(), "text": pl.String(), "level": pl.Int64(),
    "prompt_tokens": pl.Int64(), "max_tokens": pl.Int64(), "length": pl.Int64(),
    "correct": pl.Boolean(), "row": pl.Int64(), "source": pl.String(),
}


def _fail(path: Path, column: str, row: int | None, what: str, fix: str) -> PoolError:
    where = f"{path}: column '{column}'" + ("" if row is None else f", row {row}")
    return PoolError(f"{where}: {what}; {fix}")


def _pick(frame: pl.DataFrame, name: str) -> str | None:
    return next((c for c in ALIASES[name] if c in frame.columns), None)


def read_generic(frame: pl.DataFrame, path: Path, benchmark: str | None) -> pl.DataFrame:
    """Normalise a one-row-per-rollout table to the rollout schema, or raise."""
    if "lengths" in frame.columns and isinstance(frame.schema["lengths"], pl.List):
        frame = Pool.from_frame(frame, source=str(path)).frame.explode(["lengths", "correct"])
        frame = frame.rename({"lengths": "length"})
    cols: dict[str, str | None] = {k: _pick(frame, k) for k in ALIASES}
    for need in ("id", "length", "correct"):
        if cols[need] is None:
            raise _fail(path, need, None, "missing column",
                        f"one row per rollout needs one of {', '.join(ALIASES[need])}")
    if cols["benchmark"] is None and benchmark is None:
        raise _fail(path, "benchmark", None, "missing column",
                    "add a benchmark column or pass --benchmark NAME")
    n = frame.height
    if n == 0:
        raise PoolError(f"{path}: no rows; a pool needs at least one rollout")
    row = pl.Series("row", range(1, n + 1), dtype=pl.Int64)

    def col(name: str) -> pl.Series:
        c = cols[name]
        return frame[c] if c is not None else pl.Series(name, [None] * n)

    def first_bad(mask: pl.Series) -> int:
        return int(mask.arg_true()[0]) + 1

    ids = col("id").cast(pl.String, strict=False)
    if ids.is_null().any():
        raise _fail(path, str(cols["id"]), first_bad(ids.is_null()), "missing id",
                    "every rollout needs its query id")
    ints: dict[str, pl.Series] = {}
    for name, lo in (("length", 1), ("prompt_tokens", 0), ("max_tokens", 1)):
        raw = col(name)
        val = raw.cast(pl.Float64, strict=False) if raw.dtype != pl.String else \
            raw.str.strip_chars().cast(pl.Float64, strict=False)
        bad = (val.is_null() & raw.is_not_null()) \
            | pl.Series(bad_counts(val.fill_null(lo).to_numpy(), lo))  # finite, whole, in range
        if name == "length":
            bad = bad | val.is_null()
        if bad.fill_null(False).any():
            r = first_bad(bad.fill_null(False))
            raise _fail(path, str(cols[name]), r, f"value {raw[r - 1]!r} is not an integer "
                        f">= {lo}", "token counts must be whole, non-negative numbers")
        ints[name] = val.cast(pl.Int64)
    grade = col("correct").cast(pl.String).str.strip_chars().str.to_lowercase()
    ok = grade.is_in(_TRUE)
    if not (ok | grade.is_in(_FALSE)).fill_null(False).all():
        r = first_bad(~(ok | grade.is_in(_FALSE)).fill_null(False))
        raise _fail(path, str(cols["correct"]), r, f"grade {col('correct')[r - 1]!r} is not "
                    "0/1 or true/false", "grades are booleans")
    level = col("level")
    if level.dtype == pl.String:
        level = level.str.extract(r"(\d+)")
    bench = pl.Series([benchmark] * n) if benchmark else col("benchmark").cast(pl.String)
    if bench.is_null().any():
        raise _fail(path, str(cols["benchmark"]), first_bad(bench.is_null()),
                    "missing benchmark", "fill it in or pass --benchmark NAME")
    return pl.DataFrame({
        "id": ids, "benchmark": bench, "text": col("text").cast(pl.String, strict=False),
        "level": level.cast(pl.Int64, strict=False), "prompt_tokens": ints["prompt_tokens"],
        "max_tokens": ints["max_tokens"], "length": ints["length"], "correct": ok,
        "row": row, "source": pl.Series([str(path)] * n),
    }, schema=ROLLOUT_SCHEMA)
