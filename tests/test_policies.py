"""Every registered policy: budget, non-negativity, determinism; plus per-policy rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.policies import POLICIES, AllocationInput, UnknownNameError, get_policy
from simulator.policies.heuristics import affine_caps

thresholds = arrays(np.float64, st.integers(1, 80),
                    elements=st.floats(1.0, 20000.0, allow_nan=False))


def _input(t: np.ndarray, budget: float, seed: int = 0) -> AllocationInput:
    rng = np.random.default_rng(seed)
    lengths = np.maximum(1, (t[:, None] * rng.uniform(0.5, 1.5, (t.size, 4)))).astype(int)
    good = rng.uniform(size=lengths.shape) < 0.6
    return AllocationInput(t, budget, log_spread=np.full(t.size, 0.3),
                           solvability=np.full(t.size, 0.8), true_tau=t,
                           curves=(lengths, good))


@pytest.mark.parametrize("name", sorted(POLICIES))
@settings(max_examples=60, deadline=None)
@given(t=thresholds, budget=st.floats(0.0, 3e5), seed=st.integers(0, 3))
def test_policy_invariants(name: str, t: np.ndarray, budget: float, seed: int) -> None:
    inp = _input(t, budget, seed)
    a = get_policy(name)(inp, {})
    b = get_policy(name)(inp, {})
    assert a.caps.shape == t.shape
    assert np.isfinite(a.caps).all() and (a.caps >= 0).all()
    assert a.caps.sum() <= budget * (1 + 1e-9) + 1e-6
    assert np.array_equal(a.caps, b.caps)  # deterministic


@settings(max_examples=60, deadline=None)
@given(t=thresholds, budget=st.floats(1.0, 3e5), scale=st.floats(0.05, 50.0))
def test_clear_alpha_scale_invariance(t: np.ndarray, budget: float, scale: float) -> None:
    clear = get_policy("clear")
    base = clear(_input(t, budget), {"alpha": 2.0})
    scaled = clear(_input(t, budget), {"alpha": 2.0 * scale})
    assert np.array_equal(base.caps, scaled.caps)
    assert base.shadow_price is not None and scaled.shadow_price is not None
    assert np.isclose(scaled.shadow_price, base.shadow_price * scale, rtol=1e-12)


def test_clear_solvers_agree() -> None:
    t = np.exp(np.random.default_rng(3).normal(6.5, 1.0, 500))
    ex = get_policy("clear")(_input(t, 256 * 500), {"solver": "exact"})
    bi = get_policy("clear")(_input(t, 256 * 500), {"solver": "bisection"})
    assert np.allclose(ex.caps, bi.caps, rtol=1e-3)


def test_uniform_and_tale_spend_budget() -> None:
    t = np.array([100.0, 300.0, 600.0])
    assert get_policy("uniform")(_input(t, 900.0), {}).caps.tolist() == [300.0] * 3
    caps = get_policy("tale")(_input(t, 1000.0), {}).caps
    assert caps.sum() == 1000 and np.array_equal(caps, np.floor(caps))
    assert caps[0] < caps[1] < caps[2]  # proportional to T
    clipped = get_policy("tale")(_input(t, 1000.0), {"t_min": 200, "t_max": 400}).caps
    assert clipped.min() >= 200 and clipped.max() <= 400 and clipped.sum() == 1000


def test_heuristic_drops_above_median_when_scarce() -> None:
    t = np.array([100.0, 200.0, 300.0, 1000.0, 2000.0])
    caps = get_policy("clear-heuristic")(_input(t, 500.0), {}).caps
    assert caps[3] == 0 and caps[4] == 0 and np.isclose(caps.sum(), 500.0)
    plenty = get_policy("clear-heuristic")(_input(t, 1e5), {}).caps
    assert (plenty > 0).all()


def test_cutoff_keeps_longest_affordable_prefix() -> None:
    t = np.array([500.0, 100.0, 200.0, 900.0])
    caps = get_policy("clear-cutoff")(_input(t, 850.0), {}).caps
    assert (caps > 0).tolist() == [True, True, True, False]
    assert np.isclose(caps.sum(), 850.0)
    # affine rule with kappa = 1: threshold plus an equal share of the surplus
    assert np.allclose(caps[[1, 2, 0]], np.array([100, 200, 500]) + 50 / 3)


def test_affine_rule_clips_negative_and_rescales() -> None:
    t = np.array([10.0, 10.0, 1000.0])
    caps = affine_caps(t, np.ones(3, dtype=bool), 300.0, 1.0)
    assert (caps >= 0).all() and np.isclose(caps.sum(), 300.0)


def test_oracle_k1_is_shortest_first() -> None:
    t = np.array([300.0, 100.0, 200.0, 50.0])
    lengths = t.astype(int)[:, None]
    good = np.array([[True], [True], [False], [True]])
    inp = AllocationInput(t, 460.0, true_tau=t, curves=(lengths, good))
    caps = get_policy("oracle")(inp, {}).caps
    assert caps.tolist() == [300.0, 100.0, 0.0, 50.0]


def test_unknown_policy_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError, match="valid policies: .*clear"):
        get_policy("nope")


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        get_policy("clear")(AllocationInput(np.array([0.0]), 10.0), {})
    with pytest.raises(ValueError, match="budget"):
        get_policy("uniform")(AllocationInput(np.array([1.0]), -1.0), {})


def test_every_policy_declares_the_params_it_reads() -> None:
    from simulator.policies import check_params, policy_params

    assert policy_params("clear") == ("alpha", "beta", "kappa", "solver")
    assert policy_params("uniform") == ()
    check_params("clear", {"kappa": 2.0})
    with pytest.raises(UnknownNameError, match="unknown parameter 'kapa'.*valid: alpha"):
        check_params("clear", {"kapa": 2.0})
    with pytest.raises(UnknownNameError, match="takes no parameters"):
        check_params("uniform", {"x": 1})


def test_registry_lists_valid_names_and_rejects_duplicates() -> None:
    from simulator.registry import Registry

    reg: Registry[int] = Registry("widget")
    reg.register("a")(1)
    assert reg.get("a") == 1 and "a" in reg and list(reg) == ["a"] and len(reg) == 1
    with pytest.raises(UnknownNameError, match="unknown widget 'b'; valid widgets: a"):
        reg.get("b")
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a")(2)
