"""Online policies decided at arrival (pacing, learned-price) and the hindsight bound."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.allocation.hindsight import max_funded
from simulator.comparison import compare
from simulator.des.hindsight import decision_times, hindsight_funded
from simulator.des.runner import run
from simulator.policies import AllocationInput, get_policy
from simulator.policies.online import Context, online_state
from simulator.pools.source import resolve_pool
from simulator.scenario.io import load_scenario
from tests.des_helpers import scenario

ONLINE = ("pacing", "learned-price")
ROOT = Path(__file__).resolve().parents[1]
thresholds = st.lists(st.floats(5.0, 5000.0), min_size=1, max_size=12).map(np.array)


@pytest.mark.parametrize("name", ONLINE)
@settings(max_examples=40, deadline=None)
@given(t=thresholds, budget=st.floats(0.0, 2e4), spread=st.floats(0.01, 1.5),
       step=st.floats(0.001, 1.0))
def test_batch_caps_nonnegative_within_budget_deterministic(
        name: str, t: np.ndarray, budget: float, spread: float, step: float) -> None:
    params = {"step": step} if name == "pacing" else {"schedule": "fixed", "every": 2}
    inp = AllocationInput(t, budget, log_spread=np.full(t.size, spread))
    a = get_policy(name)(inp, params)
    b = get_policy(name)(inp, params)
    assert (a.caps >= 0).all()
    assert a.caps.sum() <= budget * (1 + 1e-9) + 1e-9
    assert np.array_equal(a.caps, b.caps)


@pytest.mark.parametrize("name", ONLINE)
@settings(max_examples=30, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(5.0, 5000.0), st.floats(0.0, 3000.0),
                                st.floats(0.0, 2000.0), st.floats(1.0, 500.0)),
                      min_size=1, max_size=20))
def test_state_caps_never_above_the_free_bank(
        name: str, steps: list[tuple[float, float, float, float]]) -> None:
    """A run's decisions: each cap within the free tokens offered, same run same caps."""
    def drive() -> list[float]:
        state = online_state(name, {})
        assert state is not None
        spent, out = 0.0, []
        for k, (thr, free, extra, per) in enumerate(steps):
            inp = AllocationInput(np.array([thr]), free, prior_thresholds=np.array([thr]))
            alloc = state.decide(inp, Context(float(k), spent, spent + extra, per, free, 8.0))
            cap = float(alloc.caps[0])
            assert 0.0 <= cap <= free * (1 + 1e-12)
            spent += cap
            out.append(cap)
        return out

    assert drive() == drive()


def _online_scenario(policy: str, **extra: Any) -> Any:
    base: dict[str, Any] = {
        "arrivals": {"kind": "gamma", "rate": 4.0, "cv": 3.0}, "duration": 60.0,
        "allocator": {"policy": policy, "period": 1.0, "budget_rate": 600.0, "window": 5.0},
        "gpu": {"max_seqs": 16, "s0": 0.01, "s1": 0.001, "p0": 0.0, "p1": 0.0},
        "predictor": {"kind": "noisy-oracle", "params": {"sigma": 0.3}}}
    base.update(extra)
    return scenario(**base)


VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "patience": {"patience": {"kind": "exponential", "mean": 2.0}},
    "streams": {"arrivals": None, "duration": 60.0,
                "streams": [{"name": "a", "mix": "mostly-easy",
                             "arrivals": {"kind": "poisson", "rate": 3.0}},
                            {"name": "b", "mix": "mostly-hard",
                             "arrivals": {"kind": "gamma", "rate": 1.0, "cv": 2.0}}]},
}


def _build(policy: str, variant: str) -> Any:
    extra = dict(VARIANTS[variant])
    if extra.get("arrivals", 1) is None:
        extra.pop("arrivals")
        base = _online_scenario(policy).model_dump()
        base.pop("arrivals")
        base.pop("stream", None)
        base.update(extra)
        from simulator.scenario.io import parse_scenario

        return parse_scenario(base)
    return _online_scenario(policy, **extra)


@pytest.mark.parametrize(("name", "variant"), list(itertools.product(ONLINE, VARIANTS)))
def test_des_decides_at_arrival_within_the_bank(name: str, variant: str) -> None:
    sc = _build(name, variant)
    a, b = run(sc), run(sc)
    assert a.queries.equals(b.queries) and a.ticks.equals(b.ticks)
    q, ticks = a.queries, a.ticks
    assert q.height > 50
    # every query is decided at its arrival time: no tick wait
    when = q.join(ticks.select("tick", "time"), on="tick", how="left")
    assert (when["time"] == when["arrival_time"]).all()
    assert (q["cap"] >= 0).all()
    # never above the bank: a decision commits at most its free tokens, and the tokens
    # generated never exceed what the bank received
    decided = ticks.filter(pl.col("pending") > 0)
    assert (decided["committed_tokens"] <= decided["free_tokens"] + 1e-9).all()
    assert int(q["tokens_generated"].sum()) <= 600.0 * a.summary["sim_seconds"] + 1e-6
    if variant == "patience":
        assert (q["outcome"] == "timed_out").sum() > 0
    if variant == "streams":
        assert set(q["stream"].unique()) == {"a", "b"}
    assert a.summary["correct"] > 0


def test_online_policies_from_yaml_and_their_bad_params() -> None:
    sc = _online_scenario("pacing")
    assert sc.allocator.policy == "pacing"
    from simulator.errors import UserError
    from simulator.policies import check_params

    with pytest.raises(UserError, match="step must be > 0"):
        check_params("pacing", {"step": -1.0})
    with pytest.raises(UserError, match="unknown schedule"):
        check_params("learned-price", {"schedule": "weekly"})
    with pytest.raises(UserError, match="every must be"):
        check_params("learned-price", {"every": 0})


