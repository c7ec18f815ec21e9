"""The synthetic default pool: determinism, shape, calibration and the frontier property."""

from __future__ import annotations

import time

import numpy as np
import pytest

from simulator.pools.embedded.calibration import BENCHMARKS, REAL
from simulator.pools.embedded.synthetic import K, default_pool
from simulator.pools.stats import figures, rollouts_of
from simulator.seeds import rng_for
from simulator.traffic.streams import sample_stream


def test_same_seed_gives_identical_frame() -> None:
    assert default_pool(seed=3).frame.equals(default_pool(seed=3).frame)


def test_other_seed_differs() -> None:
    assert not default_pool(seed=0).frame.equals(default_pool(seed=1).frame)


def test_shape_ids_and_k() -> None:
    pool = default_pool()
    assert K >= 8
    assert (pool.n_rollouts == K).all()
    for b in BENCHMARKS:
        assert int((pool.benchmarks == b).sum()) == REAL[b].queries
    assert pool.ids[0] == "math500-0001"
    assert (pool.lengths[pool.valid] <= np.repeat(pool.max_tokens, K)).all()
    texts = pool.frame["text"].to_list()
    assert all(isinstance(t, str) and len(t.split()) >= 4 for t in texts)
    levels = pool.frame.filter(pool.frame["benchmark"] == "math500")["level"]
    assert set(levels.to_list()) == {1, 2, 3, 4, 5}


def test_fast() -> None:
    t0 = time.perf_counter()
    default_pool(seed=7)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("bench", BENCHMARKS)
def test_calibrated_accuracy_and_cap(bench: str) -> None:
    pool = default_pool()
    synth = figures(rollouts_of(pool, pool.benchmarks == bench))
    real = REAL[bench]
    # AIME has only 30 queries: sampling noise of the latent difficulties dominates.
    tol = 0.03 if real.queries >= 200 else 0.05
    assert abs(synth.accuracy - real.accuracy) < tol
    assert abs(synth.cap_fraction - real.cap_fraction) < tol
    assert abs(synth.logmean - real.logmean) < 0.15
    assert abs(synth.quantiles[2] - real.quantiles[2]) / real.quantiles[2] < 0.15


def test_accuracy_falls_with_level_and_length() -> None:
    pool = default_pool()
    f = figures(rollouts_of(pool, pool.benchmarks == "math500"))
    assert all(a > b for a, b in zip(f.level_accuracy, f.level_accuracy[1:], strict=False))
    assert f.bin_accuracy[0] > f.bin_accuracy[2] > f.bin_accuracy[3]


def test_uniform_at_256_is_low_and_shortest_first_beats_it() -> None:
    pool = default_pool()
    sub = pool.subset(sample_stream(pool, "balanced", 500, rng_for(0, "test")))
    uniform = float(sub.accuracy_at(np.full(len(sub), 256.0)).mean())
    assert 0.05 < uniform < 0.16
    tau = np.where(sub.solvable, sub.tau, np.inf)
    order = np.argsort(tau, kind="stable")
    funded = order[np.cumsum(1.5 * tau[order]) <= 256.0 * len(sub)]
    caps = np.zeros(len(sub))
    caps[funded] = 1.5 * tau[funded]
    assert float(sub.accuracy_at(caps).mean()) >= 2.5 * uniform


def test_text_carries_a_weak_difficulty_signal() -> None:
    pool = default_pool()
    m = pool.benchmarks == "math500"
    words = np.array([len(t.split()) for t in pool.frame["text"]])[m]
    log_tau = np.log(pool.tau[m])
    rank = np.argsort(np.argsort(words)), np.argsort(np.argsort(log_tau))
    rho = float(np.corrcoef(*rank)[0, 1])
    assert 0.15 < rho < 0.6
