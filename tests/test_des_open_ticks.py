"""The period-0 unlimited-budget ticks decided a block at a time (simulator.des.open_ticks)
give the same outputs, bit for bit, as the tick-by-tick allocator.

A run with an event trace always takes the allocator (it logs every admission), so the
same scenario run with and without a trace compares the two forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from simulator.des.runner import RunResult, run
from simulator.des.source import BLOCK
from tests.des_helpers import scenario, tiny_pool

OPEN = {"budget_rate": "unlimited", "period": 0}


def _both(sc: Any, pool: Any = None) -> tuple[RunResult, RunResult, list[tuple[str, float]]]:
    trace: list[tuple[str, float]] = []
    return run(sc, pool=pool), run(sc, pool=pool, trace=trace), trace


def _same(fast: RunResult, slow: RunResult) -> None:
    assert_frame_equal(fast.queries, slow.queries)
    assert_frame_equal(fast.ticks, slow.ticks)
    assert_frame_equal(fast.gpu, slow.gpu)
    skip = {"wall_seconds", "queries_per_wall_second"}
    assert ({k: v for k, v in fast.summary.items() if k not in skip}
            == {k: v for k, v in slow.summary.items() if k not in skip})


@pytest.mark.parametrize("gpu", [
    {"max_seqs": None, "s0": 0.0, "s1": 0.01, "p0": 0.0, "p1": 0.0},
    {"max_seqs": 4, "s0": 0.02, "s1": 0.003, "p0": 0.05, "p1": 1e-4, "max_queue": 6},
    {"max_seqs": 8, "s0": 0.01, "s1": 0.002, "p1": 1e-4, "max_batched_tokens": 64,
     "kv_tokens": 4000, "block_size": 16, "s2": 1e-6},
    {"max_seqs": 4, "s0": 0.02, "s1": 0.003, "replicas": 3, "router": "least-loaded"},
])
def test_poisson_runs_match(gpu: dict[str, Any]) -> None:
    sc = scenario(arrivals={"kind": "poisson", "rate": 30.0}, n_queries=3000, seed=5,
                  allocator=OPEN, gpu=gpu)
    fast, slow, trace = _both(sc)
    _same(fast, slow)
    assert fast.summary["ticks"] == 3000 and any(n.startswith("leave") for n, _ in trace)


def test_tied_arrivals_across_blocks(tmp_path: Path) -> None:
    # whole-second stamps: many arrivals share a tick, including a tie that straddles
    # the first block boundary, with trace prompt lengths
    n = BLOCK + 3000
    times = np.floor(np.arange(n) / 7.0)
    assert times[BLOCK - 1] == times[BLOCK]
    f = tmp_path / "arrivals.csv"
    pl.DataFrame({"time": times, "prompt_tokens": (np.arange(n) % 50) * 3}).write_csv(f)
    pool = tiny_pool([[5, 9], [3, 8]], [[True, False], [True, True]], max_tokens=9)
    sc = scenario(arrivals={"kind": "trace", "path": str(f)}, n_queries=n, seed=2,
                  allocator=OPEN,
                  gpu={"max_seqs": 64, "s0": 0.01, "s1": 0.001, "p0": 0.02, "p1": 1e-4})
    fast, slow, _ = _both(sc, pool)
    _same(fast, slow)
    assert fast.summary["ticks"] == np.unique(times).size
    assert set(fast.queries["outcome"].to_list()) == {"correct", "wrong"}


def test_lone_and_tied_arrivals_on_one_slot(tmp_path: Path) -> None:
    # one-query and two-query ticks, the allocator's two forms, queueing for one slot
    f = tmp_path / "arrivals.csv"
    pl.DataFrame({"time": [0.0, 0.5, 0.5, 1.25], "prompt_tokens": [7, 9, 11, 13]}
                 ).write_csv(f)
    sc = scenario(arrivals={"kind": "trace", "path": str(f)}, n_queries=4, allocator=OPEN,
                  gpu={"max_seqs": 1, "s0": 0.1, "s1": 0.05, "p0": 0.0, "p1": 0.01})
    fast, slow, _ = _both(sc, tiny_pool([[3]]))
    _same(fast, slow)
    assert fast.ticks["pending"].to_list() == [1, 2, 1]
