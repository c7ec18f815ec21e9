"""``hindsight``: the offline optimum of a run, an upper bound on every policy's accuracy.

Every policy run on one scenario and seed sees the same arrivals, queries and rollouts
(common random numbers), so the queries table of any one run says what every query
would have done under any cap. :func:`hindsight_summary` solves the best use of the
bank over the whole run on it (:func:`simulator.allocation.hindsight.max_funded`,
exact): query i is decided at the latest at its tick (``allocator.period``; its arrival
with ``period: 0``), costs its rollout's length and counts only if that rollout is
graded correct and fits L_max. Figures without a GPU (time to outcome, latency) are
not defined for it and are left out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from predictors.base import drawn_pool, make_predictor
from simulator.allocation.hindsight import max_funded
from simulator.pools.pool import Pool
from simulator.scenario.models import Scenario
from simulator.version import __version__

__all__ = ["HINDSIGHT", "decision_times", "hindsight_funded", "hindsight_summary"]

HINDSIGHT = "hindsight"  #: its name among the policies of ``clearsim compare``


def decision_times(arrival: np.ndarray, period: float) -> np.ndarray:
    """The latest decision time (s) of each arrival: the first tick k * period >= it."""
    arrival = np.asarray(arrival, dtype=np.float64)
    if period <= 0:
        return arrival.copy()
    k = np.ceil(arrival / period)
    k = np.where((k - 1) * period >= arrival, k - 1, k)   # float rounding either way
    k = np.where(k * period < arrival, k + 1, k)
    return k * period


def hindsight_funded(scenario: Scenario, queries: pl.DataFrame, pool: Pool) -> np.ndarray:
    """(n,) bool: the queries the offline optimum answers correctly.

    Args:
        scenario: the run's scenario (its bank and period).
        queries: the ``queries.parquet`` rows of any run of it (same seed).
        pool: the scenario's pool (resolved, before the predictor's held-out draw).
    """
    predictor = make_predictor(scenario.predictor.kind, **scenario.predictor.params)
    pool, _ = drawn_pool(pool, predictor)
    a = scenario.allocator
    idx = queries["pool_index"].to_numpy()
    k = queries["rollout"].to_numpy()
    length = pool.lengths[idx, k].astype(np.float64)
    eligible = pool.correct[idx, k] & (length <= pool.max_tokens[idx])
    if isinstance(a.budget_rate, str):
        return np.asarray(eligible, dtype=bool)
    rate = float(a.budget_rate)
    return max_funded(decision_times(queries["arrival_time"].to_numpy(), a.period), length,
                      eligible, a.initial_fill * rate * a.window, rate)


def hindsight_summary(scenario: Scenario, queries: pl.DataFrame, pool: Pool,
                      base: dict[str, Any]) -> dict[str, Any]:
    """The hindsight figures in ``summary.json`` form (``base``: the summary of the run
    whose ``queries`` are used, for the run facts)."""
    funded = hindsight_funded(scenario, queries, pool)
    n = int(funded.size)
    idx = queries["pool_index"].to_numpy()
    k = queries["rollout"].to_numpy()
    predictor = make_predictor(scenario.predictor.kind, **scenario.predictor.params)
    drawn, _ = drawn_pool(pool, predictor)
    tokens = float(drawn.lengths[idx, k][funded].sum())
    correct = int(funded.sum())
    out: dict[str, Any] = {key: base[key] for key in ("sim_seconds", "queries_drawn", "pool_queries",
                                      "held_out_queries") if key in base}
    out.update({"arrivals": n, "correct": correct,
                "accuracy": correct / n if n else math.nan,
                "abandonment_rate": (n - correct) / n if n else math.nan,
                "tokens_per_query": tokens / n if n else math.nan,
                "goodput_per_1k_tokens": 1000.0 * correct / tokens if tokens else None,
                "scenario": scenario.name, "policy": HINDSIGHT, "seed": scenario.seed,
                "clearsim_version": __version__,
                "bound": "exact offline optimum under the bank's cumulative accrual"})
    return out
