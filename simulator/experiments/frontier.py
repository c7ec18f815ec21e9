"""The static frontier: the paper's batch experiment (model.md sections 2-4).

For one stream sample of n queries and a list of mean budgets b (tokens per query),
every policy allocates B = b * n tokens from the same predicted thresholds, and is
scored by the expected accuracy over each query's rollouts:
``mean_i A_i(t_i)`` with ``A_i(t) = mean_k 1[c_ik and l_ik <= t]``.

All policies see the same sample and the same predictor noise (common random numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from predictors.base import Prediction, Predictor
from simulator.checks import check_size
from simulator.policies import AllocationInput, check_params, get_policy
from simulator.pools.pool import Pool
from simulator.seeds import rng_for
from simulator.traffic.streams import sample_stream

__all__ = ["FRONTIER_SCHEMA", "BatchScore", "allocation_input", "batch_gb", "check_batch_memory",
           "score_batch", "run_frontier"]

FRONTIER_SCHEMA: dict[str, pl.DataType] = {
    "policy": pl.String(),
    "stream": pl.String(),
    "mean_budget": pl.Float64(),
    "accuracy": pl.Float64(),
    "tokens_per_query": pl.Float64(),
    "abandonment_rate": pl.Float64(),
    "seed": pl.Int64(),
    "n": pl.Int64(),
}


@dataclass(frozen=True)
class BatchScore:
    """One policy's score on one batch.

    Attributes:
        accuracy: mean expected accuracy (fraction of queries).
        tokens_per_query: mean expected generated tokens E_k[min(l_ik, t_i)].
        abandonment_rate: fraction of queries given a zero cap.
        caps: (n,) the caps (tokens).
        shadow_price: lambda* where the policy has one.
    """

    accuracy: float
    tokens_per_query: float
    abandonment_rate: float
    caps: np.ndarray
    shadow_price: float | None


def batch_gb(pool: Pool, n: int) -> float:
    """Estimated peak memory (GB) of one batch of ``n`` queries of ``pool``.

    (96 K + 512) bytes per query for K rollouts: measured about 1 kB per query at K = 8
    (the default pool, n = 1e6: 1.16 GB peak RSS, 0.28 GB at n = 1e5).
    """
    k = int(pool.lengths.shape[1])
    return n * (96 * k + 512) / 1e9


def check_batch_memory(pool: Pool, n: int, max_gb: float) -> None:
    """Refuse a batch whose estimated memory exceeds ``max_gb`` (before any work).

    Raises:
        UserError: "this run would need about N GB of memory (...)" and the fix.
    """
    check_size(batch_gb(pool, n), max_gb,
               f"GB of memory (--n {n} queries x {pool.lengths.shape[1]} rollouts)",
               "lower --n, or raise --max-memory GB")


def allocation_input(batch: Pool, pred: Prediction, budget: float) -> AllocationInput:
    """The AllocationInput for a batch: predictions plus the oracle's true curves."""
    return AllocationInput(
        thresholds=pred.thresholds,
        budget=budget,
        log_spread=pred.log_spread,
        solvability=pred.solvability,
        threshold_sd=pred.threshold_sd,
        true_tau=np.where(batch.solvable, batch.tau, np.inf),
        curves=(batch.lengths, batch.correct & batch.valid),
    )


def score_batch(batch: Pool, pred: Prediction, budget: float, policy: str,
                params: Mapping[str, Any] | None = None) -> BatchScore:
    """Allocate ``budget`` tokens over ``batch`` with ``policy`` and score it."""
    fn = get_policy(policy)
    check_params(policy, params or {})
    alloc = fn(allocation_input(batch, pred, budget), params or {})
    caps = alloc.caps
    return BatchScore(
        accuracy=float(batch.accuracy_at(caps).mean()),
        tokens_per_query=float(batch.expected_tokens(caps).mean()),
        abandonment_rate=float((caps <= 0).mean()),
        caps=caps,
        shadow_price=alloc.shadow_price,
    )


def run_frontier(pool: Pool, stream: str | Sequence[float], n: int,
                 mean_budgets: Sequence[float], policies: Sequence[str],
                 predictor: Predictor, seed: int = 0,
                 policy_params: Mapping[str, Mapping[str, Any]] | None = None,
                 stream_name: str | None = None) -> pl.DataFrame:
    """Rows (policy, stream, mean_budget, accuracy, tokens_per_query, abandonment_rate).

    Args:
        pool: the rollout pool.
        stream: mix name or four tier weights.
        n: queries in the batch (the paper uses 500).
        mean_budgets: budgets per query b (tokens); B = b * n.
        policies: registered policy names.
        predictor: threshold predictor (noise drawn from the seed's "predictor" stream).
        seed: the run seed.
        policy_params: per-policy parameter dicts.
    """
    index = sample_stream(pool, stream, n, rng_for(seed, "stream"))
    batch = pool.subset(index)
    pred = predictor.predict(pool, index, rng_for(seed, "predictor"))
    name = stream_name or (stream if isinstance(stream, str) else "custom")
    rows = []
    for policy in policies:
        params = (policy_params or {}).get(policy, {})
        for b in mean_budgets:
            s = score_batch(batch, pred, float(b) * n, policy, params)
            rows.append((policy, name, float(b), s.accuracy, s.tokens_per_query,
                         s.abandonment_rate, int(seed), int(n)))
    return pl.DataFrame(rows, schema=FRONTIER_SCHEMA, orient="row")
