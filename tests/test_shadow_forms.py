"""The utility registry's shadow-price policies: envelope best responses, the step limit,
agreement with clear and clear-calibrated, invariants for every form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.allocation.envelope import Envelope
from simulator.allocation.forms import FORMS, S_FORMS, get_form, lognormal_to
from simulator.errors import UserError
from simulator.policies import AllocationInput, check_params, get_policy


@pytest.mark.parametrize("form", S_FORMS)
@pytest.mark.parametrize("log_lam", [-9.0, -7.5, -6.0])
def test_envelope_best_response_is_the_grid_optimum(form: str, log_lam: float) -> None:
    t = np.array([150.0, 600.0, 2500.0])
    theta = lognormal_to(form, np.array([1.0, 0.7, 0.9]), t, np.array([0.3, 0.5, 0.8]))
    env = Envelope.of(get_form(form), theta)
    caps, funded = env.caps(log_lam)
    grid = np.concatenate(([0.0], np.geomspace(1.0, 1e6, 200001)))
    lam = np.exp(log_lam)
    for i in range(t.size):
        net = get_form(form).curve(grid, theta[i:i + 1])[0] - lam * grid
        best = grid[int(np.argmax(net))]
        assert funded[i] == (best > 0)
        assert np.isclose(caps[i], best, rtol=2e-4, atol=1e-9), (form, i, caps[i], best)


@pytest.mark.parametrize("form", S_FORMS)
def test_exact_thresholds_fund_no_margin(form: str) -> None:
    t = np.array([400.0, 100.0, 200.0])
    inp = AllocationInput(t, 301.0, log_spread=np.zeros(3))
    caps = get_policy("shadow-price")(inp, {"utility": form}).caps
    assert caps[0] == 0.0                       # the one that does not fit is abandoned
    assert (caps[1:] >= [100.0, 200.0]).all()   # both that fit are funded, with no margin
    assert np.allclose(caps[1:], [100.0, 200.0], rtol=0.01)
    assert caps.sum() <= 301.0 * (1 + 1e-12)


@pytest.mark.parametrize("form", S_FORMS)
@settings(max_examples=60, deadline=None)
@given(t=arrays(np.float64, st.integers(1, 80), elements=st.integers(1, 3000).map(float)),
       share=st.floats(0.0, 1.2))
def test_exact_thresholds_are_the_knapsack(form: str, t: np.ndarray, share: float) -> None:
    # spread 0 (K = 1, sigma 0): each query is a step at T, so the solution is the
    # knapsack on known thresholds: the shortest prefix that fits, each at >= T (no
    # ulp below it, whatever ln/exp rounding), as many as clear-cutoff funds. (A
    # leftover smaller than the next T may still go to it, as spend_leftover does.)
    budget = share * float(t.sum())
    inp = AllocationInput(t, budget, log_spread=np.zeros(t.size))
    caps = get_policy("shadow-price")(inp, {"utility": form}).caps
    cut = get_policy("clear-cutoff")(inp, {}).caps
    funded = caps >= t
    assert funded.sum() == (cut > 0).sum()
    if funded.any() and (~funded).any():
        assert t[funded].max() <= t[~funded].min()        # shortest first
    assert caps.sum() <= budget * (1 + 1e-9) + 1e-6


def test_a_step_gets_exactly_its_threshold() -> None:
    t = np.array([681.0, 682.0, 686.0, 7.0])
    inp = AllocationInput(t, 681.0 + 682.0 + 7.0, log_spread=np.zeros(4))
    caps = get_policy("shadow-price")(inp, {}).caps
    assert caps.tolist() == [681.0, 682.0, 0.0, 7.0]


def test_refill_funds_a_query_the_leftover_misses() -> None:
    from simulator.allocation.envelope import refill

    t = np.array([100.0, 200.0])
    s = np.full(2, 0.001)
    env = Envelope.of(get_form("lognormal"), lognormal_to("lognormal", np.ones(2), t, s))
    caps = refill(env, np.array([300.0, 0.0]), t, s, 301.0)   # all leftover on query 0
    assert caps[1] >= 200.0 and caps[0] >= 100.0 and caps.sum() <= 301.0


def test_surge_utility_is_clear() -> None:
    t = np.exp(np.random.default_rng(1).normal(6.3, 0.9, 300))
    inp = AllocationInput(t, 256.0 * 300)
    a = get_policy("shadow-price")(inp, {"utility": "surge", "beta_rule": "paper"}).caps
    assert np.array_equal(a, get_policy("clear")(inp, {}).caps)


def test_lognormal_utility_is_clear_calibrated() -> None:
    rng = np.random.default_rng(2)
    t = np.exp(rng.normal(6.3, 0.9, 300))
    inp = AllocationInput(t, 256.0 * 300, log_spread=np.full(300, 0.45),
                          solvability=rng.uniform(0.3, 1.0, 300))
    a = get_policy("shadow-price")(inp, {"utility": "lognormal", "shrink": False,
                                         "min_spread": 0.05}).caps
    b = get_policy("clear-calibrated")(inp, {"shrink": False}).caps
    assert np.allclose(a, b, rtol=1e-6, atol=1e-6)


def test_bad_parameters_name_the_fix() -> None:
    with pytest.raises(UserError, match="unknown utility 'cubic'; valid: surge"):
        check_params("shadow-price", {"utility": "cubic"})
    with pytest.raises(UserError, match="beta_rule paper applies to the surge forms only"):
        check_params("shadow-price", {"utility": "lognormal", "beta_rule": "paper"})
    with pytest.raises(UserError, match="takes beta_rule paper only"):
        check_params("shadow-price", {"utility": "surge"})
    with pytest.raises(UserError, match="floor, ample and reach must be in"):
        check_params("shadow-price", {"floor": 1.5})
    with pytest.raises(UserError, match="unknown beta_rule"):
        check_params("shadow-price", {"beta_rule": "kappa"})
    assert set(FORMS) == {"surge", "surge-integral", "logistic", "lognormal"}


thresholds = arrays(np.float64, st.integers(1, 60), elements=st.floats(1.0, 20000.0))


@pytest.mark.parametrize("params", [
    {"utility": "surge-integral"}, {"utility": "logistic"}, {"utility": "lognormal"},
    {"utility": "surge-integral", "beta_rule": "paper"}, {"utility": "surge", "beta_rule": "paper"},
    {"floor": 1.0, "ample": 0.0, "reach": 0.0}, {"ample": 0.0, "reach": 1.0},
    {"utility": "lognormal", "floor": 0.0},
])
@settings(max_examples=40, deadline=None)
@given(t=thresholds, budget=st.floats(0.0, 3e5), spread=st.floats(0.0, 2.0),
       sd=st.sampled_from([None, 0.0, 0.3]))
def test_every_form_keeps_the_invariants(params: dict[str, str], t: np.ndarray, budget: float,
                                         spread: float, sd: float | None) -> None:
    inp = AllocationInput(t, budget, log_spread=np.full(t.size, spread), threshold_sd=sd)
    a = get_policy("shadow-price")(inp, params)
    b = get_policy("shadow-price")(inp, params)
    assert np.isfinite(a.caps).all() and (a.caps >= 0).all()
    assert a.caps.sum() <= budget * (1 + 1e-9) + 1e-6
    assert np.array_equal(a.caps, b.caps)


def test_floor_needs_an_ample_budget_and_margins_that_pay_it() -> None:
    from simulator.allocation.ample import floor_abandoned

    t = np.array([100.0, 200.0, 5000.0])
    plateau = t * 2.0
    caps = np.array([400.0, 300.0, 0.0])     # query 0 past its plateau, query 1 not
    out = floor_abandoned(caps, t, plateau, 700.0, 150.0, ample=0.5)
    # margins above T: 300 and 100, so the 150 tokens come 3:1 from them
    assert np.allclose(out, [400.0 - 112.5, 300.0 - 37.5, 150.0])
    assert out.sum() <= 700.0
    assert np.array_equal(floor_abandoned(caps, t, plateau, 700.0, 150.0, ample=0.6), caps)
    # the margins above T hold 400 tokens: a floor of 401 is not given at all
    assert np.array_equal(floor_abandoned(caps, t, plateau, 700.0, 401.0, ample=0.5), caps)
    assert np.allclose(floor_abandoned(caps, t, plateau, 700.0, 400.0, ample=0.5),
                       [100.0, 200.0, 400.0])


@settings(max_examples=60, deadline=None)
@given(caps=arrays(np.float64, st.integers(1, 40), elements=st.floats(0.0, 5000.0)),
       floor=st.floats(0.0, 4000.0), ample=st.floats(0.0, 1.0), slack=st.floats(0.0, 2000.0),
       seed=st.integers(0, 3))
def test_floor_keeps_the_invariants(caps: np.ndarray, floor: float, ample: float,
                                    slack: float, seed: int) -> None:
    from simulator.allocation.ample import floor_abandoned, plateau_point

    rng = np.random.default_rng(seed)
    t = rng.uniform(1.0, 4000.0, caps.size)
    point = plateau_point(t, np.full(caps.size, 0.3), 2.0)
    budget = float(caps.sum()) + slack
    out = floor_abandoned(caps, t, point, budget, floor, ample)
    assert np.isfinite(out).all() and (out >= 0).all()
    assert out.sum() <= budget * (1 + 1e-9) + 1e-6
    funded = caps > 0
    assert (out[funded] >= np.minimum(caps, t)[funded] - 1e-6).all()
    assert ((out[~funded] == 0) | (out[~funded] == floor)).all()
    assert np.array_equal(out, floor_abandoned(caps, t, point, budget, floor, ample))


def test_shadow_price_floors_abandoned_queries_only_when_ample() -> None:
    rng = np.random.default_rng(3)
    t = np.concatenate([np.exp(rng.normal(6.0, 0.5, 95)), np.full(5, 60000.0)])
    spread = np.full(100, 0.3)

    def caps(per_query: float, **params: float) -> np.ndarray:
        inp = AllocationInput(t, per_query * t.size, log_spread=spread)
        out = get_policy("shadow-price")(inp, params).caps
        assert out.sum() <= per_query * t.size * (1 + 1e-9)
        return out

    assert (caps(1024.0, floor=0.0)[95:] == 0).all()        # without the rule: abandoned
    assert (caps(1024.0)[95:] == np.quantile(t, 0.5)).all()  # with it: the median T
    assert (caps(1024.0, floor=0.1)[95:] == 0).all()        # median T above 0.1 B / N
    assert (caps(1024.0, reach=1.0)[95:] == 0).all()        # the longest T: too long
    # at 600 tokens/query the median T (404) is below B / N but only 10% of the funded
    # caps are past their plateau: the price is not low enough
    assert (caps(600.0, floor=1.0)[95:] == 0).all()
    assert (caps(600.0, floor=1.0, ample=0.05)[95:] == np.quantile(t, 0.5)).all()
    assert (caps(600.0, ample=0.05)[95:] == 0).all()        # 404 > 0.6 B / N
    assert np.array_equal(caps(128.0), caps(128.0, floor=0.0))   # scarce: unchanged


def test_shadow_price_runs_online() -> None:
    import simulator
    from simulator.scenario.io import load_scenario

    repo = __import__("pathlib").Path(__file__).resolve().parents[1]
    sc = load_scenario(repo / "scenarios" / "balanced.yaml",
                       ["duration=60", "allocator.policy=shadow-price"])
    res = simulator.run(sc)
    q = res.queries
    assert res.summary["policy"] == "shadow-price"
    assert q.height > 100 and (q["cap"] >= 0).all()
    share = (q["outcome"] == "abandoned").to_numpy().mean()
    assert 0.0 < share < 1.0
