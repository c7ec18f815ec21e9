"""Reduce sweep tables (frontier, stress-noise) to one point per policy and setting.

Both sweeps may hold several seeds per setting. The frontier is averaged over seeds;
the noise curve keeps its spread as a 95% confidence band for the mean over seeds
(Student t; zero width with a single seed).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from simulator.experiments.intervals import t_half_width

__all__ = ["frontier_points", "noise_band", "noise_paired", "noise_title"]

PAIR_ON = ("noise_kind", "stream", "sigma", "budget", "seed")  #: a stress table's CRN key

NOISE_TITLES = {
    "lognormal": "Noise σ: SD of ln(predicted / true)",
    "bias": "Bias: ln(predicted / true)",
    "rank-swap": "Fraction of queries rank-swapped",
    "difficulty": "Noise σ: mean SD (more on hard)",
}


def _split_label(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.Expr:
    """``policy``, suffixed with each of ``columns`` that takes several values."""
    parts: list[pl.Expr] = [pl.col("policy")]
    for col in columns:
        if col in frame.columns and frame[col].n_unique() > 1:
            parts += [pl.lit(" / "), pl.col(col).cast(pl.String)]
    return pl.concat_str(parts).alias("policy")


def frontier_points(frame: pl.DataFrame) -> pl.DataFrame:
    """Mean accuracy, tokens per query and abandonment per policy and mean budget.

    When the table mixes several streams, the policy label becomes 'policy / stream'
    so every curve is one policy on one stream.

    Returns:
        columns policy, mean_budget (tokens/query), accuracy, tokens_per_query,
        abandonment_rate, seeds; policies in order of first appearance.
    """
    return (frame.group_by(_split_label(frame, ("stream",)), "mean_budget",
                           maintain_order=True)
            .agg(pl.col("accuracy").mean(), pl.col("tokens_per_query").mean(),
                 pl.col("abandonment_rate").mean(), pl.len().alias("seeds")))


def noise_band(frame: pl.DataFrame) -> pl.DataFrame:
    """Mean accuracy over seeds with a 95% band, per policy, budget and noise sigma.

    When the table mixes noise kinds or streams, the policy label becomes
    'policy / kind / stream' for those that vary.

    Returns:
        columns policy, budget, sigma, accuracy (mean), lo, hi (band edges, clipped to
        [0, 1]), seeds.
    """
    band = _mean_band(frame, "accuracy")
    return band.with_columns(pl.col("lo").clip(0.0, 1.0), pl.col("hi").clip(0.0, 1.0))


def noise_paired(frame: pl.DataFrame, reference: str = "clear") -> pl.DataFrame | None:
    """Per-seed difference of each policy's accuracy to ``reference``, with a 95% band.

    A stress-noise table gives every policy the same query samples and predictor noise
    per (noise kind, stream, sigma, budget, seed), so the paired difference has a far
    narrower interval than the two policies' own bands suggest.

    Returns:
        columns policy (labelled as in :func:`noise_band`), budget, sigma, diff (mean
        over seeds), lo, hi (t-interval; zero width with one seed), seeds; None when
        ``reference`` is not in the table or no other policy is.
    """
    on = [c for c in PAIR_ON if c in frame.columns]
    ref = frame.filter(pl.col("policy") == reference).select(*on, pl.col("accuracy")
                                                              .alias("ref"))
    others = frame.filter(pl.col("policy") != reference)
    if ref.height == 0 or others.height == 0:
        return None
    paired = others.join(ref, on=on).with_columns(
        (pl.col("accuracy") - pl.col("ref")).alias("diff"))
    return _mean_band(paired, "diff")


def _mean_band(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """Mean of ``value`` over seeds per (labelled policy, budget, sigma), with the 95%
    t-interval as ``lo``/``hi``; one seed gives a band of zero width at the mean."""
    agg = (frame.group_by(_split_label(frame, ("noise_kind", "stream")), "budget", "sigma",
                          maintain_order=True)
           .agg(pl.col(value).mean(), pl.col(value).std().alias("sd"),
                pl.len().alias("seeds")))
    half = pl.Series("half", np.nan_to_num(t_half_width(
        agg["sd"].fill_null(np.nan).to_numpy(), agg["seeds"].to_numpy()), nan=0.0))
    return agg.with_columns((pl.col(value) - half).alias("lo"),
                            (pl.col(value) + half).alias("hi")).drop("sd")


def noise_title(frame: pl.DataFrame) -> str:
    """The x-axis title for the noise level: its meaning when the table has one kind."""
    kinds = frame["noise_kind"].unique().to_list() if "noise_kind" in frame.columns else []
    return NOISE_TITLES.get(kinds[0], "Noise level") if len(kinds) == 1 else "Noise level"
