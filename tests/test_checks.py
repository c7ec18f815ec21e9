"""The number checks (simulator.checks) as the scenario models, CLI types and pool readers
use them, and the run-size estimate checked before a run."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from simulator.checks import MAX_MAGNITUDE, bad_counts, check_size, finite_problem, number
from simulator.cli._args import finite, float_list, fraction
from simulator.errors import UserError
from simulator.pools.importer import import_pool
from simulator.scenario.io import dump_scenario, parse_scenario
from simulator.scenario.size import estimate
from tests.sweep_helpers import TINY_SCENARIO


def _error(overrides: list[str]) -> str:
    with pytest.raises(UserError) as info:
        parse_scenario(TINY_SCENARIO, overrides)
    return str(info.value)


@pytest.mark.parametrize("override,needles", [
    ("arrivals.rate=.inf", ("arrivals.rate", "finite")),
    ("arrivals.rate=.nan", ("arrivals.rate", "finite")),
    ("allocator.budget_rate=.inf", ("allocator.budget_rate", "finite")),
    ("allocator.window=1e300", ("allocator.window", "at most 1e+09")),
    ("gpu.s0=1e308", ("gpu.s0", "3600")),  # its own bound (s) is tighter
    ("gpu.p1=-.inf", ("gpu.p1", "finite")),
    ("stream=[1, 1, 1, 1.0e300]", ("stream.mix", "[3]", "at most")),
    ("allocator.params.kappa=.inf", ("allocator.params", "kappa", "finite")),
    ("predictor.params.sigma=.nan", ("predictor.params", "sigma", "finite")),
    ("output.slo=.inf", ("output.slo", "finite")),
])
def test_scenario_refuses_non_finite_and_huge(override: str, needles: tuple[str, ...]) -> None:
    msg = _error([override])
    for needle in needles:
        assert needle in msg, msg


@pytest.mark.parametrize("override,needles", [
    ("allocator.period=1e-7", ("3e+08 allocator ticks", "30 s", "allocator.period", "limits.max_ticks")),
    ("n_queries=1000000000000", ("1e+12 arrivals", "limits.max_arrivals")),
    ("output.gpu_window=1e-9", ("GPU windows", "output.gpu_window", "limits.max_gpu_windows")),
])
def test_run_size_is_estimated_before_the_run(override: str, needles: tuple[str, ...]) -> None:
    msg = _error([override])
    assert msg.startswith("scenario: this run would need about"), msg
    for needle in needles:
        assert needle in msg, msg


def test_a_raised_limit_lets_a_big_run_through_and_shows_in_the_dump() -> None:
    _error(["allocator.period=0.000001"])  # 30 s / 1e-6 s = 3e7 ticks > 1e7
    sc = parse_scenario(TINY_SCENARIO, ["allocator.period=0.000001",
                                        "limits.max_ticks=50000000"])
    est = estimate(sc)
    assert est is not None and est["ticks"] == pytest.approx(3e7)
    assert "max_ticks: 50000000" in dump_scenario(sc)
    # Default limits stay out of dumps (resolved YAML and sweep fingerprints unchanged).
    assert "limits" not in dump_scenario(parse_scenario(TINY_SCENARIO))


def test_piecewise_estimate_integrates_the_rate() -> None:
    sc = parse_scenario({**TINY_SCENARIO, "n_queries": None, "duration": 100.0,
                         "arrivals": {"kind": "piecewise", "schedule": [
                             {"time": 0, "rate": 1.0}, {"time": 50, "rate": 3.0}]}})
    est = estimate(sc)
    assert est is not None and est["arrivals"] == pytest.approx(200.0)
    sc = parse_scenario({**TINY_SCENARIO, "n_queries": 80, "arrivals": {
        "kind": "piecewise", "schedule": [{"time": 0, "rate": 1.0}, {"time": 50, "rate": 0}]}})
    est = estimate(sc)
    assert est is not None and est["horizon"] == 50.0  # the rate dies out at 50 s


def test_number_and_problems() -> None:
    assert number("2.5", "--x", lo=0) == 2.5
    for text in ("inf", "nan", "1e400", "-1e10"):
        with pytest.raises(UserError, match="--x"):
            number(text, "--x")
    with pytest.raises(UserError, match="expected a number > 0"):
        number("0", "--x", lo=0, lo_open=True)
    assert finite_problem({"a": [1, 2.0, "x", None, True]}) is None
    assert "a.b[1]" in str(finite_problem({"a": {"b": [0.0, math.inf]}}))
    assert finite_problem(MAX_MAGNITUDE) is None
    assert "at most" in str(finite_problem(MAX_MAGNITUDE * 2))


def test_cli_number_types() -> None:
    assert float_list("64, 128") == [64.0, 128.0]
    assert finite("-3") == -3.0 and fraction("0.2") == 0.2
    for fn, text in ((float_list, "64,inf"), (float_list, "-1"), (float_list, ","),
                     (finite, "nan"), (fraction, "1"), (fraction, "0"), (fraction, "x")):
        with pytest.raises(argparse.ArgumentTypeError):
            fn(text)


def test_bad_counts() -> None:
    v = np.array([1, 0, 2.5, np.nan, np.inf, 1e10, 7])
    assert bad_counts(v, 1).tolist() == [False, True, True, True, True, True, False]


def test_check_size_message() -> None:
    check_size(10, 10, "ticks", "fix")
    with pytest.raises(UserError, match="about 2e\\+07 ticks, over the limit of 1e\\+07; fix"):
        check_size(2e7, 1e7, "ticks", "fix")
    with pytest.raises(UserError, match="infinitely many"):
        check_size(math.inf, 1, "ticks", "fix")


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-5", "2.5", "1e12"])
def test_pool_reader_refuses_bad_lengths(tmp_path: Path, value: str) -> None:
    path = tmp_path / "r.csv"
    path.write_text(f"id,benchmark,length,correct\na,x,100,1\na,x,{value},0\n")
    with pytest.raises(UserError, match="column 'length', row 2"):
        import_pool([str(path)])


@pytest.mark.parametrize("value", ["1e400", "NaN", "10" * 200, "-1"])
def test_thip_reader_refuses_bad_lengths(tmp_path: Path, value: str) -> None:
    path = tmp_path / "generation.jsonl"
    path.write_text(f'{{"id": 1, "response_length": [{value}, 3], '
                    '"correct": [true, false]}\n')
    with pytest.raises(UserError, match="field 'response_length'"):
        import_pool([str(path)], benchmark="b")


def test_pool_reader_keeps_missing_optional_counts(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    pl.DataFrame({"id": ["a", "a"], "benchmark": ["x", "x"], "length": [100, 5],
                  "correct": [1, 0], "prompt_tokens": [None, 3]}).write_csv(path)
    assert len(import_pool([str(path)])) == 1
