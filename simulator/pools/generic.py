"""Reader for generic rollout tables: CSV, JSONL or Parquet with one row per rollout.

Columns are found by ``--map`` first, then by name or alias
(:data:`simulator.pools.fields.ALIASES`): ``id`` [problem_id, query_id, question_id,
idx], ``benchmark`` [dataset, task], ``length`` [response_tokens, response_length,
completion_tokens, output_tokens, tokens], ``correct`` [is_correct] (0/1, bool or
"true"/"false"), optional ``text`` [problem, question], ``level`` (int or "Level 3"),
``prompt_tokens`` [prompt_length], ``max_tokens``, ``finish_reason`` ("length" marks a
rollout cut at the cap) and ``response`` [output, completion, generation]: response
text, counted with ``--tokenizer`` when there is no length column. A pool Parquet (one
row per query with ``lengths``/``correct`` lists) is exploded back to rollouts, for
merging. The record readers (lm-eval, OpenAI) hand their fields to
:func:`read_generic` too. Every error names file, column and 1-based row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from simulator.checks import bad_counts
from simulator.pools.fields import ALIASES, ReadOptions, frame_field
from simulator.pools.pool import Pool, PoolError

__all__ = ["ALIASES", "ROLLOUT_SCHEMA", "read_generic"]

_TRUE, _FALSE = ("1", "true", "yes", "1.0"), ("0", "false", "no", "0.0")
ROLLOUT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(), "benchmark": pl.String(), "text": pl.String(), "level": pl.Int64(),
    "prompt_tokens": pl.Int64(), "max_tokens": pl.Int64(), "length": pl.Int64(),
    "correct": pl.Boolean(), "cut": pl.Boolean(), "row": pl.Int64(), "source": pl.String(),
}


def _fail(path: Path, column: str, row: int | None, what: str, fix: str) -> PoolError:
    where = f"{path}: column '{column}'" + ("" if row is None else f", row {row}")
    return PoolError(f"{where}: {what}; {fix}")


def _first_bad(mask: pl.Series) -> int:
    return int(mask.arg_true()[0]) + 1


def _counts(path: Path, src: str, raw: pl.Series, lo: int, rows: pl.Series,
            required: bool) -> pl.Series:
    """Whole token counts >= ``lo`` (nulls allowed unless ``required``), or raise."""
    val = raw.cast(pl.Float64, strict=False) if raw.dtype != pl.String else \
        raw.str.strip_chars().cast(pl.Float64, strict=False)
    bad = (val.is_null() & raw.is_not_null()) \
        | pl.Series(bad_counts(val.fill_null(lo).to_numpy(), lo))  # finite, whole, in range
    if required:
        bad = bad | val.is_null()
    bad = bad.fill_null(False)
    if bad.any():
        r = _first_bad(bad)
        raise _fail(path, src, int(rows[r - 1]), f"value {raw[r - 1]!r} is not an integer "
                    f">= {lo}", "token counts must be whole, non-negative numbers")
    return val.cast(pl.Int64)


def read_generic(frame: pl.DataFrame, path: Path, opts: ReadOptions,
                 rows: pl.Series | None = None) -> pl.DataFrame:
    """Normalise a one-row-per-rollout table to :data:`ROLLOUT_SCHEMA`, or raise.

    Args:
        frame: the table.
        path: its file, for messages.
        opts: ``--map``, ``--tokenizer`` and the notes list.
        rows: the 1-based row (or line) of each frame row; default 1..n.

    The benchmark is left null where the table names none (the importer fills it).
    """
    if "lengths" in frame.columns and isinstance(frame.schema["lengths"], pl.List):
        frame = Pool.from_frame(frame, source=str(path)).frame.explode(["lengths", "correct"])
        frame = frame.rename({"lengths": "length"})
    n = frame.height
    picked = {k: frame_field(frame, k, opts.mapping, path) for k in ALIASES}
    names = {k: v[0] for k, v in picked.items()}
    for need in ("id", "correct"):
        if names[need] is None:
            raise _fail(path, need, None, "missing column",
                        f"one row per rollout needs one of {', '.join(ALIASES[need])} "
                        f"(or --map {need}=COLUMN)")
    if names["length"] is None and names["response"] is None:
        raise _fail(path, "length", None, "missing column",
                    f"one row per rollout needs one of {', '.join(ALIASES['length'])} "
                    "(or --map length=COLUMN), or a response text column and --tokenizer")
    if n == 0:
        raise PoolError(f"{path}: no rows; a pool needs at least one rollout")
    row = pl.Series("row", range(1, n + 1), dtype=pl.Int64) if rows is None else rows

    def col(name: str) -> pl.Series:
        s = picked[name][1]
        return s if s is not None else pl.Series(name, [None] * n)

    ids = col("id").cast(pl.String, strict=False)
    if ids.is_null().any():
        raise _fail(path, str(names["id"]), int(row[_first_bad(ids.is_null()) - 1]),
                    "missing id", "every rollout needs its query id")
    if names["length"] is not None:
        length = _counts(path, str(names["length"]), col("length"), 1, row, True)
    else:
        length = _count_text(path, str(names["response"]), col("response"), row, opts)
    prompt = _counts(path, str(names["prompt_tokens"]), col("prompt_tokens"), 0, row, False)
    cap = _counts(path, str(names["max_tokens"]), col("max_tokens"), 1, row, False)
    grade = col("correct").cast(pl.String).str.strip_chars().str.to_lowercase()
    ok = grade.is_in(_TRUE)
    valid = (ok | grade.is_in(_FALSE)).fill_null(False)
    if not valid.all():
        r = _first_bad(~valid)
        raise _fail(path, str(names["correct"]), int(row[r - 1]), f"grade "
                    f"{col('correct')[r - 1]!r} is not 0/1 or true/false", "grades are booleans")
    level = col("level")
    if level.dtype == pl.String:
        level = level.str.extract(r"(\d+)")
    cut = col("finish_reason").cast(pl.String, strict=False).str.strip_chars() == "length"
    return pl.DataFrame({
        "id": ids, "benchmark": col("benchmark").cast(pl.String, strict=False),
        "text": col("text").cast(pl.String, strict=False),
        "level": level.cast(pl.Int64, strict=False), "prompt_tokens": prompt,
        "max_tokens": cap, "length": length, "correct": ok, "cut": cut.fill_null(False),
        "row": row, "source": pl.Series([str(path)] * n),
    }, schema=ROLLOUT_SCHEMA)


def _count_text(path: Path, src: str, text: pl.Series, rows: pl.Series,
                opts: ReadOptions) -> pl.Series:
    """Token counts of response text with ``--tokenizer`` (>= 1 per rollout), or raise."""
    if opts.tokenizer is None:
        raise _fail(path, "length", None, "missing column",
                    f"pass --tokenizer tokenizer.json to count the tokens of column "
                    f"'{src}', or --map length=COLUMN")
    strings = text.cast(pl.String, strict=False)
    if strings.is_null().any():
        r = _first_bad(strings.is_null())
        raise _fail(path, src, int(rows[r - 1]), "missing response text",
                    "every rollout needs its text to count its tokens")
    counts = np.maximum(opts.tokenizer.count(strings.to_list()), 1)
    opts.note(f"{path}: length = tokens of column '{src}' counted with "
              f"{opts.tokenizer.path}")
    return pl.Series("length", counts, dtype=pl.Int64)
