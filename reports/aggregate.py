"""Reduce run files to the small frames the charts draw; raw rows never reach a chart.

Every function is pure: polars frames in (with a ``policy`` column naming the run),
polars frames out. Sizes are bounded whatever the run length: time series have at most
``max_windows`` windows, the latency CDF a fixed number of quantiles, the allocation
scatter a fixed-size sample. Times are in seconds, tokens in tokens.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from simulator.traffic.streams import TIER_NAMES

__all__ = ["COMPLETED", "allocation_sample", "breakdown", "latency_quantiles",
           "nice_width", "window_count", "windowed_gpu", "windowed_kv", "windowed_lambda",
           "windowed_outcomes"]

COMPLETED = ("correct", "wrong")
MAX_WINDOWS = 200
MIN_WINDOWS = 10
ARRIVALS_PER_WINDOW = 50


def window_count(arrivals_per_run: int) -> int:
    """How many time windows to use: ~50 arrivals each, between 10 and 200.

    Fewer arrivals per window make the windowed rates mostly noise.
    """
    return int(min(MAX_WINDOWS, max(MIN_WINDOWS, arrivals_per_run // ARRIVALS_PER_WINDOW)))


def nice_width(span: float, max_windows: int = MAX_WINDOWS) -> float:
    """The smallest window width of the form {1, 2, 5} x 10^k giving <= max_windows windows.

    Args:
        span: the time covered (s); <= 0 gives width 1.
        max_windows: upper bound on ceil(span / width).
    """
    if not span > 0:
        return 1.0
    raw = span / max_windows
    exp = math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 5.0, 10.0):
        width = mult * 10.0 ** exp
        if math.ceil(span / width) <= max_windows:
            return width
    return 10.0 ** (exp + 1)  # pragma: no cover  (10 x 10^exp always fits)


def _window(col: str, width: float) -> pl.Expr:
    """The centre (s) of the window of width ``width`` containing ``col``."""
    return ((pl.col(col) / width).floor() * width + width / 2).alias("t")


def windowed_outcomes(queries: pl.DataFrame, width: float) -> pl.DataFrame:
    """Per policy and arrival window: arrivals, accuracy, abandonment and latency.

    Accuracy and abandonment are fractions of the window's arrivals; latency p50/p95
    (s) is over the window's completed (correct or wrong) queries, null when none.

    Returns:
        columns policy, t (window centre, s), arrivals, accuracy, abandonment_rate,
        latency_p50, latency_p95; sorted by policy order of appearance, then t.
    """
    done = pl.col("outcome").is_in(COMPLETED)
    return (queries.group_by("policy", _window("arrival_time", width), maintain_order=True)
            .agg(pl.len().alias("arrivals"),
                 (pl.col("outcome") == "correct").mean().alias("accuracy"),
                 (pl.col("outcome") == "abandoned").mean().alias("abandonment_rate"),
                 pl.col("latency").filter(done).quantile(0.5).alias("latency_p50"),
                 pl.col("latency").filter(done).quantile(0.95).alias("latency_p95"))
            .sort("policy", "t", maintain_order=True))


def windowed_lambda(ticks: pl.DataFrame, width: float) -> pl.DataFrame:
    """Mean lambda* per policy and window; ticks without a shadow price are dropped.

    Returns:
        columns policy, t (s), lambda (accuracy per token); empty when no policy has one.
    """
    return (ticks.filter(pl.col("lambda").is_not_null() & pl.col("lambda").is_finite())
            .group_by("policy", _window("time", width), maintain_order=True)
            .agg(pl.col("lambda").mean())
            .sort("policy", "t", maintain_order=True))


def windowed_gpu(gpu: pl.DataFrame, width: float) -> pl.DataFrame:
    """Time-weighted mean GPU busy fraction per policy and window.

    Each ``gpu.parquet`` window counts in the report window holding its midpoint: the
    simulator's windows (``output.gpu_window``, 10 s by default) may be wider than
    ``width``, and their start would plot a 10 s mean half a window early.

    Returns:
        columns policy, t (s), busy_fraction in [0, 1].
    """
    dur = (pl.col("window_end") - pl.col("window_start")).clip(lower_bound=0.0)
    mid = ((pl.col("window_start") + pl.col("window_end")) / 2).alias("mid")
    return (gpu.with_columns(dur.alias("dur"), mid)
            .group_by("policy", _window("mid", width), maintain_order=True)
            .agg(((pl.col("busy_fraction") * pl.col("dur")).sum()
                  / pl.col("dur").sum()).alias("busy_fraction"))
            .filter(pl.col("busy_fraction").is_finite())
            .sort("policy", "t", maintain_order=True))


def windowed_kv(kv: pl.DataFrame, width: float) -> pl.DataFrame:
    """Time-weighted mean KV utilisation per policy, replica and window (``kv.parquet``
    windows counted at their midpoint, as in :func:`windowed_gpu`).

    Returns:
        columns policy, replica, t (s), kv_utilisation (fraction of the KV pool held).
    """
    dur = (pl.col("window_end") - pl.col("window_start")).clip(lower_bound=0.0)
    mid = ((pl.col("window_start") + pl.col("window_end")) / 2).alias("mid")
    return (kv.with_columns(dur.alias("dur"), mid)
            .group_by("policy", "replica", _window("mid", width), maintain_order=True)
            .agg(((pl.col("kv_utilisation") * pl.col("dur")).sum()
                  / pl.col("dur").sum()).alias("kv_utilisation"))
            .filter(pl.col("kv_utilisation").is_finite())
            .sort("policy", "replica", "t", maintain_order=True))


def latency_quantiles(queries: pl.DataFrame, n: int = 101) -> pl.DataFrame:
    """The empirical latency CDF of completed queries, as ``n`` quantiles per policy.

    Returns:
        columns policy, latency (s), fraction (of the policy's completed queries with
        latency <= that value); policies with no completed query are left out.
    """
    probs = np.linspace(0.0, 1.0, n)
    parts = []
    for (policy,), sub in queries.filter(pl.col("outcome").is_in(COMPLETED)).group_by(
            "policy", maintain_order=True):
        lat = sub["latency"].drop_nulls().to_numpy()
        if lat.size == 0:
            continue
        parts.append(pl.DataFrame({"policy": [policy] * n,
                                   "latency": np.quantile(lat, probs),
                                   "fraction": probs}))
    if not parts:
        return pl.DataFrame(schema={"policy": pl.String, "latency": pl.Float64,
                                    "fraction": pl.Float64})
    return pl.concat(parts)


def allocation_sample(queries: pl.DataFrame, max_points: int = 4800,
                      seed: int = 0) -> pl.DataFrame:
    """A uniform sample of (predicted threshold, cap, outcome) rows, per policy.

    Each policy keeps at most ``max_points // n_policies`` rows, so the scatter stays
    small (and under altair's 5,000-row limit per dataset); rows with a non-finite predicted threshold are dropped. The
    sample is deterministic for a given ``seed``.

    Returns:
        columns policy, predicted_threshold, cap (tokens), outcome.
    """
    frame = queries.select("policy", "predicted_threshold", "cap", "outcome").filter(
        pl.col("predicted_threshold").is_finite() & pl.col("cap").is_not_null())
    policies = frame["policy"].unique(maintain_order=True).to_list()
    per = max(1, max_points // max(1, len(policies)))
    parts = []
    for policy in policies:
        sub = frame.filter(pl.col("policy") == policy)
        parts.append(sub.sample(per, seed=seed) if sub.height > per else sub)
    if not parts:
        return frame
    return pl.concat(parts).with_columns(pl.col("predicted_threshold").round(1),
                                         pl.col("cap").cast(pl.Float64).round(1))


def tier_label(tier: pl.Expr) -> pl.Expr:
    """'0 easy', '1 medium', ... for tier numbers 0..3 (others as the number)."""
    names = {i: f"{i} {n}" for i, n in enumerate(TIER_NAMES)}
    return tier.replace_strict(names, default=tier.cast(pl.String), return_dtype=pl.String)


def breakdown(queries: pl.DataFrame, by: str) -> pl.DataFrame:
    """Accuracy, abandonment and tokens per query per policy and ``by`` group.

    Args:
        queries: rows with policy, outcome, tokens_generated and the ``by`` column.
        by: ``"tier"`` (labelled '0 easy' ... '3 very-hard') or ``"benchmark"``.

    Returns:
        columns policy, group, arrivals, accuracy, abandonment_rate, tokens_per_query.
    """
    group = tier_label(pl.col(by)) if by == "tier" else pl.col(by).cast(pl.String)
    return (queries.group_by("policy", group.alias("group"), maintain_order=True)
            .agg(pl.len().alias("arrivals"),
                 (pl.col("outcome") == "correct").mean().alias("accuracy"),
                 (pl.col("outcome") == "abandoned").mean().alias("abandonment_rate"),
                 pl.col("tokens_generated").cast(pl.Float64).mean().alias("tokens_per_query"))
            .sort("group", maintain_order=True))
