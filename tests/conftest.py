"""Shared fixtures: tiny pools built in memory, and the location of ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from simulator.pools.pool import Pool

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ROLLOUTS = SHARED / "data" / "rollouts" / "thip-qwen7b-rl"


def require_shared() -> Path:
    """The real THIP rollouts folder, or skip the test with the reason."""
    if not ROLLOUTS.is_dir():
        pytest.skip(f"real rollouts not found at {ROLLOUTS} (../shared is absent)")
    return ROLLOUTS


def make_pool(lengths: list[list[int]], correct: list[list[bool]], cap: int = 16384,
              benchmark: str = "toy") -> Pool:
    """A pool from explicit per-query rollout lists."""
    n = len(lengths)
    return Pool.from_frame(pl.DataFrame({
        "id": [f"q{i}" for i in range(n)],
        "benchmark": [benchmark] * n,
        "max_tokens": [cap] * n,
        "lengths": lengths,
        "correct": correct,
    }))


def random_pool(n: int, k: int, seed: int = 0) -> Pool:
    """A lognormal-length pool with per-query solvability, for invariants tests."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(6.5, 1.0, n)
    lengths = np.clip(np.exp(mu[:, None] + rng.normal(0, 0.4, (n, k))), 1, 16384).astype(int)
    p = rng.uniform(0, 1, n)
    correct = rng.uniform(size=(n, k)) < p[:, None]
    return make_pool(lengths.tolist(), correct.tolist())


@pytest.fixture
def toy_pool() -> Pool:
    """Eight queries, K = 4, assorted lengths and grades."""
    return random_pool(8, 4, seed=1)
