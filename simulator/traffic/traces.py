"""Arrival traces read from files: times (s) and, when the file has them, prompt lengths.

Formats (``arrivals.format``):

* ``timestamps``: a text file with one time (s) per line (``#`` comments), or a CSV or
  Parquet file with a ``time`` column (s) and optionally ``prompt_tokens``;
* ``azure``: AzurePublicDataset LLM inference CSV: ``TIMESTAMP`` (wall clock,
  ``2023-11-16 18:17:03.9799600``), ``ContextTokens`` (prompt tokens),
  ``GeneratedTokens`` (ignored: reasoning lengths come from the pool). Times are
  seconds since the earliest row;
* ``mooncake``: Mooncake JSONL, one request a line: ``timestamp`` (ms from the start),
  ``input_length`` (prompt tokens), ``output_length`` (ignored), ``hash_ids`` (ignored).

Then the window: rows at trace time >= ``start`` (s), at most ``limit`` of them,
replayed at ``(t - start) * time_scale`` (``time_scale`` 0.5 replays twice as fast).
The scenario's ``duration`` cuts the replayed times as for any arrival process.

Bad input: a time that is negative, not a number or not finite, a prompt length that
is not a whole number >= 0, a missing column, or no row in the window is refused in
one line naming the file, the field and the row. Rows out of time order are sorted
(stably, prompt lengths move with their rows) and a note says how many were out of order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from simulator.errors import UserError

__all__ = ["FORMATS", "Trace", "load_trace"]

FORMATS = ("timestamps", "azure", "mooncake")


@dataclass(frozen=True)
class Trace:
    """Replay times (s, ascending) and prompt lengths (tokens, or None) of a window."""

    times: np.ndarray
    prompts: np.ndarray | None
    path: str
    notes: list[str] = field(default_factory=list)


Parsed = tuple[np.ndarray, np.ndarray | None, str, np.ndarray, list[object]]
"""(times s, prompt tokens or None, row label, row numbers, raw time values shown in errors)"""


def _where(path: Path) -> str:
    return f"arrivals.path: {path}"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _read_timestamps(p: Path) -> Parsed:
    if p.suffix in (".parquet", ".csv"):
        frame = pl.read_parquet(p) if p.suffix == ".parquet" else pl.read_csv(p)
        if "time" not in frame.columns:
            raise UserError(f"{_where(p)}: needs a 'time' column, has "
                            f"{_columns(frame.columns)}"
                            + (_looks_like(p) if p.suffix == ".csv" else ""))
        col = frame["time"]
        prompts = frame["prompt_tokens"].cast(pl.Float64, strict=False).to_numpy() \
            if "prompt_tokens" in frame.columns else None
        return (col.cast(pl.Float64, strict=False).to_numpy(), prompts, "column 'time', row",
                np.arange(1, frame.height + 1), col.to_list())
    numbered = [(i, s.strip()) for i, s in enumerate(p.read_text().splitlines(), 1)]
    kept = [(i, s) for i, s in numbered if s and not s.startswith("#")]
    times = np.array([_number(s) for _, s in kept], dtype=np.float64)
    return (times, None, "line", np.array([i for i, _ in kept], dtype=np.int64),
            [s for _, s in kept])


def _sniff(p: Path) -> str | None:
    """The trace format the file's first line suggests (None if none): ``mooncake``
    (a JSON object) or ``azure`` (its CSV header)."""
    with p.open(encoding="utf-8", errors="replace") as fh:
        head = fh.readline(4096).strip()  # (bounded: a binary file may have no newline)
    if head.startswith("{"):
        return "mooncake"
    if "TIMESTAMP" in head and "ContextTokens" in head:
        return "azure"
    return None


def _looks_like(p: Path) -> str:
    """A hint naming the format the file looks like, for a message ('' if none)."""
    fmt = _sniff(p)
    return "" if fmt is None else f"; it looks like {_LIKE[fmt]}: set arrivals.format: {fmt}"


def _columns(cols: list[str]) -> str:
    """A column list for a message, at most six names."""
    return str(cols) if len(cols) <= 6 else f"{cols[:6]} and {len(cols) - 6} more"


def _read_azure(p: Path) -> Parsed:
    if _sniff(p) == "mooncake":
        raise UserError(f"{_where(p)}: not an Azure LLM trace CSV{_looks_like(p)}")
    frame = pl.read_csv(p, infer_schema_length=0)
    for need in ("TIMESTAMP", "ContextTokens"):
        if need not in frame.columns:
            raise UserError(f"{_where(p)}: needs a '{need}' column (Azure LLM trace CSV: "
                            f"TIMESTAMP, ContextTokens, GeneratedTokens), has "
                            f"{_columns(frame.columns)}")
    raw = frame["TIMESTAMP"]
    stamp = raw.str.strip_chars().str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False,
                                                   time_unit="ns")
    ns = stamp.cast(pl.Int64)
    origin = ns.min()  # exact integer offsets first: epoch ns do not fit a float64
    offset = (ns - (origin if origin is not None else 0)).cast(pl.Float64) / 1e9
    times = offset.fill_null(float("nan")).to_numpy()
    prompts = frame["ContextTokens"].cast(pl.Float64, strict=False).to_numpy()
    return times, prompts, "column 'TIMESTAMP', row", np.arange(1, frame.height + 1), \
        raw.to_list()


def _read_mooncake(p: Path) -> Parsed:
    times: list[float] = []
    prompts: list[float] = []
    lines: list[int] = []
    shown: list[object] = []
    with p.open(encoding="utf-8") as fh:
        for i, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise UserError(f"{_where(p)}: line {i}: invalid JSON ({exc.msg}); Mooncake "
                                "traces have one JSON object a line"
                                + (_looks_like(p) if i == 1 else "")) from None
            if not isinstance(rec, dict) or "timestamp" not in rec:
                raise UserError(f"{_where(p)}: line {i}, field 'timestamp': missing; Mooncake "
                                "lines need timestamp (ms) and input_length")
            t, n = rec["timestamp"], rec.get("input_length")
            ok = isinstance(t, int | float) and not isinstance(t, bool)
            times.append(float(t) / 1000.0 if ok else float("nan"))
            prompts.append(float(n) if isinstance(n, int | float) and not isinstance(n, bool)
                           else float("nan"))
            lines.append(i)
            shown.append(t)
    return np.array(times), np.array(prompts), "line", np.array(lines, dtype=np.int64), shown


_PROMPT_FIELD = {"timestamps": "prompt_tokens", "azure": "ContextTokens",
                 "mooncake": "input_length"}
_WHAT = {"timestamps": "list of timestamps", "azure": "Azure LLM trace CSV",
         "mooncake": "Mooncake JSONL trace"}
_LIKE = {"azure": "an Azure LLM trace CSV", "mooncake": "a Mooncake JSONL trace"}
_READERS = {"timestamps": _read_timestamps, "azure": _read_azure, "mooncake": _read_mooncake}


def load_trace(path: str, fmt: str = "timestamps", *, start: float = 0.0,
               time_scale: float = 1.0, limit: int | None = None) -> Trace:
    """The replay window of the trace at ``path`` (see the module docstring).

    Raises:
        UserError: one line naming ``arrivals.path``, the file, the field and the row.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{_where(p)}: trace file not found")
    try:
        times, prompts, label, rows, shown = _READERS[fmt](p)
    except (OSError, UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
        raise UserError(f"{_where(p)}: not a readable {_WHAT[fmt]} "
                        f"({type(exc).__name__})") from None
    unit = "(ms)" if fmt == "mooncake" else "(seconds)"
    bad = ~(np.isfinite(times) & (times >= 0))
    if bad.any():
        k = int(np.argmax(bad))
        raise UserError(f"{_where(p)}: {label} {rows[k]}: {shown[k]!r} is not a timestamp "
                        f">= 0 {unit}")
    if times.size == 0:
        raise UserError(f"{_where(p)}: no timestamps; it needs at least one (seconds)")
    if prompts is not None:
        badp = ~(np.isfinite(prompts) & (prompts >= 0) & (prompts == np.round(prompts)))
        if badp.any():
            k = int(np.argmax(badp))
            name = _PROMPT_FIELD[fmt]
            where = f"line {rows[k]}, field '{name}'" if label == "line" else \
                f"column '{name}', row {rows[k]}"
            raise UserError(f"{_where(p)}: {where}: prompt length {prompts[k]!r} is not a "
                            "whole number of tokens >= 0")
    notes: list[str] = []
    unsorted = int(np.count_nonzero(np.diff(times) < 0))
    if unsorted:
        order = np.argsort(times, kind="stable")
        times = times[order]
        prompts = None if prompts is None else prompts[order]
        notes.append(f"{p}: {unsorted} rows were out of time order; replayed sorted")
    lo = int(np.searchsorted(times, start, side="left"))
    hi = times.size if limit is None else min(times.size, lo + limit)
    if hi <= lo:
        raise UserError(f"{_where(p)}: no rows in the window (arrivals.start = {start:g} s; "
                        f"the trace spans {times[0]:g} to {times[-1]:g} s)")
    out = (times[lo:hi] - start) * time_scale
    return Trace(out, None if prompts is None else prompts[lo:hi], str(p), notes)