def test_existing_policies_still_tick() -> None:
    """Tick policies keep their period: decisions at tick times, after arrival."""
    q = run(_online_scenario("clear")).queries
    assert float(np.mean(q["queue_wait"].to_numpy() > 0)) > 0.9


# --- hindsight ------------------------------------------------------------------------


def _brute(decide: np.ndarray, cost: np.ndarray, ok: np.ndarray, f0: float, rho: float
           ) -> int:
    best = 0
    order = np.argsort(decide, kind="stable")
    for mask in itertools.product([False, True], repeat=decide.size):
        sel = np.array(mask) & ok
        if sel.sum() <= best:
            continue
        run_total = np.cumsum(np.where(sel, cost, 0.0)[order])
        if (run_total <= f0 + rho * decide[order] + 1e-9).all():
            best = int(sel.sum())
    return best


@settings(max_examples=80, deadline=None)
@given(data=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 40), st.booleans()),
                     min_size=1, max_size=9),
       f0=st.floats(0.0, 30.0), rho=st.floats(0.5, 20.0))
def test_max_funded_is_the_exact_optimum(data: list[tuple[int, int, bool]], f0: float,
                                         rho: float) -> None:
    decide = np.array([d for d, _, _ in data], dtype=float)
    cost = np.array([c for _, c, _ in data], dtype=float)
    ok = np.array([g for _, _, g in data])
    chosen = max_funded(decide, cost, ok, f0, rho)
    assert not (chosen & ~ok).any()
    order = np.argsort(decide, kind="stable")
    total = np.cumsum(np.where(chosen, cost, 0.0)[order])
    assert (total <= f0 + rho * decide[order] + 1e-6).all()
    assert int(chosen.sum()) == _brute(decide, cost, ok, f0, rho)


def test_decision_times_are_the_next_tick() -> None:
    t = np.array([0.0, 0.3, 1.0, 1.0000001, 2.9999, 3.0])
    assert decision_times(t, 1.0).tolist() == [0.0, 1.0, 1.0, 2.0, 3.0, 3.0]
    assert decision_times(t, 0.0).tolist() == t.tolist()


POLICIES = ("uniform", "tale", "clear", "clear-calibrated", "shadow-price", "oracle",
            "pacing", "learned-price")


@pytest.mark.parametrize("stem", ["balanced", "burst"])
def test_every_policy_at_most_hindsight_on_every_seed(stem: str) -> None:
    base = load_scenario(ROOT / "scenarios" / f"{stem}.yaml")
    pool = resolve_pool(base.pool.source, seed=base.pool.seed)
    for seed in range(3):
        sc = base.model_copy(update={"seed": seed, "duration": 120.0})
        funded = None
        for policy in POLICIES:
            res = run(sc, policy, {}, pool=pool)
            if funded is None:
                funded = hindsight_funded(res.scenario, res.queries, pool)
            correct = int((res.queries["outcome"] == "correct").sum())
            assert correct <= int(funded.sum()), (stem, seed, policy)


@pytest.mark.parametrize("extra", [
    {"patience": {"kind": "exponential", "mean": 3.0}},
    {"allocator": {"policy": "clear", "period": 0.0, "budget_rate": 300.0,
                   "initial_fill": 1.0, "window": 20.0}},
])
def test_hindsight_bounds_with_patience_fill_and_period_zero(extra: dict[str, Any]) -> None:
    sc = _online_scenario("clear", **extra)
    funded = None
    for policy in ("clear", "oracle", "pacing", "uniform"):
        res = run(sc, policy, {})
        if funded is None:
            pool = resolve_pool(sc.pool.source, seed=sc.pool.seed)
            funded = hindsight_funded(res.scenario, res.queries, pool)
        assert int((res.queries["outcome"] == "correct").sum()) <= int(funded.sum())


def test_compare_shows_hindsight_as_an_upper_bound() -> None:
    sc = _online_scenario("clear").model_copy(update={"duration": 30.0})
    result = compare(sc, ["clear", "pacing", "hindsight"], seeds=2)
    acc = {}
    for p in ("clear", "pacing", "hindsight"):
        row = result.row(p, "accuracy")
        assert row is not None
        acc[p] = [float(v) for v in row.values if v is not None]
    for p in ("clear", "pacing"):
        assert all(v <= h for v, h in zip(acc[p], acc["hindsight"], strict=True))
    assert "upper bound" in result.headlines["hindsight"]
    ttf = result.row("hindsight", "time_to_outcome_p50")
    assert ttf is None or all(v is None for v in ttf.values)


def test_compare_cli_with_hindsight(tmp_path: Path) -> None:
    from simulator.cli.main import main

    path = tmp_path / "s.yaml"
    path.write_text("arrivals: {kind: poisson, rate: 2.0}\nduration: 20\n"
                    "allocator: {policy: clear, period: 1.0, budget_rate: 300}\n",
                    encoding="utf-8")
    out = tmp_path / "cmp"
    code = main(["compare", str(path), "--policies", "hindsight,pacing", "--seeds", "1",
                 "--out", str(out), "--no-png"])
    assert code in (0, None)
    doc = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    rows = {p["name"]: p for p in doc["policies"]}
    assert rows["hindsight"]["upper_bound"] and not rows["pacing"]["upper_bound"]
    assert (out / "hindsight" / "hindsight.json").is_file()
