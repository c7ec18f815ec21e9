"""The per-policy summary table: the figures of each run's ``summary.json``.

The simulator's ``summary.json`` is the authority. A figure it lacks is computed from
the run's queries with the same definitions (model.md section 7): accuracy = correct /
arrivals, tokens per query = generated tokens / arrivals, latency quantiles over
completed queries, goodput = correct answers per 1,000 generated tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from reports.aggregate import COMPLETED

__all__ = ["COLUMNS", "Column", "from_queries", "summary_frame"]


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
    Column("latency_p50", "Latency p50 (s)", "{:.2f}"),
    Column("latency_p95", "Latency p95 (s)", "{:.2f}"),
    Column("latency_p99", "Latency p99 (s)", "{:.2f}"),
    Column("goodput_per_1k_tokens", "Goodput (correct / 1k tokens)", "{:.3f}"),
)


def from_queries(queries: pl.DataFrame) -> dict[str, float]:
    """The summary figures of one run computed from its query rows."""
    n = queries.height
    correct = int((queries["outcome"] == "correct").sum())
    tokens = float(queries["tokens_generated"].cast(pl.Float64).sum())
    lat = queries.filter(pl.col("outcome").is_in(COMPLETED))["latency"].drop_nulls()
    q = (np.quantile(lat.to_numpy(), [0.5, 0.95, 0.99]) if lat.len()
         else np.full(3, np.nan))
    return {
        "arrivals": float(n),
        "accuracy": correct / n if n else float("nan"),
        "tokens_per_query": tokens / n if n else float("nan"),
        "abandonment_rate": float((queries["outcome"] == "abandoned").sum()) / n
        if n else float("nan"),
        "latency_p50": float(q[0]),
        "latency_p95": float(q[1]),
        "latency_p99": float(q[2]),
        "goodput_per_1k_tokens": correct / tokens * 1000.0 if tokens else float("nan"),
    }


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
