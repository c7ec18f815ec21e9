"""Fake report inputs written straight to disk, to test the report layer alone.

The files follow the run-directory contract of the simulator (queries, ticks, gpu,
summary, resolved scenario) with plausible values; nothing here simulates anything.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import polars as pl

BENCHMARKS = ("gsm8k", "math500", "aime", "olympiad")
SHADOW = {"clear", "clear-calibrated"}


def write_fake_run(path: Path, policy: str = "clear", n: int = 2000, seed: int = 0,
                   horizon: float = 600.0, period: float = 1.0) -> Path:
    """A complete run directory with ``n`` arrivals over ``horizon`` seconds."""
    rng = np.random.default_rng([seed, zlib.crc32(policy.encode())])
    path.mkdir(parents=True, exist_ok=True)
    arrival = np.sort(rng.uniform(0, horizon, n))
    tier = rng.integers(0, 4, n)
    tau = np.exp(rng.normal(6 + 0.6 * tier, 0.5))
    pred = tau * np.exp(rng.normal(0, 0.3, n))
    abandon = (rng.uniform(size=n) < 0.05 * tier) if policy in SHADOW else np.zeros(n, bool)
    cap = np.where(abandon, 0.0, np.round(pred * rng.uniform(1.1, 2.0, n)))
    gen = np.minimum(cap, np.round(tau * rng.uniform(0.8, 1.3, n)))
    correct = (gen >= tau) & (rng.uniform(size=n) < 0.9)
    outcome = np.where(abandon, "abandoned", np.where(correct, "correct", "wrong"))
    wait = np.where(abandon, 0.0, rng.exponential(0.5, n))
    gen_time = np.where(abandon, 0.0, gen * 0.01)
    latency = np.where(abandon, np.nan, wait + gen_time)
    tick = np.floor(arrival / period).astype(np.int64)
    queries = pl.DataFrame({
        "query": np.arange(n, dtype=np.int64), "pool_index": rng.integers(0, 500, n),
        "id": [f"q{i}" for i in range(n)],
        "benchmark": np.array(BENCHMARKS)[rng.integers(0, len(BENCHMARKS), n)],
        "tier": tier.astype(np.int8), "arrival_time": arrival, "tick": tick,
        "cap": cap.astype(np.int64), "predicted_threshold": pred, "true_tau": tau,
        "tokens_generated": gen.astype(np.int64), "outcome": outcome, "queue_wait": wait,
        "generation_time": gen_time, "latency": latency,
        "end_time": arrival + np.nan_to_num(latency),
    }).with_columns(pl.col("latency").fill_nan(None))
    queries.write_parquet(path / "queries.parquet")
    n_ticks = int(horizon / period)
    times = np.arange(n_ticks) * period
    lam = 0.002 * (1.2 + np.sin(times / horizon * 6)) if policy in SHADOW else None
    pl.DataFrame({
        "tick": np.arange(n_ticks, dtype=np.int64), "time": times,
        "pending": rng.integers(0, 10, n_ticks), "bank": rng.uniform(0, 1e5, n_ticks),
        "free_tokens": rng.uniform(0, 1e5, n_ticks),
        "lambda": pl.Series(lam, dtype=pl.Float64) if lam is not None
        else pl.Series([None] * n_ticks, dtype=pl.Float64),
        "admitted": rng.integers(0, 5, n_ticks), "abandoned": rng.integers(0, 2, n_ticks),
        "committed_tokens": rng.uniform(0, 1e4, n_ticks),
    }).write_parquet(path / "ticks.parquet")
    starts = np.arange(0, horizon, 10.0)
    pl.DataFrame({"window_start": starts, "window_end": starts + 10.0,
                  "mean_active": rng.uniform(0, 50, starts.size),
                  "mean_queued": rng.uniform(0, 5, starts.size),
                  "busy_fraction": rng.uniform(0.5, 1.0, starts.size),
                  "tokens": rng.uniform(1e4, 1e5, starts.size)}
                 ).write_parquet(path / "gpu.parquet")
    done = latency[~np.isnan(latency)]
    summary = {"arrivals": n, "accuracy": float(correct.mean()),
               "abandonment_rate": float(abandon.mean()),
               "tokens_per_query": float(gen.mean()),
               "latency_p50": float(np.quantile(done, 0.5)),
               "latency_p95": float(np.quantile(done, 0.95)),
               "latency_p99": float(np.quantile(done, 0.99)),
               "mean_latency": float(done.mean()),
               "goodput_per_1k_tokens": float(correct.sum() / gen.sum() * 1000),
               "sim_seconds": horizon, "wall_seconds": 1.0, "policy": policy,
               "seed": seed, "version": "0.1.0"}
    (path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (path / "scenario.resolved.yaml").write_text(
        f"name: fake\nseed: {seed}\nallocator:\n  policy: {policy}\n  budget_rate: 5000\n",
        encoding="utf-8")
    return path


def write_fake_frontier(path: Path, policies: tuple[str, ...] = ("uniform", "clear"),
                        seeds: int = 2) -> Path:
    """A frontier table (``clearsim frontier --out`` columns)."""
    rows = []
    for p_i, policy in enumerate(policies):
        for seed in range(seeds):
            for b in (64, 128, 256, 512, 1024, 2048):
                acc = 0.7 * (1 - np.exp(-b / (400 - 100 * p_i))) + 0.01 * seed
                rows.append({"policy": policy, "stream": "balanced", "mean_budget": float(b),
                             "accuracy": acc, "tokens_per_query": 0.9 * b,
                             "abandonment_rate": max(0.0, 0.5 - b / 2048) * p_i,
                             "seed": seed, "n": 500})
    pl.DataFrame(rows).write_parquet(path)
    return path


def write_fake_stress(path: Path, policies: tuple[str, ...] = ("uniform", "clear"),
                      seeds: int = 3) -> Path:
    """A stress-noise output directory holding ``stress.parquet``."""
    rng = np.random.default_rng(0)
    rows = []
    for p_i, policy in enumerate(policies):
        for budget in (256.0, 1024.0):
            for sigma in (0.0, 0.25, 0.5, 1.0, 1.5):
                for seed in range(seeds):
                    acc = 0.5 + 0.1 * p_i * np.exp(-sigma) + 0.02 * rng.normal()
                    rows.append({"policy": policy, "sigma": sigma, "budget": budget,
                                 "seed": seed, "accuracy": acc, "tokens": budget * 0.9,
                                 "abandonment": 0.1 * p_i})
    path.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).write_parquet(path / "stress.parquet")
    return path
