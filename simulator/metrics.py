"""Run metrics from the ``queries`` table alone (model.md section 7).

Reports and the CLI call these on frames or on ``pl.scan_parquet`` of a run folder;
they never touch a running simulation.

Definitions (per run or per window of arrival time):

* accuracy = correct / arrivals; abandonment_rate = abandoned / arrivals (likewise
  expiry_rate, timed_out_rate: clients whose patience ran out);
* tokens_per_query = generated tokens / arrivals;
* latency percentiles and mean over *completed* queries (correct or wrong), from
  arrival to the last token, so they include the wait for the allocator tick;
* time_to_outcome_p50/p95 over *all* arrivals, from arrival to their outcome
  (answer, abandonment, expiry or time-out);
* goodput_per_1k_tokens = correct answers per 1000 generated tokens;
* with the serving columns (``GpuSpec.extended``): ttft_p50/p95 (s, queries with a first
  token), tpot_p50/p95 (s/token, completed queries with >= 2 tokens) and preemptions
  (total);
* correct_within_slo_per_s = correct answers with latency <= SLO, per simulated second;
* mean_prompt_tokens (runs whose trace gives prompt lengths) = their mean per arrival.

Every figure is deterministic whatever polars' thread count: counts and token sums
are integers, quantiles come from a sort, and the mean latency is an exact sum
(:func:`math.fsum`, correctly rounded, independent of order) divided by the count.
polars' own float ``mean`` sums in thread-dependent chunks and changed in the last bits
with ``POLARS_MAX_THREADS``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import polars as pl

__all__ = ["by_group", "summarize", "windowed"]

Frame = pl.DataFrame | pl.LazyFrame


def _exact_mean(values: Sequence[float] | None) -> float | None:
    """Mean of ``values`` from their exact sum (order-independent); None when empty."""
    return math.fsum(values) / len(values) if values else None


def _aggs(slo: float | None, grouped: bool, serving: bool = False) -> list[pl.Expr]:
    """The metric expressions; ``mean_latency`` is the list of latencies (s) to average
    with :func:`_exact_mean` (per group when ``grouped``, else one imploded list)."""
    done = pl.col("outcome").is_in(["correct", "wrong"])
    lat = pl.col("latency").filter(done)
    correct = (pl.col("outcome") == "correct").sum()
    tokens = pl.col("tokens_generated").sum()
    n = pl.len()
    out = [
        n.alias("arrivals"),
        correct.alias("correct"),
        (correct / n).alias("accuracy"),
        ((pl.col("outcome") == "abandoned").sum() / n).alias("abandonment_rate"),
        ((pl.col("outcome") == "expired").sum() / n).alias("expiry_rate"),
        ((pl.col("outcome") == "timed_out").sum() / n).alias("timed_out_rate"),
        (tokens / n).alias("tokens_per_query"),
        lat.quantile(0.5, "linear").alias("latency_p50"),
        lat.quantile(0.95, "linear").alias("latency_p95"),
        lat.quantile(0.99, "linear").alias("latency_p99"),
        (lat if grouped else lat.implode()).alias("mean_latency"),
        pl.when(tokens > 0).then(1000.0 * correct / tokens).otherwise(0.0)
        .alias("goodput_per_1k_tokens"),
        pl.col("latency").quantile(0.5, "linear").alias("time_to_outcome_p50"),
        pl.col("latency").quantile(0.95, "linear").alias("time_to_outcome_p95"),
    ]
    if serving:
        ttft = pl.col("ttft").filter(pl.col("ttft").is_not_nan())
        tpot = pl.col("tpot").filter(pl.col("tpot").is_not_nan())
        out += [ttft.quantile(0.5, "linear").alias("ttft_p50"),
                ttft.quantile(0.95, "linear").alias("ttft_p95"),
                tpot.quantile(0.5, "linear").alias("tpot_p50"),
                tpot.quantile(0.95, "linear").alias("tpot_p95"),
                pl.col("preemptions").sum().alias("preemptions")]
    if slo is not None:
        ok = ((pl.col("outcome") == "correct") & (pl.col("latency") <= slo)).sum()
        out.append(ok.alias("_correct_within_slo"))
    return out


def summarize(queries: Frame, sim_seconds: float, slo: float | None = None) -> dict[str, Any]:
    """Whole-run metrics (see module docstring); latencies in s, NaN-free JSON values.

    Args:
        queries: the ``queries`` table (frame or lazy scan).
        sim_seconds: simulated time span of the run (s).
        slo: latency SLO (s) for ``correct_within_slo_per_s``, or None.
    """
    lazy = queries.lazy()
    names = lazy.collect_schema().names()
    aggs = _aggs(slo, grouped=False, serving="ttft" in names)
    prompts = "prompt_tokens" in names
    if prompts:  # trace runs: prompt lengths from the trace (whole tokens: exact sum)
        aggs.append(pl.col("prompt_tokens").sum().alias("mean_prompt_tokens"))
    row = lazy.select(aggs).collect().row(0, named=True)
    row["mean_latency"] = _exact_mean(row["mean_latency"])
    if prompts:
        n = row["arrivals"]
        row["mean_prompt_tokens"] = row["mean_prompt_tokens"] / n if n else None
    if slo is not None:
        hits = row.pop("_correct_within_slo")
        row["correct_within_slo_per_s"] = hits / sim_seconds if sim_seconds > 0 else 0.0
    row["sim_seconds"] = sim_seconds
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}


def by_group(queries: Frame, column: str, names: Sequence[str], sim_seconds: float,
             slo: float | None = None) -> dict[str, dict[str, Any]]:
    """:func:`summarize` per value of ``column`` (e.g. ``stream``), in ``names`` order.

    Counts (arrivals, correct, tokens) of the groups add up to the whole run's; a name
    with no query gets ``arrivals`` 0 and null rates.
    """
    lazy = queries.lazy()
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        row = summarize(lazy.filter(pl.col(column) == name), sim_seconds, slo)
        row.pop("sim_seconds")
        out[name] = row
    return out


def windowed(queries: Frame, window_s: float, slo: float | None = None) -> pl.DataFrame:
    """The same metrics per window of *arrival* time (s), one row per non-empty window.

    Columns: window_start, window_end, then the :func:`summarize` keys (without
    sim_seconds). A query counts in the window it arrived in, whenever it ended.
    """
    if not window_s > 0:
        raise ValueError("window_s must be > 0 seconds")
    key = (pl.col("arrival_time") // window_s).cast(pl.Int64).alias("_w")
    out = (queries.lazy().with_columns(key).group_by("_w").agg(_aggs(slo, grouped=True))
           .sort("_w")
           .with_columns((pl.col("_w") * window_s).alias("window_start"),
                         ((pl.col("_w") + 1) * window_s).alias("window_end"))
           .drop("_w").collect())
    means = [_exact_mean(v) for v in out["mean_latency"].to_list()]
    out = out.with_columns(pl.Series("mean_latency", means, dtype=pl.Float64))
    if slo is not None:
        out = out.with_columns((pl.col("_correct_within_slo") / window_s)
                               .alias("correct_within_slo_per_s")).drop("_correct_within_slo")
    first = ["window_start", "window_end"]
    return out.select(first + [c for c in out.columns if c not in first])
