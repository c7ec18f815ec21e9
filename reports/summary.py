"""The per-policy summary table: the figures of each run's ``summary.json``.

The simulator's ``summary.json`` is the authority. A figure it lacks is computed from
the run's queries by the simulator's own :func:`simulator.metrics.summarize`
(model.md section 7): accuracy = correct / arrivals, tokens per query = generated
tokens / arrivals, latency quantiles over completed queries (s), goodput = correct
answers per 1,000 generated tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from simulator.metrics import summarize

__all__ = ["COLUMNS", "Column", "from_queries", "stream_frame", "summary_frame"]


@dataclass(frozen=True)
class Column:
    """One summary column: its key in summary.json, header and number format."""

    key: str
    header: str
    fmt: str


COLUMNS = (
    Column("arrivals", "Arrivals", "{:,.0f}"),
    Column("accuracy", "Accuracy", "{:.3f}"),
    Column("tokens_per_query", "Tokens / query", "{:,.0f}"),
    Column("abandonment_rate", "Abandonment", "{:.1%}"),
    Column("expiry_rate", "Expired", "{:.1%}"),
    Column("timed_out_rate", "Timed out", "{:.1%}"),
    Column("latency_p50", "Latency p50, answered (s)", "{:.2f}"),
    Column("latency_p95", "Latency p95, answered (s)", "{:.2f}"),
    Column("latency_p99", "Latency p99, answered (s)", "{:.2f}"),
    Column("goodput_per_1k_tokens", "Correct per 1k tokens", "{:.3f}"),
)


def from_queries(queries: pl.DataFrame) -> dict[str, float]:
    """The :data:`COLUMNS` figures of one run computed from its query rows.

    :func:`simulator.metrics.summarize` computes them, the same code that writes
    ``summary.json``; undefined figures (no arrivals, nothing completed) are NaN.
    """
    figures = summarize(queries, sim_seconds=0.0)
    return {c.key: float("nan") if figures.get(c.key) is None else float(figures[c.key])
            for c in COLUMNS}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def summary_frame(runs: Mapping[str, tuple[Mapping[str, Any], pl.DataFrame]]) -> pl.DataFrame:
    """One row per run label with every :data:`COLUMNS` figure.

    Args:
        runs: label -> (parsed summary.json, the run's query rows).

    Returns:
        columns policy plus each Column.key (Float64, NaN where undefined).
    """
    rows = []
    for label, (summary, queries) in runs.items():
        computed: dict[str, float] | None = None
        row: dict[str, Any] = {"policy": label}
        for col in COLUMNS:
            value = _number(summary.get(col.key))
            if value is None:
                computed = computed or from_queries(queries)
                value = computed[col.key]
            row[col.key] = value
        rows.append(row)
    schema: dict[str, Any] = {"policy": pl.String, **{c.key: pl.Float64 for c in COLUMNS}}
    return pl.DataFrame(rows, schema=schema)


def stream_frame(runs: Mapping[str, Mapping[str, Any]]) -> pl.DataFrame:
    """One row per (run label, stream) from the ``by_stream`` of each ``summary.json``.

    Runs without ``by_stream`` (one stream) give no rows. Columns: policy, stream, then
    each Column.key (Float64, NaN where undefined).
    """
    rows = []
    for label, summary in runs.items():
        for name, figures in (summary.get("by_stream") or {}).items():
            row: dict[str, Any] = {"policy": label, "stream": str(name)}
            for col in COLUMNS:
                value = _number(figures.get(col.key))
                row[col.key] = float("nan") if value is None else value
            rows.append(row)
    schema: dict[str, Any] = {"policy": pl.String, "stream": pl.String,
                              **{c.key: pl.Float64 for c in COLUMNS}}
    return pl.DataFrame(rows, schema=schema)
