"""The allocator tick's small-N steps on Python lists give numpy's results exactly."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import polars as pl
import pytest

from simulator.des.allocator import SMALL, Allocator, _known, integer_caps


def _integer_caps_numpy(caps: np.ndarray, limit: np.ndarray, free: float) -> np.ndarray:
    """The array form (what runs above SMALL queries), written out as the reference."""
    out = np.minimum(np.floor(np.maximum(caps, 0.0)), limit).astype(np.int64)
    over = int(out.sum()) - int(np.floor(free))
    while over > 0:
        k = int(np.argmax(out))
        take = min(over, int(out[k]))
        out[k] -= take
        over -= take
    return out


@pytest.mark.parametrize("seed", range(40))
def test_small_integer_caps_equal_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, SMALL + 1))
    caps = rng.choice([rng.uniform(-5, 3000), 0.0, -0.0, 0.999, 1.0, 2048.0], size=n)
    caps = np.where(rng.random(n) < 0.5, rng.uniform(-10, 3000, n), caps)
    limit = rng.integers(1, 4096, n).astype(np.int64)
    free = float(rng.choice([caps.sum(), caps.sum() - rng.uniform(0, 50), 1e9, 0.5]))
    got = integer_caps(caps, limit, free)
    want = _integer_caps_numpy(caps, limit, free)
    assert got.dtype == want.dtype == np.int64
    assert got.tolist() == want.tolist()
    assert int(got.sum()) <= max(math.floor(free), 0) or int(got.sum()) == 0


def test_small_integer_caps_ties_and_non_finite() -> None:
    """Over-spend is taken from the first largest cap (as argmax); NaN/inf use numpy."""
    caps, limit = np.array([5.0, 7.0, 7.0]), np.array([10, 10, 10])
    assert integer_caps(caps, limit, 15.0).tolist() == [5, 3, 7]
    assert integer_caps(np.array([np.inf, 3.0]), limit[:2], 20.0).tolist() == \
        _integer_caps_numpy(np.array([np.inf, 3.0]), limit[:2], 20.0).tolist()


def test_known_small_and_large() -> None:
    for n in (0, 3, SMALL, SMALL + 1, 100):
        nan = np.full(n, np.nan)
        assert _known(nan) is None
        some = nan.copy()
        if n:
            some[-1] = 1.0
            assert _known(some) is some


def test_reference_sample_keeps_the_last_predictions() -> None:
    """``prior_thresholds``: the last REFERENCE predictions as of each renewal."""
    from simulator.des.allocator import REFERENCE

    alloc = Allocator.__new__(Allocator)
    alloc._recent = deque(maxlen=REFERENCE)
    alloc._sample, alloc._fresh = np.empty(0), 0
    seen: list[float] = []
    rng = np.random.default_rng(1)
    for _ in range(300):
        cur = rng.uniform(1, 100, int(rng.integers(1, 9)))
        seen += cur.tolist()
        before = alloc._sample
        out = alloc._reference(cur)
        if out is not before:   # renewed now: exactly the last REFERENCE seen
            assert out.tolist() == seen[-REFERENCE:]
            assert out.dtype == np.float64


@pytest.mark.parametrize("policy", ["clear", "uniform", "oracle", "shadow-price"])
def test_small_tick_run_equals_the_array_form(policy: str, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """A whole run with the list path (up to SMALL queries a tick) and with it switched
    off (SMALL = 0: every tick through the arrays) gives identical frames."""
    from tests.des_helpers import scenario

    sc = scenario(pool="default", stream="balanced",
                  arrivals={"kind": "poisson", "rate": 4.0}, n_queries=600, seed=5,
                  allocator={"policy": policy, "period": 1.0, "budget_rate": 800.0,
                             "window": 10.0},
                  gpu={"max_seqs": 64, "s0": 0.012, "s1": 0.0002, "p0": 0.01,
                       "p1": 0.00005},
                  predictor={"kind": "noisy-oracle", "params": {"sigma": 0.3}})
    small, arrays = _small_and_arrays(sc, monkeypatch)
    assert small.gpu.equals(arrays.gpu)
    if policy == "clear":   # a scarce budget: both branches (abandon, admit) ran
        assert (small.queries["outcome"] == "abandoned").any()
    assert (small.queries["cap"] > 0).any()


def _small_and_arrays(sc: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """Run ``sc`` with the small-tick path and with it off (``SMALL = 0``); the query
    and tick frames must be equal. Returns both results."""
    from simulator.des import allocator
    from simulator.des.runner import run
    from simulator.pools.source import resolve_pool

    pool = resolve_pool("default")
    small = run(sc, pool=pool)
    monkeypatch.setattr(allocator, "SMALL", 0)
    arrays = run(sc, pool=pool)
    assert small.queries.equals(arrays.queries)
    assert small.ticks.equals(arrays.ticks)
    return small, arrays


def test_small_tick_of_several_streams_equals_the_array_form(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks that several streams fill as they go (no whole-block rows) take the
    small tick's per-tick gathers: the same frames as the array form."""
    from tests.des_helpers import scenario

    streams = [{"name": n, "mix": "balanced", "arrivals": {"kind": "poisson", "rate": 2.0}}
               for n in ("a", "b")]
    sc = scenario(pool="default", arrivals=None, streams=streams, n_queries=600, seed=3,
                  allocator={"policy": "clear", "period": 1.0, "budget_rate": 800.0,
                             "window": 10.0},
                  gpu={"max_seqs": 64, "s0": 0.012, "s1": 0.0002, "p0": 0.01,
                       "p1": 0.00005})
    small, arrays = _small_and_arrays(sc, monkeypatch)
    assert (small.ticks["pending"] > 1).any() and (small.queries["cap"] > 0).any()


@pytest.mark.parametrize("streams", [False, True])
def test_small_tick_with_patience_and_deadline_equals_the_array_form(
        streams: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give-up times per block row (one stream: whole-block rows) or per tick (several
    streams) on the list path, with some queries past their patience or deadline at
    their tick (those take the array form): the same frames as the array form."""
    from tests.des_helpers import scenario

    load: dict[str, Any] = ({"arrivals": None, "streams": [
        {"name": n, "mix": "balanced", "arrivals": {"kind": "poisson", "rate": 3.0}}
        for n in ("a", "b")]} if streams else
        {"stream": "balanced", "arrivals": {"kind": "poisson", "rate": 6.0}})
    sc = scenario(pool="default", **load, n_queries=900, seed=7,
                  allocator={"policy": "clear", "period": 1.0, "budget_rate": 1200.0,
                             "window": 10.0},
                  gpu={"max_seqs": 8, "s0": 0.012, "s1": 0.0002, "p0": 0.01,
                       "p1": 0.00005, "deadline": 20.0},
                  patience={"kind": "exponential", "mean": 1.5})
    small, arrays = _small_and_arrays(sc, monkeypatch)
    out = small.queries["outcome"]
    assert (out == "timed_out").sum() > 10 and (out == "correct").any()
    late = small.queries.filter((pl.col("outcome") == "timed_out") & (pl.col("cap") == 0))
    assert late.height > 0  # past its patience at its tick
