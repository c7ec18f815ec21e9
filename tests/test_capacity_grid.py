"""Capacity with a grid scan: passing intervals when SLOs conflict, replicated probes
checked on the conservative confidence bound, and the CLI on balanced (short run)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from simulator.cli.main import main
from simulator.scenario.io import parse_scenario
from simulator.scenario.models import Scenario
from simulator.sweep.capacity import capacity_search, grid_values
from simulator.sweep.slo import parse_slos
from tests.sweep_helpers import TINY_SCENARIO

BASE = parse_scenario(TINY_SCENARIO)
BALANCED = Path(__file__).resolve().parent.parent / "scenarios" / "balanced.yaml"
PARAM = "allocator.budget_rate"


def rising(s: Scenario) -> Mapping[str, Any]:
    """Accuracy and latency both rise with the budget rate; seeds shift accuracy."""
    b = float(s.allocator.budget_rate)
    shift = (0.0, -0.01, 0.01)[s.seed - BASE.seed]
    return {"accuracy": b / 10000.0 + shift,
            "latency_p95": b / 100.0}


def test_grid_is_geometric_over_a_wide_range() -> None:
    g = grid_values(200.0, 8000.0, 9)
    assert g[0] == 200.0 and g[-1] == 8000.0 and len(g) == 9
    assert g[4] == pytest.approx((200.0 * 8000.0) ** 0.5)
    assert grid_values(1.0, 5.0, 5) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_conflicting_slos_give_the_passing_interval() -> None:
    slos = parse_slos("accuracy>=0.2,latency_p95<=30")  # passes on [2000, 3000]
    res = capacity_search(BASE, PARAM, slos, 200.0, 8000.0, rising, grid=9,
                          direction="min", max_probes=40, seeds=1)
    assert len(res.intervals) == 1
    low, high = res.intervals[0]
    tol = (8000.0 - 200.0) / 256.0
    assert 2000.0 <= low <= 2000.0 + tol and 3000.0 - tol <= high <= 3000.0
    assert res.answer == low and not res.at_bound
    assert res.bracket is not None and res.bracket[1] < 2000.0
    plain = capacity_search(BASE, PARAM, slos, 200.0, 8000.0, rising, direction="min",
                            seeds=1)
    assert plain.answer is None  # both ends fail: bisection alone cannot see the middle


def test_a_narrow_interval_between_grid_points_is_found() -> None:
    slos = parse_slos("accuracy>=0.25,latency_p95<=27")  # [2500, 2700]: no grid point
    res = capacity_search(BASE, PARAM, slos, 200.0, 8000.0, rising, grid=9,
                          direction="min", max_probes=40)
    assert not any(p.passed for p in res.probes[:9])
    assert len(res.intervals) == 1
    low, high = res.intervals[0]
    assert 2500.0 <= low <= high <= 2700.0


def test_replicated_probes_pass_on_the_lower_confidence_bound() -> None:
    slos = parse_slos("accuracy>=0.2")
    res = capacity_search(BASE, PARAM, slos, 200.0, 8000.0, rising, grid=9,
                          direction="min", max_probes=40, seeds=3)
    # the three seeds shift accuracy by 0, -0.01, +0.01: mean b/1e4, 95% half-width
    # t(0.975, 2) * 0.01 / sqrt(3) = 0.0248, so the lower bound reaches 0.2 at ~2248
    assert res.answer is not None and 2248.0 <= res.answer <= 2248.0 + 31.0
    mid = next(p for p in res.probes if p.value == 200.0)
    assert mid.metrics["accuracy"] == pytest.approx(0.02)  # the mean is shown


def test_cli_finds_the_interval_on_balanced(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["capacity", str(BALANCED), "--slo", "accuracy>=0.25,latency_p95<=14",
                 "--param", PARAM, "--lo", "200", "--hi", "8000", "--direction", "min",
                 "--set", "duration=120", "--max-probes", "16"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[-2].startswith(f"passing interval(s) of {PARAM}: [")
    assert "(seeds: 3)" in lines[-2]
    assert lines[-1].startswith(f"{PARAM} = ") and "the lowest value meeting" in lines[-1]
    value = lines[-1].split(" = ")[1].split(":")[0]
    assert value.isdigit()  # whole tokens/s: the precision of the search, not 6 digits


def test_conflicting_slos_report_where_each_holds_alone() -> None:
    slos = parse_slos("accuracy>=0.5,latency_p95<=30")  # 5000 up and 3000 down: no overlap
    res = capacity_search(BASE, PARAM, slos, 200.0, 8000.0, rising, grid=9,
                          direction="min", max_probes=40, seeds=1)
    assert res.answer is None and res.intervals == []
    tol = (8000.0 - 200.0) / 256.0
    acc = res.held["accuracy>=0.5"]
    lat = res.held["latency_p95<=30"]
    assert acc is not None and lat is not None
    assert 5000.0 <= acc[0] <= 5000.0 + tol and acc[1] == 8000.0
    assert lat[0] == 200.0 and 3000.0 - tol <= lat[1] <= 3000.0
    never = capacity_search(BASE, PARAM, parse_slos("accuracy>=2,latency_p95<=30"), 200.0,
                            8000.0, rising, grid=9, direction="min", max_probes=40)
    assert never.held["accuracy>=2"] is None


def test_probe_values_print_with_their_interval() -> None:
    from simulator.cli.capacity import _fmt

    assert _fmt(0.51724, 0.0317) == "0.517 ± 0.032"
    assert _fmt(410.86, 59.2) == "411 ± 59"
    assert _fmt(12.8612, 0.85) == "12.86 ± 0.85"
    assert _fmt(0.5, None) == "0.5" and _fmt(None) == "n/a"


def test_cli_reports_the_conflict_on_balanced(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's SLOs on balanced: accuracy >= 0.5 needs ~590 tokens per query, whose
    answers take far over 15 s at p95 on this GPU, so no budget meets both."""
    code = main(["capacity", str(BALANCED), "--slo", "accuracy>=0.5,latency_p95<=15",
                 "--param", PARAM, "--lo", "200", "--hi", "8000", "--direction", "min",
                 "--set", "duration=120", "--seeds", "2", "--max-probes", "20"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert " ± " in out  # probe metrics with their 95% half-width
    assert f"accuracy>=0.5 holds for {PARAM} in [" in out
    assert f"latency_p95<=15 holds for {PARAM} in [200, " in out
    assert "the SLOs conflict: no value meets all of them; the gap is (" in out
