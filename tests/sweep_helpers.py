"""Builders for the sweep tests: small sweep files and frames without wall-clock columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import yaml

from simulator.sweep import load_store

TINY_SCENARIO = {
    "name": "tiny",
    "pool": "default",
    "arrivals": {"kind": "poisson", "rate": 2.0},
    "allocator": {"policy": "clear", "period": 1.0, "budget_rate": 1500.0},
    "n_queries": 60,
}


def write_sweep(folder: Path, name: str = "sweep.yaml", **fields: Any) -> Path:
    """A sweep file in ``folder``; frontier defaults (n=50, clear at 256 tokens/query)."""
    data: dict[str, Any] = {
        "kind": "frontier",
        "base": {"pool": "default", "stream": "balanced", "n": 50, "mean_budget": 256,
                 "policy": "clear"},
        "store": "store",
    }
    data.update(fields)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_scenario(folder: Path, name: str = "tiny.yaml", **fields: Any) -> Path:
    """The tiny scenario (60 arrivals, default pool), with top-level fields replaced."""
    path = folder / name
    path.write_text(yaml.safe_dump({**TINY_SCENARIO, **fields}, sort_keys=False),
                    encoding="utf-8")
    return path


def results(store: Path) -> pl.DataFrame:
    """The store as one frame, without the wall-clock column."""
    return load_store(store).drop("wall_seconds")


# 200 frontier cells of a few tens of ms each (the oracle policy on n=1000 queries):
# slow enough that a kill lands part-way, fast enough for the suite.
KILL_GRID: dict[str, Any] = {
    "base": {"pool": "default", "stream": "balanced", "n": 1000, "mean_budget": 256,
             "policy": "oracle"},
    "axes": {"mean_budget": [32 * (i + 1) for i in range(20)]},
    "seeds": list(range(10)),
}
