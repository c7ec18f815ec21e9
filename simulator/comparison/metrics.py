"""The metrics a comparison reports: one declarative list, shown when a run has them.

Each :class:`Metric` names a key of a run's ``summary.json`` (or one computed here from
the run's queries, :func:`query_metrics`). A metric is reported only when at least one
run has a number for it, so metrics that a newer engine adds (TTFT, TPOT, timed out)
appear in the table and files as soon as summaries carry them, and never as empty
columns before.

Two latency families are kept apart, and labelled so:

- ``time_to_outcome_*``: from arrival to the query's outcome, over ALL arrivals (a
  refused query's outcome comes at its allocator tick);
- ``latency_*``: from arrival to the last token, over ANSWERED (correct or wrong)
  queries only. A policy that refuses many queries can have a low time to outcome and
  a high latency of answered queries at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

__all__ = ["METRICS", "Metric", "metric", "present_metrics", "query_metrics"]

Better = Literal["higher", "lower"] | None


@dataclass(frozen=True)
class Metric:
    """One reported figure.

    Attributes:
        key: its key in the run summary (or :func:`query_metrics`).
        label: the column header, with its unit and population.
        unit: ``share`` (of arrivals), ``s``, ``tokens``, ``per_s``, ``ratio``.
        better: which way is better, or None.
        fmt: Python format spec for the report's table.
    """

    key: str
    label: str
    unit: str
    better: Better
    fmt: str


METRICS: tuple[Metric, ...] = (
    Metric("accuracy", "Accuracy (correct / arrivals)", "share", "higher", ".3f"),
    Metric("abandonment_rate", "Abandoned (share of arrivals)", "share", "lower", ".1%"),
    Metric("expiry_rate", "Expired in queue (share of arrivals)", "share", "lower", ".1%"),
    Metric("timed_out_rate", "Timed out (share of arrivals)", "share", "lower", ".1%"),
    Metric("tokens_per_query", "Tokens / query (generated / arrivals)", "tokens", None,
           ",.0f"),
    Metric("time_to_outcome_p50", "Time to outcome p50, all arrivals (s)", "s", "lower",
           ".2f"),
    Metric("time_to_outcome_p95", "Time to outcome p95, all arrivals (s)", "s", "lower",
           ".2f"),
    Metric("latency_p50", "Latency p50, answered queries (s)", "s", "lower", ".2f"),
    Metric("latency_p95", "Latency p95, answered queries (s)", "s", "lower", ".2f"),
    Metric("ttft_p50", "TTFT p50, answered queries (s)", "s", "lower", ".3f"),
    Metric("ttft_p95", "TTFT p95, answered queries (s)", "s", "lower", ".3f"),
    Metric("tpot_p50", "TPOT p50 (s / token)", "s", "lower", ".4f"),
    Metric("tpot_p95", "TPOT p95 (s / token)", "s", "lower", ".4f"),
    Metric("correct_within_slo_per_s", "Correct within SLO (per s)", "per_s", "higher",
           ".3f"),
    Metric("correct_within_slo_share", "Correct within SLO (share of arrivals)", "share",
           "higher", ".3f"),
    Metric("goodput_per_1k_tokens", "Correct per 1k tokens", "ratio", "higher", ".3f"),
)

_BY_KEY = {m.key: m for m in METRICS}


def metric(key: str) -> Metric:
    """The :class:`Metric` with ``key`` (KeyError when unknown)."""
    return _BY_KEY[key]


def query_metrics(queries: pl.DataFrame | pl.LazyFrame, slo: float | None) -> dict[str, Any]:
    """The figures a summary may lack, from the query rows.

    ``time_to_outcome_p50/p95``: quantiles (linear) of ``latency`` over every arrival
    (s); ``correct_within_slo_share``: correct answers with latency <= ``slo`` over
    arrivals (only with an SLO); ``last_arrival``: the time of the last arrival (s; the
    span the arrival rate of a trace is measured over, without the drain after it).
    None where undefined (no arrival).
    """
    exprs = [pl.col("latency").quantile(0.5, "linear").alias("time_to_outcome_p50"),
             pl.col("latency").quantile(0.95, "linear").alias("time_to_outcome_p95"),
             pl.col("arrival_time").max().alias("last_arrival")]
    if slo is not None:
        ok = (pl.col("outcome") == "correct") & (pl.col("latency") <= slo)
        exprs.append(ok.mean().alias("correct_within_slo_share"))
    row = queries.lazy().select(exprs).collect().row(0, named=True)
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def present_metrics(summaries: list[Mapping[str, Any]]) -> list[Metric]:
    """The :data:`METRICS` for which some summary holds a number, in list order."""
    return [m for m in METRICS if any(_number(s.get(m.key)) is not None for s in summaries)]
