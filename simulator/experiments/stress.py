"""The predictor-noise stress test: accuracy of each policy as the predictor degrades.

For every seed one stream sample of n queries is drawn (``rng_for(seed, "stream")``).
For every noise level the predictor's noise comes from ``rng_for(seed, "predictor")``,
the same generator at every level, so the levels differ only in scale (for the
log-normal kinds ``z`` is literally the same draw). Every policy and budget then
allocates from the same prediction: common random numbers across policies, and across
noise levels too. Scoring reuses :func:`simulator.experiments.frontier.score_batch`.

The swept level is the ``sigma`` column; its meaning per ``noise_kind``
(:data:`NOISE_KINDS`, each the predictor a scenario's ``predictor`` section names):

=============  ======================  ==============================================
noise_kind     predictor kind          the level sets
=============  ======================  ==============================================
lognormal      ``noisy-oracle``        ``sigma``, SD of ln(T / tau)
bias           ``noisy-oracle``        ``bias``, the log-ratio ln(T / tau) (signed)
rank-swap      ``rank-swap-oracle``    ``fraction`` of queries swapped, in [0, 1]
difficulty     ``difficulty-oracle``   ``sigma``, mean SD (larger on hard queries)
=============  ======================  ==============================================

Other predictor settings (e.g. ``sigma`` alongside a bias) come in ``predictor_params``.
Summaries give the mean over seeds and a two-sided 95% Student-t interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from predictors.base import make_predictor
from simulator.errors import UserError
from simulator.experiments.frontier import score_batch
from simulator.experiments.intervals import t_half_width
from simulator.pools.pool import Pool
from simulator.seeds import rng_for
from simulator.traffic.streams import sample_stream

__all__ = ["NOISE_KINDS", "STRESS_SCHEMA", "paired_difference", "predictor_settings",
           "run_stress", "summarise"]

NOISE_KINDS: dict[str, tuple[str, str]] = {
    "lognormal": ("noisy-oracle", "sigma"),
    "bias": ("noisy-oracle", "bias"),
    "rank-swap": ("rank-swap-oracle", "fraction"),
    "difficulty": ("difficulty-oracle", "sigma"),
}

STRESS_SCHEMA: dict[str, pl.DataType] = {
    "policy": pl.String(),
    "stream": pl.String(),
    "noise_kind": pl.String(),
    "sigma": pl.Float64(),
    "budget": pl.Float64(),
    "seed": pl.Int64(),
    "n": pl.Int64(),
    "accuracy": pl.Float64(),
    "tokens": pl.Float64(),
    "abandonment": pl.Float64(),
}
KEYS = ["noise_kind", "stream", "policy", "sigma", "budget"]


def predictor_settings(noise_kind: str, level: float,
                       predictor_params: Mapping[str, Any] | None = None
                       ) -> tuple[str, dict[str, Any]]:
    """The (kind, params) a scenario's ``predictor`` section uses for this noise level.

    Raises:
        UserError: unknown noise kind (lists the valid ones) or a level out of range.
    """
    if noise_kind not in NOISE_KINDS:
        raise UserError(f"unknown noise kind {noise_kind!r}; valid: {', '.join(NOISE_KINDS)}")
    kind, name = NOISE_KINDS[noise_kind]
    if noise_kind != "bias" and level < 0:
        raise UserError(f"noise level {level} for {noise_kind} must be >= 0")
    if noise_kind == "rank-swap" and level > 1:
        raise UserError(f"rank-swap level is a fraction of queries in [0, 1], got {level}")
    params: dict[str, Any] = {"sigma": 0.0} if noise_kind == "bias" else {}
    params.update(predictor_params or {})
    params[name] = float(level)
    return kind, params


def run_stress(pool: Pool, stream: str | Sequence[float], n: int, budgets: Sequence[float],
               sigmas: Sequence[float], policies: Sequence[str], seeds: Sequence[int],
               noise_kind: str = "lognormal",
               policy_params: Mapping[str, Mapping[str, Any]] | None = None,
               predictor_params: Mapping[str, Any] | None = None,
               stream_name: str | None = None,
               progress: Callable[[int], object] | None = None) -> pl.DataFrame:
    """One row per (policy, sigma, budget, seed), schema :data:`STRESS_SCHEMA`.

    Args:
        pool: the rollout pool.
        stream: mix name or four tier weights.
        n: queries per batch.
        budgets: mean budgets per query (tokens); a batch gets B = budget * n.
        sigmas: noise levels (see the module docstring for their meaning per kind).
        policies: registered policy names.
        seeds: run seeds; each gives its own sample and noise draws.
        noise_kind: a key of :data:`NOISE_KINDS`.
        policy_params: per-policy parameter dicts.
        predictor_params: extra predictor parameters (e.g. ``sigma`` for ``bias``).
        stream_name: label for the stream column.
        progress: called with 1 after each (seed, sigma) cell.
    """
    settings = [predictor_settings(noise_kind, s, predictor_params) for s in sigmas]
    predictors = [make_predictor(kind, **params) for kind, params in settings]
    name = stream_name or (stream if isinstance(stream, str) else "custom")
    rows: list[tuple[Any, ...]] = []
    for seed in seeds:
        index = sample_stream(pool, stream, n, rng_for(seed, "stream"))
        batch = pool.subset(index)
        for sigma, predictor in zip(sigmas, predictors, strict=True):
            pred = predictor.predict(pool, index, rng_for(seed, "predictor"))
            for policy in policies:
                params = (policy_params or {}).get(policy, {})
                for b in budgets:
                    s = score_batch(batch, pred, float(b) * n, policy, params)
                    rows.append((policy, name, noise_kind, float(sigma), float(b), int(seed),
                                 int(n), s.accuracy, s.tokens_per_query, s.abandonment_rate))
            if progress is not None:
                progress(1)
    return pl.DataFrame(rows, schema=STRESS_SCHEMA, orient="row")


def summarise(frame: pl.DataFrame, metric: str = "accuracy") -> pl.DataFrame:
    """Mean of ``metric`` over seeds with a 95% Student-t interval, per cell.

    Returns:
        columns ``KEYS`` + mean, sd, seeds, half (interval half-width), lo, hi; ``half``
        is NaN for a single seed.
    """
    g = frame.group_by(KEYS, maintain_order=True).agg(
        pl.col(metric).mean().alias("mean"), pl.col(metric).std().alias("sd"),
        pl.len().alias("seeds"))
    half = pl.Series("half", t_half_width(g["sd"].fill_null(np.nan).to_numpy(),
                                          g["seeds"].to_numpy()))
    return g.with_columns(half).with_columns(
        (pl.col("mean") - pl.col("half")).alias("lo"), (pl.col("mean") + pl.col("half")).alias("hi"))


def paired_difference(frame: pl.DataFrame, a: str, b: str,
                      metric: str = "accuracy") -> pl.DataFrame:
    """Per-seed ``a - b`` of ``metric`` (same sample and noise: CRN), summarised.

    Returns:
        one row per (noise_kind, stream, sigma, budget) with mean, sd, seeds, half, lo,
        hi of the paired difference.

    Raises:
        UserError: ``a`` or ``b`` is not in the frame.
    """
    have = set(frame["policy"].to_list())
    for p in (a, b):
        if p not in have:
            raise UserError(f"--compare: policy {p!r} was not run; ran {', '.join(sorted(have))}")
    on = ["noise_kind", "stream", "sigma", "budget", "seed"]
    left = frame.filter(pl.col("policy") == a).select(*on, pl.col(metric).alias("x"))
    right = frame.filter(pl.col("policy") == b).select(*on, pl.col(metric).alias("y"))
    diff = left.join(right, on=on).select(
        pl.lit(f"{a} - {b}").alias("policy"), *on, (pl.col("x") - pl.col("y")).alias(metric))
    return summarise(diff, metric)
