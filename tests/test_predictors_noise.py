"""Noise predictors: statistics of each kind, seeding, spreads and the registry."""

from __future__ import annotations

import numpy as np
import pytest

from predictors.base import PREDICTORS, make_predictor
from predictors.noise import within_spread
from simulator.errors import UserError
from simulator.experiments.stress import NOISE_KINDS, predictor_settings
from simulator.pools.pool import Pool
from simulator.seeds import rng_for
from tests.conftest import random_pool

N = 4000


@pytest.fixture(scope="module")
def pool() -> Pool:
    return random_pool(N, 3, seed=7)


def _log_ratio(pool: Pool, kind: str, seed: int = 0, **params: float) -> np.ndarray:
    pred = make_predictor(kind, **params).predict(pool, np.arange(len(pool)), rng_for(seed, "p"))
    return np.log(pred.thresholds / pool.tau)


def test_oracle_is_tau_without_spread(pool: Pool) -> None:
    pred = make_predictor("oracle").predict(pool, np.arange(10), rng_for(0, "p"))
    assert np.array_equal(pred.thresholds, pool.tau[:10])
    assert pred.log_spread is None and pred.solvability is None


@pytest.mark.parametrize("sigma", [0.1, 0.3, 1.0])
def test_lognormal_log_ratio_sd_is_sigma(pool: Pool, sigma: float) -> None:
    r = _log_ratio(pool, "noisy-oracle", sigma=sigma)
    assert abs(r.mean()) < 4 * sigma / np.sqrt(N)
    assert r.std() == pytest.approx(sigma, rel=0.05)


def test_bias_shifts_the_log_ratio(pool: Pool) -> None:
    r = _log_ratio(pool, "noisy-oracle", sigma=0.2, bias=0.3)
    assert r.mean() == pytest.approx(0.3, abs=0.02)
    assert r.std() == pytest.approx(0.2, rel=0.05)
    exact = _log_ratio(pool, "noisy-oracle", sigma=0.0, bias=-0.5)
    assert np.allclose(exact, -0.5)


def test_rank_swap_permutes_a_fraction(pool: Pool) -> None:
    idx = np.arange(len(pool))
    pred = make_predictor("rank-swap-oracle", fraction=0.4).predict(pool, idx, rng_for(1, "p"))
    assert np.allclose(np.sort(pred.thresholds), np.sort(pool.tau))  # same distribution
    changed = ~np.isclose(pred.thresholds, pool.tau)
    assert changed.mean() == pytest.approx(0.4, abs=0.02)
    none = make_predictor("rank-swap-oracle", fraction=0.0).predict(pool, idx, rng_for(1, "p"))
    assert np.array_equal(none.thresholds, pool.tau)


def test_difficulty_noise_grows_with_tau(pool: Pool) -> None:
    r = _log_ratio(pool, "difficulty-oracle", sigma=0.4, slope=1.0)
    order = np.argsort(pool.tau)
    easy, hard = r[order[: N // 4]], r[order[-N // 4:]]
    # multipliers average 0.625 and 1.375 over the bottom and top quarters
    assert easy.std() == pytest.approx(0.4 * 0.625, rel=0.1)
    assert hard.std() == pytest.approx(0.4 * 1.375, rel=0.1)
    assert np.sqrt(np.mean(r**2)) == pytest.approx(0.4 * np.sqrt(1 + 1 / 12), rel=0.05)


@pytest.mark.parametrize("kind,params,noise_sd", [
    ("noisy-oracle", {"sigma": 0.3, "bias": 0.5}, 0.3),
    ("difficulty-oracle", {"sigma": 0.3, "slope": 2.0}, 0.3 * np.sqrt(1 + 4 / 12)),
])
def test_reported_spread(pool: Pool, kind: str, params: dict[str, float],
                         noise_sd: float) -> None:
    pred = make_predictor(kind, **params).predict(pool, np.arange(5), rng_for(0, "p"))
    assert pred.log_spread is not None
    assert np.allclose(pred.log_spread, np.hypot(noise_sd, within_spread(pool)))
    assert pred.threshold_sd == pytest.approx(noise_sd)   # the additive part alone


@pytest.mark.parametrize("fraction,n,expected", [(0.0, 50, 0.2), (0.3, 50, None),
                                                  (0.01, 40, 0.2), (0.3, 1, 0.2)])
def test_rank_swaps_are_not_additive_noise(pool: Pool, fraction: float, n: int,
                                           expected: float | None) -> None:
    # with no pair swapped (fraction 0, or too few queries) only sigma's noise is left
    pred = make_predictor("rank-swap-oracle", fraction=fraction, sigma=0.2).predict(
        pool, np.arange(n), rng_for(0, "p"))
    assert pred.threshold_sd == expected
    assert make_predictor("oracle").predict(pool, np.arange(5), rng_for(0, "p")
                                            ).threshold_sd is None


def test_within_spread_is_robust_sd() -> None:
    from tests.conftest import make_pool

    p = make_pool([[100, 100, 100]], [[True, True, True]])
    assert within_spread(p) == 0.0
    assert 0.3 < within_spread(random_pool(2000, 8, seed=1)) < 0.5  # drawn with SD 0.4


@pytest.mark.parametrize("kind", ["noisy-oracle", "rank-swap-oracle", "difficulty-oracle"])
def test_seeded_by_the_rng_passed_in(pool: Pool, kind: str) -> None:
    idx = np.arange(200)
    p = make_predictor(kind)
    a = p.predict(pool, idx, rng_for(3, "p")).thresholds
    b = p.predict(pool, idx, rng_for(3, "p")).thresholds
    c = p.predict(pool, idx, rng_for(4, "p")).thresholds
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("kind,params", [
    ("noisy-oracle", {"sigma": -1.0}),
    ("rank-swap-oracle", {"fraction": 1.5}),
    ("difficulty-oracle", {"slope": 3.0}),
    ("noisy-oracle", {"sigmaa": 0.3}),
])
def test_bad_parameters_are_user_errors(kind: str, params: dict[str, float]) -> None:
    with pytest.raises(UserError, match="predictor"):
        make_predictor(kind, **params)


def test_unknown_kind_lists_the_valid_ones() -> None:
    with pytest.raises(UserError, match="difficulty-oracle.*learned.*noisy-oracle"):
        make_predictor("psychic")


@pytest.mark.parametrize("noise_kind", sorted(NOISE_KINDS))
def test_stress_kinds_are_scenario_predictors(noise_kind: str) -> None:
    kind, params = predictor_settings(noise_kind, 0.5, {})
    assert kind in PREDICTORS
    make_predictor(kind, **params)
    config = pytest.importorskip("simulator.scenario.models")
    spec = config.PredictorSpec(kind=kind, params=params)
    assert spec.kind == kind
