"""Import rollout pools from generic tables and THIP ``generation.jsonl`` files.

Sources (auto-detected per file):

- CSV, JSONL or Parquet with ONE ROW PER ROLLOUT. Columns (aliases in brackets):
  ``id`` [problem_id, query_id, idx], ``benchmark`` [dataset], ``length``
  [response_tokens, response_length, tokens], ``correct`` [is_correct] (0/1, bool or
  "true"/"false"), optional ``text`` [problem, question], ``level`` (int or "Level 3"),
  ``prompt_tokens`` [prompt_length], ``max_tokens``.
- A pool Parquet (one row per query with ``lengths``/``correct`` lists), for merging.
- THIP ``generation.jsonl`` (one line per problem with lists; :mod:`simulator.pool_thip`).
- A directory: every ``generation.jsonl`` below it.

Rows with the same id (across files too) become the K rollouts of one query. The cap
``max_tokens`` comes from the row, else ``--max-tokens``, else (THIP) config.json,
else the largest length seen in the import. Every error names file, column and row
(1-based data row; for JSONL the line).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from simulator.pool import Pool, PoolError
from simulator.pool_thip import benchmark_name, is_thip_line, read_thip

__all__ = ["ALIASES", "expand_sources", "import_pool", "read_source"]

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
_ROLLOUT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(), "benchmark": pl.String(), "text": pl.String(), "level": pl.Int64(),
    "prompt_tokens": pl.Int64(), "max_tokens": pl.Int64(), "length": pl.Int64(),
    "correct": pl.Boolean(), "row": pl.Int64(), "source": pl.String(),
}


def expand_sources(sources: Sequence[str | Path]) -> list[Path]:
    """Files to read: files as given, directories searched for ``generation.jsonl``."""
    out: list[Path] = []
    for s in sources:
        p = Path(s)
        if p.is_dir():
            found = sorted(p.rglob("generation.jsonl"))
            if not found:
                raise PoolError(f"{p}: directory holds no generation.jsonl; give the "
                                "files (CSV, JSONL, Parquet) directly")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise PoolError(f"{p}: no such file or directory")
    return out


def _fail(path: Path, column: str, row: int | None, what: str, fix: str) -> PoolError:
    where = f"{path}: column '{column}'" + ("" if row is None else f", row {row}")
    return PoolError(f"{where}: {what}; {fix}")


def _read_table(path: Path) -> pl.DataFrame | list[dict[str, Any]]:
    """A polars frame, or THIP records when the JSONL has per-problem lists."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=None)
        if suffix in (".jsonl", ".ndjson", ".json"):
            with path.open(encoding="utf-8") as fh:
                first = next((ln for ln in fh if ln.strip()), "")
            try:
                head = json.loads(first) if first else None
            except json.JSONDecodeError as exc:
                raise PoolError(f"{path}: line 1: invalid JSON ({exc.msg}); each line "
                                "must be one JSON object") from None
            if is_thip_line(head):
                return []  # read by read_thip
            return pl.read_ndjson(path, infer_schema_length=None)
    except PoolError:
        raise
    except Exception as exc:  # polars raises many types for malformed files
        msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        raise PoolError(f"{path}: not a readable {suffix[1:].upper()} table "
                        f"({type(exc).__name__}: {msg})") from None
    raise PoolError(f"{path}: unknown file type '{suffix}'; use .csv, .jsonl or .parquet")


def _pick(frame: pl.DataFrame, name: str) -> str | None:
    return next((c for c in ALIASES[name] if c in frame.columns), None)


def _generic(frame: pl.DataFrame, path: Path, benchmark: str | None) -> pl.DataFrame:
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
        bad = (val.is_null() & raw.is_not_null()) | val.is_nan() | (val != val.round(0)) \
            | (val < lo)
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
    }, schema=_ROLLOUT_SCHEMA)


def read_source(path: Path, benchmark: str | None = None,
                max_tokens: int | None = None) -> pl.DataFrame:
    """One file as a rollout frame (schema ``_ROLLOUT_SCHEMA``: one row per rollout)."""
    table = _read_table(path)
    if isinstance(table, list):
        return pl.DataFrame(read_thip(path, benchmark, max_tokens), schema=_ROLLOUT_SCHEMA)
    if benchmark is not None:
        benchmark = benchmark_name(benchmark)
    return _generic(table, path, benchmark)


def _merge(rollouts: pl.DataFrame, max_tokens: int | None) -> pl.DataFrame:
    """Group rollouts by id into pool rows; checks caps and benchmark consistency."""
    if max_tokens is not None:
        rollouts = rollouts.with_columns(pl.col("max_tokens").fill_null(max_tokens))
    seen = int(rollouts["length"].max())  # type: ignore[arg-type]
    rollouts = rollouts.with_columns(pl.col("max_tokens").fill_null(seen))
    over = rollouts.filter(pl.col("length") > pl.col("max_tokens"))
    if over.height:
        r = over.row(0, named=True)
        raise PoolError(f"{r['source']}: column 'length', row {r['row']}: length "
                        f"{r['length']} exceeds the cap max_tokens={r['max_tokens']}; "
                        "raise --max-tokens to the collection cap")
    mixed = rollouts.group_by("id", maintain_order=True).agg(
        pl.col("benchmark").n_unique().alias("n"))
    mixed = mixed.filter(pl.col("n") > 1)
    if mixed.height:
        qid = mixed["id"][0]
        rows = rollouts.filter(pl.col("id") == qid)
        r = rows.row(-1, named=True)
        names = ", ".join(sorted(set(rows["benchmark"].to_list())))
        raise PoolError(f"{r['source']}: column 'benchmark', row {r['row']}: id {qid!r} "
                        f"appears under benchmarks {names}; ids must be unique across "
                        f"benchmarks: prefix them (e.g. '{r['benchmark']}/{qid}'), or "
                        "import THIP generation.jsonl files, whose ids are prefixed")
    # A rollout cut at its own cap (length == max_tokens) would have kept generating
    # under the query's larger merged cap (THIP prompts differ by policy), so it stays
    # "cut at L_max": correct only at t >= L_max (model.md section 1).
    merged_cap = pl.col("max_tokens").max().over("id")
    rollouts = rollouts.with_columns(
        pl.when(pl.col("length") == pl.col("max_tokens")).then(merged_cap)
        .otherwise(pl.col("length")).alias("length"))
    return rollouts.group_by("id", maintain_order=True).agg(
        pl.col("benchmark").first(),
        pl.col("text").drop_nulls().first(),
        pl.col("level").drop_nulls().first(),
        pl.col("prompt_tokens").min(),
        pl.col("max_tokens").max(),
        pl.col("length").alias("lengths"),
        pl.col("correct"),
    )


def import_pool(sources: Sequence[str | Path], benchmark: str | None = None,
                max_tokens: int | None = None) -> Pool:
    """Read, merge and validate ``sources`` into one :class:`Pool`.

    Args:
        sources: files or directories (see the module docstring).
        benchmark: benchmark name for every row (overrides file contents).
        max_tokens: collection cap in tokens for rows that do not give one.

    Raises:
        PoolError: any unreadable file or bad value, naming file, column and row.
    """
    if max_tokens is not None and max_tokens < 1:
        raise PoolError(f"--max-tokens must be a positive token count, got {max_tokens}")
    files = expand_sources(sources)
    if not files:
        raise PoolError("no sources given; name at least one file or directory")
    frames = [read_source(p, benchmark, max_tokens) for p in files]
    label = str(files[0]) if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more)"
    return Pool.from_frame(_merge(pl.concat(frames), max_tokens), source=label)
