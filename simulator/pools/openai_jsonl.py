"""Reader for OpenAI-style JSONL: chat/completions responses with a grade per line.

One line per response, either the response object itself (``choices``, ``usage``) or a
Batch API output line (``custom_id``, ``response.body`` holding it). Fields:

- id: ``custom_id``, else ``query_id`` / ``question_id``, else ``id`` (a completion's own
  id names one response, so each line would be its own query: map another with
  ``--map id=FIELD`` to group rollouts);
- length: ``usage.completion_tokens`` (reasoning tokens included), else the text of
  ``choices[0].message.content`` (or ``choices[0].text``) counted with ``--tokenizer``;
- ``choices[0].finish_reason == "length"`` marks a response cut at the cap;
- prompt_tokens: ``usage.prompt_tokens``;
- correct: a ``correct`` / ``is_correct`` field on the line (the API grades nothing:
  add it, or ``--map correct=FIELD``); benchmark: ``benchmark`` / ``dataset`` /
  ``metadata.benchmark``; text: ``question`` / ``problem`` / ``metadata.question``.

A line with several choices is refused: ``usage`` counts them together.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from simulator.pools.fields import ReadOptions, dig, read_jsonl, records_frame
from simulator.pools.generic import read_generic
from simulator.pools.pool import PoolError

__all__ = ["is_openai_line", "read_openai"]


def is_openai_line(record: object) -> bool:
    """True for a response object (``choices`` or ``usage``) or a Batch API line."""
    if not isinstance(record, dict):
        return False
    body = dig(record, "response.body")
    return isinstance(record.get("choices"), list) or isinstance(record.get("usage"), dict) \
        or isinstance(body, dict)


def read_openai(path: Path, opts: ReadOptions) -> pl.DataFrame:
    """The file's rollouts (:data:`~simulator.pools.generic.ROLLOUT_SCHEMA`), or raise."""
    lines = read_jsonl(path)
    for n, r in lines:
        if not is_openai_line(r):
            raise PoolError(f"{path}: line {n}, field 'choices': missing (also 'usage', "
                            "'response.body'); not an OpenAI-style line; choose another "
                            "--format")
    batch = isinstance(dig(lines[0][1], "response.body"), dict)
    b = "response.body." if batch else ""
    for n, r in lines:
        choices = dig(r, f"{b}choices")
        if isinstance(choices, list) and len(choices) > 1:
            raise PoolError(f"{path}: line {n}, field '{b}choices': {len(choices)} choices; "
                            "usage counts them together, so write one response (n=1) "
                            "per line")
    defaults: dict[str, tuple[str, ...]] = {
        "id": ("custom_id", "query_id", "question_id", "id"),
        "benchmark": ("benchmark", "dataset", "metadata.benchmark"),
        "length": (f"{b}usage.completion_tokens",),
        "correct": ("correct", "is_correct"),
        "text": ("question", "problem", "metadata.question"),
        "prompt_tokens": (f"{b}usage.prompt_tokens",),
        "response": (f"{b}choices.0.message.content", f"{b}choices.0.text"),
        "finish_reason": (f"{b}choices.0.finish_reason",),
    }
    records = [r for _, r in lines]
    frame, used = records_frame(records, defaults, opts.mapping, path)
    if "correct" not in used:
        raise PoolError(f"{path}: field 'correct': missing; add a 0/1 'correct' field to "
                        "each line, or name the grade with --map correct=FIELD")
    rows = pl.Series("row", [n for n, _ in lines], dtype=pl.Int64)
    return read_generic(frame, path, opts.with_mapping(used), rows)
