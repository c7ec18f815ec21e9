"""Capacity search: bisection edges, direction, SLO parsing, and the CLI on a tiny scenario."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from simulator.cli.main import main
from simulator.errors import UserError
from simulator.scenario.io import parse_scenario
from simulator.scenario.models import Scenario
from simulator.sweep.capacity import capacity_search, default_bracket
from simulator.sweep.slo import Slo, failed_slos, parse_slos
from tests.sweep_helpers import TINY_SCENARIO, write_scenario

BASE = parse_scenario(TINY_SCENARIO)


def fake_run(s: Scenario) -> Mapping[str, Any]:
    """Latency grows with the arrival rate, accuracy with the budget rate."""
    rate, budget = s.arrivals.rate, float(s.allocator.budget_rate)  # type: ignore[union-attr]
    return {"latency_p95": 2.0 * rate, "accuracy": budget / (budget + 1000.0),
            "latency_p50": None, "wall_seconds": 0.1}


def test_parse_slos_and_check() -> None:
    slos = parse_slos("latency_p95<=30, accuracy>=0.5")
    assert slos == [Slo("latency_p95", "<=", 30.0), Slo("accuracy", ">=", 0.5)]
    assert failed_slos(slos, {"latency_p95": 31.0, "accuracy": 0.5}) == [slos[0]]
    assert failed_slos(slos, {"latency_p95": None, "accuracy": 0.9}) == [slos[0]]
    for bad, needle in [("accuracy=0.5", "expected METRIC OP NUMBER"),
                        ("accuracy>=x", "'x' is not a number"), (" , ", "at least one"),
                        ("accuracy>=inf", "finite")]:
        with pytest.raises(UserError, match=needle):
            parse_slos(bad)


def test_bisects_highest_rate() -> None:
    # latency_p95 = 2 * rate <= 30  <=>  rate <= 15
    res = capacity_search(BASE, "arrivals.rate", parse_slos("latency_p95<=30"), 1.0, 40.0,
                          fake_run, tol=0.01)
    assert res.direction == "max" and res.answer is not None and res.bracket is not None
    assert 15.0 - 0.01 <= res.answer <= 15.0 < res.bracket[1] <= 15.0 + 0.01
    assert [p.passed for p in res.probes[:2]] == [True, False]
    assert all(p.passed == (p.value <= 15.0) for p in res.probes)


def test_bisects_lowest_budget_and_detects_direction() -> None:
    # accuracy = b / (b + 1000) >= 0.6  <=>  b >= 1500
    res = capacity_search(BASE, "allocator.budget_rate", parse_slos("accuracy>=0.6"),
                          100.0, 20000.0, fake_run, tol=1.0)
    assert res.direction == "min" and res.answer is not None
    assert 1500.0 <= res.answer <= 1501.0


def test_bounds_infeasible_probes_and_integers() -> None:
    slo = parse_slos("latency_p95<=30")
    at_bound = capacity_search(BASE, "arrivals.rate", slo, 1.0, 10.0, fake_run)
    assert at_bound.answer == 10.0 and at_bound.at_bound and len(at_bound.probes) == 2
    none = capacity_search(BASE, "arrivals.rate", slo, 20.0, 40.0, fake_run, direction="max")
    assert none.answer is None
    capped = capacity_search(BASE, "arrivals.rate", slo, 1.0, 40.0, fake_run, tol=1e-9,
                             max_probes=5)
    assert len(capped.probes) == 5
    ints = capacity_search(BASE, "n_queries", slo, 1.0, 40.0, fake_run, integer=True)
    assert all(float(p.value).is_integer() for p in ints.probes)
    assert default_bracket(BASE, "arrivals.rate") == pytest.approx((0.2, 20.0))
    assert default_bracket(BASE, "n_queries") == (6.0, 600.0)
    for lo, hi, text, needle in [(5.0, 1.0, "latency_p95<=30", "--lo must be < --hi"),
                                 (-1.0, 1.0, "latency_p95<=30",
                                  "--lo -1: arrivals.rate: Input should be greater"),
                                 (1.0, 2.0, "p95<=1", "unknown metric 'p95'")]:
        with pytest.raises(UserError, match=needle):
            capacity_search(BASE, "arrivals.rate", parse_slos(text), lo, hi, fake_run)


def test_explicit_direction_contradicted_by_the_ends_is_an_error() -> None:
    """lo passes and hi misses: with --direction min the old search said 'no value meets'."""
    slo = parse_slos("latency_p95<=30")
    with pytest.raises(UserError, match="--direction min: arrivals.rate = 1 meets the SLOs "
                       "but 40 does not.*use --direction max or auto"):
        capacity_search(BASE, "arrivals.rate", slo, 1.0, 40.0, fake_run, direction="min")
    ok = capacity_search(BASE, "arrivals.rate", slo, 1.0, 40.0, fake_run, direction="max")
    assert ok.answer is not None and ok.answer <= 15.0


def test_cli_on_a_tiny_scenario(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path, n_queries=150)
    # more arrivals share the same token budget rate: fewer tokens per query
    code = main(["capacity", str(scenario), "--slo", "tokens_per_query>=150", "--param",
                 "arrivals.rate", "--lo", "1", "--hi", "40", "--tol", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["probe", "arrivals.rate", "tokens_per_query", "result"]
    rows = [line.split() for line in lines[2:] if line.strip() and line.split()[0].isdigit()]
    assert len(rows) >= 4 and rows[0][-1] == "pass" and rows[1][-2:] == ["miss",
                                                                         "tokens_per_query>=150"]
    passing = [float(r[1]) for r in rows if r[-1] == "pass"]
    failing = [float(r[1]) for r in rows if r[-1] != "pass"]
    assert max(passing) < min(failing) <= max(passing) + 1.0
    assert lines[-1].startswith(f"arrivals.rate = {max(passing):g}: the highest value "
                                "meeting tokens_per_query>=150")

    code = main(["capacity", str(scenario), "--slo", "acc>=0.2", "--param", "arrivals.rate"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "unknown metric 'acc'; summary metrics: arrivals, correct, accuracy" in err

    code = main(["capacity", str(scenario), "--slo", "accuracy>=0.2", "--param", "arrivals.x"])
    assert code == 2 and "--param arrivals.x: no such scenario field" in capsys.readouterr().err
