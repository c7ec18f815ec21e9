"""Reader for lm-evaluation-harness ``samples_<task>_<time>.jsonl`` files.

One line per document (``--log_samples`` output): ``doc_id``, ``doc`` (the dataset row),
``arguments`` (the prompt and generation kwargs), ``resps`` (``[[text, ...]]``),
``filter`` and one value per metric (``exact_match``, ``acc``, ...). One line is one
rollout: the response is ``resps[0][0]``, graded by ``--metric`` (default the first of
exact_match, acc on the line; values must be 0/1). The harness stores no token counts,
so lengths come from ``--tokenizer`` (or ``--map length=FIELD``); with a tokenizer the
prompt (``arguments``) is counted into ``prompt_tokens`` too. The cap is the request's
``max_gen_toks`` when the harness recorded it. A file written with several filters
(gsm8k: strict-match, flexible-extract) repeats each document once per filter; the
first filter seen is kept. The benchmark is a ``benchmark``/``task`` field, else
``--benchmark``, else the task in the file name ``samples_<task>_<time>.jsonl``.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from simulator.pools.fields import ReadOptions, dig, read_jsonl, records_frame
from simulator.pools.generic import read_generic
from simulator.pools.pool import PoolError

__all__ = ["METRICS", "is_lmeval_line", "read_lmeval", "task_from_name"]

METRICS = ("exact_match", "acc")
_PROMPT = ("arguments.gen_args_0.arg_0", "arguments.0.0")
_CAP = ("arguments.gen_args_0.arg_1.max_gen_toks", "arguments.0.1.max_gen_toks")


def is_lmeval_line(record: object) -> bool:
    """True for an lm-eval sample line (``doc_id`` and ``resps``)."""
    return isinstance(record, dict) and "doc_id" in record and "resps" in record


def task_from_name(path: Path) -> str | None:
    """``gsm8k`` from ``samples_gsm8k_2024-05-01T12-00-00.123.jsonl``; None otherwise.

    The time stamp may also be a bare date (``samples_gsm8k_2024-05-01``)."""
    m = re.fullmatch(r"samples_(.+?)(_\d{4}-\d{2}-\d{2}(?:[T_][\d\-.:]+)?)?", path.stem)
    return m.group(1) if m else None


def read_lmeval(path: Path, opts: ReadOptions) -> pl.DataFrame:
    """The file's rollouts (:data:`~simulator.pools.generic.ROLLOUT_SCHEMA`), or raise."""
    lines = read_jsonl(path)
    first_filter = next((r.get("filter") for _, r in lines if isinstance(r, dict)), None)
    kept = [(n, r) for n, r in lines if not isinstance(r, dict)
            or r.get("filter") == first_filter]
    if len(kept) < len(lines):
        opts.note(f"{path}: kept filter '{first_filter}' ({len(kept)} of {len(lines)} "
                  "lines; the others repeat the documents under other filters)")
    for n, r in kept:
        if not is_lmeval_line(r):
            raise PoolError(f"{path}: line {n}, field 'resps': missing (also 'doc_id'?); "
                            "not an lm-eval samples line; choose another --format")
    records = [r for _, r in kept]
    metric = opts.metric or next((m for m in METRICS if m in records[0]), None)
    if "correct" not in opts.mapping:
        if metric is None:
            raise PoolError(f"{path}: line {kept[0][0]}: no metric {' or '.join(METRICS)}; "
                            "name the 0/1 metric with --metric NAME")
        if not any(metric in r for r in records):
            raise PoolError(f"{path}: --metric {metric}: no line has field '{metric}'; "
                            f"fields: {', '.join(sorted(records[0]))}")
        opts.note(f"{path}: graded by metric '{metric}'")
    defaults: dict[str, tuple[str, ...]] = {
        "id": ("doc_id",), "benchmark": ("benchmark", "task"),
        "correct": (metric,) if metric else (), "response": ("resps.0.0",),
        "text": ("doc.problem", "doc.question", "doc.input"), "level": ("doc.level",),
        "max_tokens": _CAP,
    }
    frame, used = records_frame(records, defaults, opts.mapping, path)
    if "prompt_tokens" not in used and opts.tokenizer is not None:
        prompts = [next((p for p in (dig(r, k) for k in _PROMPT) if isinstance(p, str)), None)
                   for r in records]
        if all(p is not None for p in prompts):
            counts = opts.tokenizer.count([str(p) for p in prompts])
            frame = frame.with_columns(pl.Series("prompt (tokens)", counts))
            used["prompt_tokens"] = "prompt (tokens)"
    rows = pl.Series("row", [n for n, _ in kept], dtype=pl.Int64)
    out = read_generic(frame, path, opts.with_mapping(used), rows)
    task = task_from_name(path)
    if out["benchmark"].is_null().any() and opts.benchmark is None and task is not None:
        opts.note(f"{path}: benchmark '{task}' from the file name; pass --benchmark to "
                  "name it otherwise")
        out = out.with_columns(pl.col("benchmark").fill_null(task))
    return out

