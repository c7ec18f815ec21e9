"""Summary figures do not depend on polars' thread count.

polars' float ``mean`` sums in thread-dependent chunks: before the fix, mean_latency
of a 400k-row run changed in its last bits between ``POLARS_MAX_THREADS=1`` and the
default (9.9455938000045 vs 9.945593800004499 s). Each thread setting needs its own process (polars reads it at import).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from simulator.metrics import _exact_mean, summarize

REPO = Path(__file__).resolve().parents[1]
SCRIPT = """
import json, sys
import polars as pl
from simulator.metrics import summarize, windowed
q = pl.scan_parquet(sys.argv[1])
print(json.dumps(summarize(q, 1234.5, slo=20.0)))
print(json.dumps(windowed(q, 250.0, slo=20.0).to_dicts()))
"""


def _queries(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    outcome = rng.choice(np.array(["correct", "wrong", "abandoned", "expired"]), n,
                         p=[0.3, 0.3, 0.3, 0.1])
    done = np.isin(outcome, ["correct", "wrong"])
    return pl.DataFrame({
        "arrival_time": np.sort(rng.uniform(0, 1000, n)),
        "outcome": outcome,
        "tokens_generated": np.where(done, rng.integers(1, 4000, n), 0),
        "latency": rng.lognormal(2.0, 0.7, n) * np.pi,  # no short binary fractions
    })


def _summary_with_threads(path: Path, threads: int) -> str:
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads)}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout


def test_summary_is_identical_across_thread_counts(tmp_path: Path) -> None:
    # 2M rows in run-sized row groups: with polars' mean this differed in the last bits
    # between (and even within) thread settings on most attempts
    path = tmp_path / "queries.parquet"
    _queries(2_000_000).write_parquet(path, row_group_size=1 << 16)
    outs = [_summary_with_threads(path, threads) for threads in (1, 4, 2)]
    assert outs[0] == outs[1] == outs[2]
    assert '"mean_latency"' in outs[0]


def test_mean_latency_is_the_exactly_rounded_mean() -> None:
    q = _queries(10_000, seed=1)
    lat = q.filter(pl.col("outcome").is_in(["correct", "wrong"]))["latency"].to_list()
    got = summarize(q, 1.0)["mean_latency"]
    assert got == _exact_mean(lat) == _exact_mean(lat[::-1])
    assert got == pytest.approx(float(np.mean(lat)), rel=1e-12)
    assert summarize(q.head(0), 1.0)["mean_latency"] is None
