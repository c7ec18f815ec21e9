"""GPU replicas behind a router (docs/serving.md, "Replicas"): routing rules, one
replica bit-identical to no ``replicas`` field, invariants with 1-3 replicas."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.des.runner import run, run_to_dir
from simulator.pools.pool import Pool
from simulator.scenario.io import load_scenario, parse_scenario
from simulator.serving.router import Router, choose
from tests.des_helpers import scenario
from tests.test_serving_invariants import runs

REPO = Path(__file__).resolve().parents[1]


def test_choose_round_robin_and_least() -> None:
    assert [choose("round-robin", [0, 0, 0], k) for k in range(5)] == [0, 1, 2, 0, 1]
    assert choose("least-loaded", [3, 1, 1], 0) == 1  # tie -> lowest index
    assert choose("least-kv", [5.0, 7.0, 4.5], 9) == 2
    assert choose("least-loaded", [2, 2, 2], 7) == 0


class _FakeGpu:
    def __init__(self, load: int, kv: float) -> None:
        self.load, self.kv_used, self.preemptions = load, kv, 0
        self.got: list[tuple[float, list[Any]]] = []
        self.synced: list[float] = []

    def sync(self, t: float) -> None:
        self.synced.append(t)

    def admit(self, t: float, entries: list[Any]) -> None:
        self.got.append((t, entries))

    def close(self, t: float) -> None:
        pass


def _entry(q: int, prompt: int = 10, cap: int = 100) -> tuple[Any, ...]:
    return (q, 5, 0.0, 0.0, prompt, cap, math.inf)


def _route(router: str, gpus: list[_FakeGpu], entries: list[Any],
           reserve: bool = False) -> list[tuple[int, int]]:
    placed: list[tuple[int, int]] = []
    r = Router(gpus, router, lambda q, k: placed.append((q, k)), reserve)  # type: ignore[arg-type]
    r.admit(1.0, entries)
    return placed


def test_round_robin_continues_across_ticks() -> None:
    gpus = [_FakeGpu(0, 0.0) for _ in range(3)]
    placed: list[tuple[int, int]] = []
    r = Router(gpus, "round-robin", lambda q, k: placed.append((q, k)))  # type: ignore[arg-type]
    r.admit(0.0, [_entry(0), _entry(1)])
    r.admit(1.0, [_entry(2), _entry(3)])
    assert placed == [(0, 0), (1, 1), (2, 2), (3, 0)]
    assert [len(g.got) for g in gpus] == [2, 1, 1]
    assert [e[0] for e in gpus[0].got[1][1]] == [3]


def test_least_loaded_counts_the_tick_s_own_requests() -> None:
    gpus = [_FakeGpu(2, 0.0), _FakeGpu(0, 0.0)]
    placed = _route("least-loaded", gpus, [_entry(q) for q in range(4)])
    # replica 1 takes two (0 -> 1 -> 2, then tie at 2 goes to replica 0), then alternate
    assert placed == [(0, 1), (1, 1), (2, 0), (3, 1)]
    assert gpus[0].synced == [1.0] and gpus[1].synced == [1.0]


def test_least_kv_adds_prompt_or_reservation() -> None:
    gpus = [_FakeGpu(0, 100.0), _FakeGpu(0, 0.0)]
    # on-demand: a request takes its prompt (60): 0 -> 60 -> 120 > 100
    assert _route("least-kv", gpus, [_entry(0, 60), _entry(1, 60), _entry(2, 60)]) == [
        (0, 1), (1, 1), (2, 0)]
    gpus = [_FakeGpu(0, 100.0), _FakeGpu(0, 0.0)]
    # reserve-cap: prompt + cap (160) at once
    assert _route("least-kv", gpus, [_entry(0, 60), _entry(1, 60)], reserve=True) == [
        (0, 1), (1, 0)]


def test_unknown_router_is_refused() -> None:
    with pytest.raises(ValueError, match="valid"):
        Router([], "random", lambda q, k: None)


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.parquet"))}


@pytest.mark.parametrize("gpu", [None, {"kv_tokens": 40000, "s2": 1e-6}])
def test_one_replica_is_bit_identical(tmp_path: Path, gpu: dict[str, Any] | None) -> None:
    sets = ["duration=60"] + ([] if gpu is None else [f"gpu.{k}={v}" for k, v in gpu.items()])
    base = load_scenario(REPO / "scenarios" / "balanced.yaml", sets)
    one = load_scenario(REPO / "scenarios" / "balanced.yaml",
                        [*sets, "gpu.replicas=1", "gpu.router=least-loaded"])
    run_to_dir(base, tmp_path / "a")
    run_to_dir(one, tmp_path / "b")
    a, b = _bytes(tmp_path / "a"), _bytes(tmp_path / "b")
    assert a == b
    assert ("kv.parquet" in a) == (gpu is not None)


def test_replicas_spread_the_load_and_record_the_replica() -> None:
    base = load_scenario(REPO / "scenarios" / "mostly-hard.yaml",
                         ["duration=60", "gpu.kv_tokens=30000", "gpu.s0=0.03"])
    two = load_scenario(REPO / "scenarios" / "mostly-hard.yaml",
                        ["duration=60", "gpu.kv_tokens=30000", "gpu.s0=0.03",
                         "gpu.replicas=2", "gpu.router=least-kv"])
    r1, r2 = run(base), run(two)
    q = r2.queries
    assert "replica" not in r1.queries.columns
    routed = q.filter(q["cap"] > 0)
    assert set(routed["replica"].unique()) == {0, 1}
    assert (q.filter(q["outcome"] == "abandoned")["replica"] == -1).all()
    assert r2.kv is not None and set(r2.kv["replica"].unique()) == {0, 1}
    assert set(r2.gpu["replica"].unique()) == {0, 1}
    # the summary's KV utilisation is the time-weighted mean of kv.parquet's windows
    kv = r2.kv
    span = (kv["window_end"] - kv["window_start"]).to_numpy()
    per = [float((kv.filter(kv["replica"] == r)["kv_utilisation"].to_numpy()
                  * span[kv["replica"].to_numpy() == r]).sum() / span[kv["replica"].to_numpy()
                                                                  == r].sum())
           for r in (0, 1)]
    assert r2.summary["kv_utilisation_by_replica"] == pytest.approx(per, rel=1e-9)
    assert r2.summary["kv_utilisation_peak"] <= 1.0 + 1e-4
    by = r2.summary["by_replica"]
    assert by["0"]["arrivals"] + by["1"]["arrivals"] == routed.height
    # twice the GPU: answers come sooner
    assert r2.summary["time_to_outcome_p95"] < r1.summary["time_to_outcome_p95"]
    assert run(two).queries.equals(q)  # deterministic


def test_least_kv_needs_a_pool() -> None:
    with pytest.raises(ValueError, match="least-kv"):
        parse_scenario({"name": "x", "pool": "default", "n_queries": 5,
                        "arrivals": {"kind": "poisson", "rate": 1.0},
                        "gpu": {"replicas": 2, "router": "least-kv"}})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs(), st.integers(1, 3), st.sampled_from(["round-robin", "least-loaded",
                                                    "least-kv"]))
def test_replica_invariants(case: tuple[dict[str, Any], Pool], replicas: int,
                            router: str) -> None:
    sections, pool = case
    sections["gpu"] = {**sections["gpu"], "replicas": replicas, "router": router}
    sc = scenario(**sections)
    res = run(sc, pool=pool)
    q = res.queries
    # every arrival exactly one outcome
    assert q.height == sc.n_queries and q["query"].to_list() == list(range(q.height))
    assert set(q["outcome"].unique()) <= {"correct", "wrong", "abandoned", "expired",
                                          "timed_out"}
    assert not q["end_time"].is_nan().any()
    # KV held per replica never above the pool (on-demand: within the fluid rounding)
    kv = res.kv
    assert kv is not None
    cap = float(sc.gpu.kv_tokens or 0)
    assert (kv["kv_peak"] <= cap + 0.5 + 1e-6).all()
    assert (kv["kv_mean"] <= kv["kv_peak"] + 1e-6).all() and (kv["kv_mean"] >= -1e-6).all()
    if replicas > 1:
        r = q["replica"].to_numpy()
        assert ((r >= -1) & (r < replicas)).all()
        assert (r[q["cap"].to_numpy() > 0] >= 0).all()
        assert set(np.unique(kv["replica"].to_numpy())) <= set(range(replicas))
    else:
        assert "replica" not in q.columns
    assert res.summary["preemptions"] == int(q["preemptions"].sum())
    # decode tokens conserved over the replicas (a timed-out query counts whole tokens)
    timed = int((q["outcome"] == "timed_out").sum())
    total = float(q["tokens_generated"].sum())
    gpu_tokens = float(res.gpu["tokens"].sum())
    assert total - 1e-6 <= gpu_tokens <= total + timed + 1e-6 * max(1.0, total)


@pytest.mark.parametrize(("gpu", "msg"), [
    ({"replicas": 0}, "gpu.replicas"),
    ({"replicas": 1.5}, "gpu.replicas"),
    ({"router": "random"}, "gpu.router"),
    ({"replicas": 2, "router": "least-kv"}, "gpu: router 'least-kv' needs a KV pool"),
])
def test_bad_replica_input_is_one_line(gpu: dict[str, object], msg: str) -> None:
    from simulator.errors import UserError

    with pytest.raises(UserError) as info:
        parse_scenario({"arrivals": {"kind": "poisson", "rate": 1.0},
                        "allocator": {"budget_rate": 100.0}, "n_queries": 5, "gpu": gpu})
    assert msg in str(info.value) and "\n" not in str(info.value)


def test_cli_bad_router_exits_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    bad = subprocess.run([sys.executable, "-m", "simulator.cli.main", "run",
                          str(REPO / "scenarios" / "balanced.yaml"), "--set",
                          "gpu.router=random", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "gpu.router" in bad.stderr
    assert bad.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


def test_describe_names_the_replicas() -> None:
    from simulator.comparison.describe import describe, scenario_facts

    text = describe(scenario_facts(load_scenario(REPO / "scenarios" /
                                                 "reasoning-h100-replicas.yaml"), [0]))
    assert "preset h100-qwen2.5-7b, 2 replicas (least-kv router)" in text
    one = describe(scenario_facts(load_scenario(REPO / "scenarios" / "balanced.yaml"), [0]))
    assert "replicas" not in one


@pytest.mark.parametrize("replicas", [1, 2])
def test_requests_larger_than_memory_get_a_note(replicas: int) -> None:
    # a pool too small for most requests used to expire them without a word
    sc = load_scenario(REPO / "scenarios" / "reasoning-h100-memory.yaml",
                       ["duration=60", "gpu.kv_tokens=3000", "gpu.admission=reserve-cap",
                        f"gpu.replicas={replicas}"])
    res = run(sc)
    n = int((res.queries["outcome"] == "expired").sum())
    assert n > 0
    assert res.summary["notes"] == [
        f"{n:,} requests could never fit in KV memory and expired at admission "
        "(gpu.kv_tokens 3,000 tokens; each needs prompt + cap); raise gpu.kv_tokens or "
        "pick a preset with more memory"]
    assert "notes" not in run(load_scenario(REPO / "scenarios" / "reasoning-h100-memory.yaml",
                                            ["duration=60"])).summary


def test_compare_prints_a_kind_of_note_once(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli.main import main

    assert main(["compare", str(REPO / "scenarios" / "reasoning-h100-memory.yaml"),
                 "--set", "duration=30", "--set", "gpu.kv_tokens=3000", "--policies",
                 "uniform,clear", "--seeds", "2", "--outputs", "json",
                 "--out", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert err.count("could never fit in KV memory") == 1
    assert "clearsim compare: note (uniform, seed 0; once for all runs): " in err
