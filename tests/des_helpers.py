"""Shared builders for the discrete-event simulator tests: tiny pools and scenarios."""

from __future__ import annotations

from typing import Any

import polars as pl

from simulator.pools.pool import Pool
from simulator.scenario.io import parse_scenario
from simulator.scenario.models import Scenario


def tiny_pool(lengths: list[list[int]], correct: list[list[bool]] | None = None,
              max_tokens: int = 1000, prompt_tokens: int | None = None) -> Pool:
    """A pool with one row per entry of ``lengths`` (all correct unless given)."""
    n = len(lengths)
    return Pool.from_frame(pl.DataFrame({
        "id": [f"q{i}" for i in range(n)],
        "benchmark": ["toy"] * n,
        "max_tokens": [max_tokens] * n,
        "prompt_tokens": [prompt_tokens] * n,
        "lengths": lengths,
        "correct": correct if correct is not None else [[True] * len(x) for x in lengths],
    }, schema_overrides={"prompt_tokens": pl.Int64}))


def scenario(**sections: Any) -> Scenario:
    """A scenario from keyword sections on top of a small valid base."""
    base: dict[str, Any] = {
        "arrivals": {"kind": "poisson", "rate": 1.0},
        "allocator": {"policy": "uniform", "period": 1.0, "budget_rate": 100.0},
        "gpu": {"max_seqs": None, "s0": 0.0, "s1": 0.01, "p0": 0.0, "p1": 0.0},
        "n_queries": 10,
    }
    for key, value in sections.items():
        if key != "arrivals" and isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    if "duration" in sections:
        base.pop("n_queries", None)
    return parse_scenario(base)
