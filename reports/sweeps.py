"""Reduce sweep tables (frontier, stress-noise) to one point per policy and setting.

Both sweeps may hold several seeds per setting. The frontier is averaged over seeds;
the noise curve keeps its spread as a 95% confidence band for the mean over seeds
(Student t; zero width with a single seed).
"""

from __future__ import annotations

import polars as pl
from scipy import stats

__all__ = ["frontier_points", "noise_band"]


def frontier_points(frame: pl.DataFrame) -> pl.DataFrame:
    """Mean accuracy, tokens per query and abandonment per policy and mean budget.

    When the table mixes several streams, the policy label becomes 'policy / stream'
    so every curve is one policy on one stream.

    Returns:
        columns policy, mean_budget (tokens/query), accuracy, tokens_per_query,
        abandonment_rate, seeds; sorted by policy order of appearance, then budget.
    """
    policy = pl.col("policy")
    if "stream" in frame.columns and frame["stream"].n_unique() > 1:
        policy = pl.concat_str(pl.col("policy"), pl.lit(" / "), pl.col("stream"))
    return (frame.group_by(policy.alias("policy"), "mean_budget", maintain_order=True)
            .agg(pl.col("accuracy").mean(), pl.col("tokens_per_query").mean(),
                 pl.col("abandonment_rate").mean(), pl.len().alias("seeds"))
            .sort("policy", "mean_budget", maintain_order=True))


def noise_band(frame: pl.DataFrame) -> pl.DataFrame:
    """Mean accuracy over seeds with a 95% band, per policy, budget and noise sigma.

    Returns:
        columns policy, budget, sigma, accuracy (mean), lo, hi (band edges, clipped to
        [0, 1]), seeds.
    """
    agg = (frame.group_by("policy", "budget", "sigma", maintain_order=True)
           .agg(pl.col("accuracy").mean(), pl.col("accuracy").std().alias("sd"),
                pl.len().alias("seeds"))
           .sort("policy", "budget", "sigma", maintain_order=True))
    tcrit = [float(stats.t.ppf(0.975, n - 1)) if n > 1 else 0.0 for n in agg["seeds"]]
    half = (pl.Series("t", tcrit) * agg["sd"].fill_null(0.0) / agg["seeds"].cast(
        pl.Float64).sqrt())
    return agg.with_columns(
        (pl.col("accuracy") - half).clip(0.0, 1.0).alias("lo"),
        (pl.col("accuracy") + half).clip(0.0, 1.0).alias("hi"),
    ).drop("sd")
