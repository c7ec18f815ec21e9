"""Naming the fields of a rollout file: aliases, ``--map dst=src`` and nested keys.

Every reader fills the same canonical fields (:data:`FIELDS`). A field is found by the
user's ``--map`` first (``length=usage.completion_tokens``: a dot walks into nested
objects, a number picks a list item), then by the reader's default paths. Tables
(CSV, Parquet, JSONL read by polars) resolve dotted names through struct and list
columns; JSON records (lm-eval, OpenAI, THIP) through dicts and lists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from simulator.pools.pool import PoolError
from simulator.pools.tokens import TokenCounter

__all__ = ["ALIASES", "FIELDS", "ReadOptions", "dig", "frame_field", "has_path", "parse_map",
           "read_jsonl", "records_frame"]

#: Canonical fields a reader fills; ``response`` is the text counted by ``--tokenizer``
#: and ``finish_reason`` marks a rollout cut at the cap (``length``).
FIELDS = ("id", "benchmark", "length", "correct", "text", "level", "prompt_tokens",
          "max_tokens", "response", "finish_reason")

#: Column names accepted for each field in generic tables, first match wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "problem_id", "query_id", "question_id", "idx"),
    "benchmark": ("benchmark", "dataset", "task"),
    "length": ("length", "response_tokens", "response_length", "completion_tokens",
               "output_tokens", "tokens"),
    "correct": ("correct", "is_correct"),
    "text": ("text", "problem", "question"),
    "level": ("level",),
    "prompt_tokens": ("prompt_tokens", "prompt_length"),
    "max_tokens": ("max_tokens",),
    "response": ("response", "output", "completion", "generation"),
    "finish_reason": ("finish_reason",),
}


def parse_map(text: str | Sequence[str] | None) -> dict[str, str]:
    """``"length=usage.completion_tokens,id=qid"`` (or a list of such) as a dict.

    Raises:
        PoolError: an item without ``=``, an unknown destination field or a repeat.
    """
    if not text:
        return {}
    items = [text] if isinstance(text, str) else list(text)
    out: dict[str, str] = {}
    for part in (p.strip() for item in items for p in item.split(",")):
        if not part:
            continue
        dst, sep, src = part.partition("=")
        dst, src = dst.strip(), src.strip()
        if not sep or not dst or not src:
            raise PoolError(f"--map: {part!r} is not dst=src; e.g. "
                            "--map length=usage.completion_tokens,id=question_id")
        if dst not in FIELDS:
            raise PoolError(f"--map: unknown field {dst!r}; valid: {', '.join(FIELDS)}")
        if dst in out:
            raise PoolError(f"--map: field {dst!r} is mapped twice")
        out[dst] = src
    return out


_MISSING = object()


def dig(record: Any, path: str) -> Any:
    """``record`` walked along dotted ``path`` (a number indexes a list); None if absent."""
    cur = record
    for key in path.split("."):
        if isinstance(cur, Mapping):
            cur = cur.get(key, _MISSING)
        elif isinstance(cur, list) and key.lstrip("-").isdigit():
            i = int(key)
            cur = cur[i] if -len(cur) <= i < len(cur) else _MISSING
        else:
            return None
        if cur is _MISSING:
            return None
    return cur


def has_path(record: Any, path: str) -> bool:
    """True when ``path`` exists in ``record`` (even with a null value)."""
    head, _, last = path.rpartition(".")
    parent = dig(record, head) if head else record
    if isinstance(parent, Mapping):
        return last in parent
    return isinstance(parent, list) and last.lstrip("-").isdigit() and \
        -len(parent) <= int(last) < len(parent)


def _frame_path(frame: pl.DataFrame, path: str) -> pl.Series | None:
    if path in frame.columns:
        return frame[path]
    head, *rest = path.split(".")
    if head not in frame.columns:
        return None
    series = frame[head]
    for key in rest:
        dtype = series.dtype
        if isinstance(dtype, pl.Struct) and key in [f.name for f in dtype.fields]:
            series = series.struct.field(key)
        elif isinstance(dtype, pl.List | pl.Array) and key.lstrip("-").isdigit():
            series = series.list.get(int(key), null_on_oob=True)
        else:
            return None
    return series


def frame_field(frame: pl.DataFrame, name: str, mapping: Mapping[str, str],
                path: Path) -> tuple[str | None, pl.Series | None]:
    """The column for canonical field ``name``: ``--map`` first, then :data:`ALIASES`.

    Returns:
        ``(source column name, series)``, or ``(None, None)`` when absent.

    Raises:
        PoolError: ``--map`` names a column that ``frame`` does not have.
    """
    if name in mapping:
        src = mapping[name]
        series = _frame_path(frame, src)
        if series is None:
            raise PoolError(f"{path}: --map {name}={src}: no column or nested field "
                            f"{src!r}; columns: {', '.join(frame.columns)}")
        return src, series
    for alias in ALIASES[name]:
        if alias in frame.columns:
            return alias, frame[alias]
    return None, None


@dataclass
class ReadOptions:
    """What the user said about the files (CLI flags), shared by every reader.

    Attributes:
        mapping: ``--map`` as field -> source name (dots for nesting).
        benchmark: ``--benchmark``: for rows whose file names none.
        max_tokens: ``--max-tokens``: the cap; below the longest rollout it re-caps.
        tokenizer: ``--tokenizer``: counts response text when no length field exists.
        metric: ``--metric`` (lm-eval): the 0/1 metric that grades a response.
        notes: what the import chose on its own, for stderr.
    """

    mapping: dict[str, str] = field(default_factory=dict)
    benchmark: str | None = None
    max_tokens: int | None = None
    tokenizer: TokenCounter | None = None
    metric: str | None = None
    notes: list[str] = field(default_factory=list)

    def with_mapping(self, used: dict[str, str]) -> ReadOptions:
        """These options with ``mapping`` replaced by ``used`` (field -> column)."""
        return ReadOptions(mapping=used, benchmark=self.benchmark, max_tokens=self.max_tokens,
                           tokenizer=self.tokenizer, metric=self.metric, notes=self.notes)

    def note(self, text: str) -> None:
        """Record ``text`` once."""
        if text not in self.notes:
            self.notes.append(text)


def read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """``(line number, parsed object)`` of every non-empty line of ``path``.

    Raises:
        PoolError: a line that is not JSON, naming file and line.
    """
    out: list[tuple[int, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                out.append((line_no, json.loads(raw)))
            except json.JSONDecodeError as exc:
                raise PoolError(f"{path}: line {line_no}: invalid JSON ({exc.msg}); "
                                "each line must be one JSON object") from None
    if not out:
        raise PoolError(f"{path}: no lines; a pool needs at least one rollout")
    return out


def records_frame(records: Sequence[Any], defaults: Mapping[str, Sequence[str]],
                  mapping: Mapping[str, str], path: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """A table of the fields of JSON ``records``, one column per source path.

    Each field takes the ``--map`` path, else the first of its ``defaults`` that any
    record has. Returns the frame and field -> column name (to pass as a mapping).

    Raises:
        PoolError: a ``--map`` path that no record has.
    """
    cols: dict[str, pl.Series] = {}
    used: dict[str, str] = {}
    for name in FIELDS:
        if name in mapping:
            src = mapping[name]
            if not any(has_path(r, src) for r in records):
                keys = sorted(records[0]) if isinstance(records[0], Mapping) else []
                raise PoolError(f"{path}: --map {name}={src}: no line has field {src!r}; "
                                f"top-level fields: {', '.join(keys)}")
        else:
            src = next((p for p in defaults.get(name, ()) if any(has_path(r, p)
                                                                   for r in records)), "")
            if not src:
                continue
        values = [dig(r, src) for r in records]
        if name == "id":
            values = [None if v is None else str(v) for v in values]
        elif any(isinstance(v, dict | list) for v in values):
            values = [None if v is None else json.dumps(v) for v in values]
        cols[src] = pl.Series(src, values, strict=False)
        used[name] = src
    return pl.DataFrame(list(cols.values())), used
