"""Import rollout pools: find the files, read each by its format family, merge by id.

Sources (auto-detected per file):

- CSV, JSONL or Parquet with ONE ROW PER ROLLOUT. Columns (aliases in brackets):
  ``id`` [problem_id, query_id, idx], ``benchmark`` [dataset], ``length``
  [response_tokens, response_length, tokens], ``correct`` [is_correct] (0/1, bool or
  "true"/"false"), optional ``text`` [problem, question], ``level`` (int or "Level 3"),
  ``prompt_tokens`` [prompt_length], ``max_tokens``.
- A pool Parquet (one row per query with ``lengths``/``correct`` lists), for merging.
- THIP ``generation.jsonl`` (one line per problem with lists; :mod:`simulator.pools.thip`).
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

from simulator.pools.generic import ROLLOUT_SCHEMA, read_generic
from simulator.pools.pool import Pool, PoolError
from simulator.pools.thip import benchmark_name, is_thip_line, read_thip

__all__ = ["expand_sources", "import_pool", "read_source"]


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


def read_source(path: Path, benchmark: str | None = None,
                max_tokens: int | None = None) -> pl.DataFrame:
    """One file as a rollout frame (schema ``ROLLOUT_SCHEMA``: one row per rollout)."""
    table = _read_table(path)
    if isinstance(table, list):
        return pl.DataFrame(read_thip(path, benchmark, max_tokens), schema=ROLLOUT_SCHEMA)
    if benchmark is not None:
        benchmark = benchmark_name(benchmark)
    return read_generic(table, path, benchmark)


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
