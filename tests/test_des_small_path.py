"""The small-tick fast paths (plain Python below SMALL queries in the allocator, the
solver and leftover spending) give the same run, byte for byte, as the array paths.

Each example runs one random small scenario twice, once with every fast path switched
off (SMALL = 0), and compares every column of the query and tick records exactly.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.allocation import shadow_price
from simulator.des import allocator
from simulator.des.runner import run
from tests.des_helpers import scenario, tiny_pool

POOL = tiny_pool([[int(x) for x in row] for row in
                  np.random.default_rng(3).integers(5, 400, size=(40, 3))], max_tokens=400)


def _bytes(frame: pl.DataFrame) -> list[bytes]:
    return [frame[c].to_numpy().tobytes() if frame[c].dtype.is_numeric()
            else "\x00".join(map(str, frame[c].to_list())).encode() for c in frame.columns]


def _run(sc: object, small: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list[bytes], ...]:
    with monkeypatch.context() as m:
        m.setattr(allocator, "SMALL", small)
        m.setattr(shadow_price, "SMALL", small)
        res = run(sc, pool=POOL)  # type: ignore[arg-type]
    return _bytes(res.queries), _bytes(res.ticks)


@settings(max_examples=12, deadline=None)
@given(policy=st.sampled_from(["clear", "uniform", "tale", "clear-calibrated", "oracle",
                               "clear-heuristic"]),
       rate=st.sampled_from([0.5, 3.0, 12.0]), budget=st.floats(20.0, 4000.0),
       period=st.sampled_from([0.0, 0.5, 1.0, 3.0]), seed=st.integers(0, 1000))
def test_fast_paths_are_the_array_paths(policy: str, rate: float, budget: float,
                                        period: float, seed: int) -> None:
    sc = scenario(arrivals={"kind": "poisson", "rate": rate}, n_queries=120, seed=seed,
                  allocator={"policy": policy, "period": period, "budget_rate": budget,
                             "window": 5.0},
                  gpu={"max_seqs": 8, "s0": 0.01, "s1": 0.001, "p0": 0.01, "p1": 0.0})
    mp = pytest.MonkeyPatch()
    fast = _run(sc, allocator.SMALL, mp)
    slow = _run(sc, 0, mp)
    assert fast == slow


def test_only_policies_registered_with_curves_read_them() -> None:
    """The allocator gathers the (N, K) curves only for ``curves=True`` policies; every
    other policy allocates the same with and without them."""
    from simulator.policies import POLICIES, AllocationInput, get_policy, uses_curves

    rng = np.random.default_rng(4)
    t = rng.uniform(50, 900, 12)
    curves = (rng.integers(20, 900, (12, 3)), rng.random((12, 3)) < 0.7)
    for name in POLICIES.names():
        fn = get_policy(name)
        assert uses_curves(fn) == (name == "oracle")
        if uses_curves(fn):
            continue
        base = dict(thresholds=t, budget=2000.0, true_tau=t, threshold_sd=0.3,
                    log_spread=np.full(12, 0.3), solvability=np.full(12, 0.9))
        with_c = fn(AllocationInput(**base, curves=curves), {})  # type: ignore[arg-type]
        without = fn(AllocationInput(**base), {})  # type: ignore[arg-type]
        assert np.asarray(with_c.caps).tobytes() == np.asarray(without.caps).tobytes(), name
