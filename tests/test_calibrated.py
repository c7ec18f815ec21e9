"""clear-calibrated: closed-form best response, invariants, solvability and shrinkage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import ndtr

from simulator.policies import AllocationInput, get_policy
from simulator.policies.calibrated import (
    _Demand,
    inverse_mills_root,
    shrink,
    success_utility,
)

policy = get_policy("clear-calibrated")
sizes = st.integers(1, 60)


@st.composite
def inputs(draw: st.DrawFn) -> AllocationInput:
    n = draw(sizes)
    t = draw(arrays(np.float64, n, elements=st.floats(1.0, 30000.0)))
    s = draw(arrays(np.float64, n, elements=st.floats(0.0, 3.0)))
    q = draw(st.none() | arrays(np.float64, n, elements=st.floats(0.0, 1.0)))
    budget = draw(st.floats(0.0, 1e6))
    sd = draw(st.none() | st.floats(0.0, 1.5))
    ref = draw(st.none() | arrays(np.float64, st.integers(1, 80), elements=st.floats(1.0, 3e4)))
    return AllocationInput(t, budget, log_spread=s, solvability=q, threshold_sd=sd,
                           prior_thresholds=ref)


@settings(max_examples=150, deadline=None)
@given(inp=inputs(), eb=st.booleans())
def test_invariants(inp: AllocationInput, eb: bool) -> None:
    params = {"shrink": eb}
    a, b = policy(inp, params), policy(inp, params)
    assert np.isfinite(a.caps).all() and (a.caps >= 0).all()
    assert a.caps.sum() <= inp.budget * (1 + 1e-9) + 1e-6
    assert np.array_equal(a.caps, b.caps)
    if inp.budget > 0:   # leftover is spent, never wasted
        assert a.caps.sum() == pytest.approx(inp.budget, rel=1e-9)


@pytest.mark.parametrize("s", [0.05, 0.3, 1.0, 2.5])
def test_inverse_mills_root(s: float) -> None:
    v0 = float(inverse_mills_root(np.array([s]))[0])
    phi = np.exp(-0.5 * v0 * v0) / np.sqrt(2 * np.pi)
    assert phi / ndtr(v0) == pytest.approx(s, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(t=st.floats(10.0, 20000.0), s=st.floats(0.05, 2.0), q=st.floats(0.05, 1.0),
       log_lam=st.floats(-16.0, -2.0))
def test_best_response_matches_a_grid(t: float, s: float, q: float, log_lam: float) -> None:
    dem = _Demand(np.array([t]), np.array([s]), np.array([q]))
    cap = float(dem.caps(log_lam)[0][0])
    lam = np.exp(log_lam)
    grid = np.concatenate(([0.0], t * np.exp(np.linspace(-6 * s - 3, 8 * s + 3, 20001))))
    net = success_utility(grid, t, s, q) - lam * grid
    best = float(net.max())
    got = float(success_utility(np.array([cap]), t, s, q)[0] - lam * cap) if cap > 0 else 0.0
    assert got >= best - 1e-6 * max(1.0, abs(best)) - 1e-9


def test_low_solvability_is_abandoned_first() -> None:
    inp = AllocationInput(np.array([500.0, 500.0]), 700.0, log_spread=np.array([0.3, 0.3]),
                          solvability=np.array([0.2, 0.9]))
    caps = policy(inp, {}).caps
    assert caps[1] > 500 and caps[1] > caps[0]
    ignore = policy(inp, {"use_solvability": False}).caps
    none = policy(AllocationInput(inp.thresholds, 700.0, log_spread=inp.log_spread), {}).caps
    assert np.array_equal(ignore, none)


def test_short_thresholds_funded_first_and_margin_scales_with_t() -> None:
    t = np.array([100.0, 1000.0, 10000.0])
    a = policy(AllocationInput(t, 2000.0, log_spread=np.full(3, 0.3)), {})
    assert a.caps[0] > 100 and a.caps[1] > 1000 and a.caps[2] == 0
    assert a.shadow_price is not None and a.shadow_price > 0


def test_spread_floor_and_default() -> None:
    t = np.array([300.0, 600.0])
    no_spread = policy(AllocationInput(t, 500.0), {})
    explicit = policy(AllocationInput(t, 500.0, log_spread=np.full(2, 0.25)), {})
    assert np.array_equal(no_spread.caps, explicit.caps)   # default spread 0.25
    zero = policy(AllocationInput(t, 500.0, log_spread=np.zeros(2)), {})
    floor = policy(AllocationInput(t, 500.0, log_spread=np.full(2, 0.05)), {})
    assert np.array_equal(zero.caps, floor.caps)
    with pytest.raises(ValueError, match="min_spread"):
        policy(AllocationInput(t, 500.0), {"min_spread": 0})


def _noisy_batch(sd: float, n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """True ln tau from a skewed two-cluster mix, and thresholds T = tau e^{N(0, sd^2)}."""
    rng = np.random.default_rng(seed)
    ln_tau = np.where(rng.random(n) < 0.7, rng.normal(6.0, 0.2, n), rng.normal(8.0, 0.5, n))
    return ln_tau, np.exp(ln_tau + sd * rng.standard_normal(n))


def test_shrink_moves_thresholds_toward_where_the_traffic_is() -> None:
    ln_tau, t = _noisy_batch(0.5)
    s = np.full(t.size, np.hypot(0.5, 0.3))
    post_t, post_s = shrink(t, s, 0.5)
    # closer to the truth on average than the raw predictions (what shrinkage is for)
    assert np.mean((np.log(post_t) - ln_tau) ** 2) < 0.7 * np.mean((np.log(t) - ln_tau) ** 2)
    # the shortest prediction is pulled up, the within-query part of s is kept
    k = int(np.argmin(t))
    assert post_t[k] > 1.5 * t[k]
    # (a prediction between the clusters can have a wider, two-humped posterior)
    assert (post_s >= 0.3 - 1e-12).all() and np.median(post_s) < s[0]


def test_shrink_runs_only_with_a_known_additive_noise() -> None:
    _, t = _noisy_batch(0.5, n=100)
    s = np.full(t.size, 0.6)
    b = 256.0 * t.size
    plain = policy(AllocationInput(t, b, log_spread=s), {})
    assert np.array_equal(plain.caps, policy(AllocationInput(t, b, log_spread=s),
                                             {"shrink": True}).caps)   # no threshold_sd
    eb = policy(AllocationInput(t, b, log_spread=s, threshold_sd=0.5), {})
    assert not np.array_equal(eb.caps, plain.caps)
    off = policy(AllocationInput(t, b, log_spread=s, threshold_sd=0.5), {"shrink": False})
    assert np.array_equal(off.caps, plain.caps)
    zero = policy(AllocationInput(t, b, log_spread=s, threshold_sd=0.0), {})
    assert np.array_equal(zero.caps, plain.caps)


def test_prior_thresholds_are_the_sample_when_given() -> None:
    _, t = _noisy_batch(0.5, n=200)
    s = np.full(8, 0.6)
    few = t[:8]
    b = 256.0 * few.size
    own = policy(AllocationInput(few, b, log_spread=s, threshold_sd=0.5), {})
    plain = policy(AllocationInput(few, b, log_spread=s), {})
    assert np.array_equal(own.caps, plain.caps)        # 8 < MIN_SAMPLE: nothing to fit
    ref = policy(AllocationInput(few, b, log_spread=s, threshold_sd=0.5,
                                 prior_thresholds=t), {})
    assert not np.array_equal(ref.caps, plain.caps)
    other = policy(AllocationInput(few, b, log_spread=s, threshold_sd=0.5,
                                   prior_thresholds=t * 3.0), {})
    assert not np.array_equal(ref.caps, other.caps)


def test_fast_for_a_large_batch() -> None:
    import time

    rng = np.random.default_rng(0)
    n = 100_000
    inp = AllocationInput(np.exp(rng.normal(6, 1, n)), 256.0 * n,
                          log_spread=np.full(n, 0.4), solvability=rng.uniform(size=n))
    start = time.perf_counter()
    a = policy(inp, {})
    assert time.perf_counter() - start < 2.0
    assert a.caps.sum() == pytest.approx(inp.budget)


@pytest.mark.parametrize("name", ["shrink", "use_solvability"])
@pytest.mark.parametrize("value", ["maybe", 1, None])
def test_switches_must_be_booleans(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{name} must be true or false"):
        policy(AllocationInput(np.array([100.0, 200.0]), 300.0), {name: value})


def test_noise_too_small_for_the_prior_grid_is_left_alone() -> None:
    _, t = _noisy_batch(0.005, n=300)   # ln T spans ~3.5: 200 atoms are ~3.5 sd apart
    s = np.full(t.size, 0.3)
    b = 256.0 * t.size
    plain = policy(AllocationInput(t, b, log_spread=s), {})
    tiny = policy(AllocationInput(t, b, log_spread=s, threshold_sd=0.005), {})
    assert np.array_equal(tiny.caps, plain.caps)


@pytest.mark.parametrize("field,value,match", [
    ("threshold_sd", float("nan"), "threshold_sd must be finite"),
    ("threshold_sd", -0.1, "threshold_sd must be finite"),
    ("prior_thresholds", np.array([100.0, 0.0]), "prior_thresholds must be"),
    ("prior_thresholds", np.ones((2, 2)), "prior_thresholds must be"),
])
def test_bad_noise_inputs_are_named(field: str, value: object, match: str) -> None:
    inp = AllocationInput(np.array([100.0, 200.0]), 300.0, **{field: value})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=match):
        policy(inp, {})


def test_default_spread_adds_the_known_threshold_noise() -> None:
    t = np.array([300.0, 600.0])
    known = policy(AllocationInput(t, 500.0, threshold_sd=0.3), {"shrink": False})
    explicit = policy(AllocationInput(t, 500.0, log_spread=np.full(2, np.hypot(0.25, 0.3))),
                      {})
    assert np.array_equal(known.caps, explicit.caps)
