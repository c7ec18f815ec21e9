"""The predictor-noise stress test: CLI end to end, CRN, intervals, acceptance figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from simulator.cli.main import main
from simulator.experiments.stress import STRESS_SCHEMA, paired_difference, run_stress, summarise
from simulator.pools.pool import Pool, save_pool
from simulator.pools.source import resolve_pool
from tests.conftest import random_pool


@pytest.fixture(scope="module")
def small() -> Pool:
    return random_pool(120, 4, seed=3)


def test_cli_end_to_end(tmp_path: Path, small: Pool, capsys: pytest.CaptureFixture[str]
                        ) -> None:
    pool_file = save_pool(small, tmp_path / "pool.parquet")
    out = tmp_path / "run"
    argv = ["stress-noise", "--pool", str(pool_file), "--n", "40", "--budgets", "200,800",
            "--sigmas", "0,0.5", "--policies", "uniform,clear", "--seeds", "3",
            "--noise-kind", "difficulty", "--out", str(out)]
    assert main([*argv, "--json", "--compare", "clear,uniform"]) == 0
    doc = json.loads(capsys.readouterr().out)
    frame = pl.read_parquet(out / "stress.parquet")
    assert dict(frame.schema) == STRESS_SCHEMA
    assert frame.height == 2 * 2 * 2 * 3
    assert set(frame["noise_kind"]) == {"difficulty"} and set(frame["stream"]) == {"balanced"}
    assert len(doc["summary"]) == 8 and len(doc["paired"]) == 4
    assert main(argv) == 2  # the earlier results are not overwritten silently
    assert "exists; use --force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0
    text = capsys.readouterr().out
    assert "95% t-interval over 3 seeds" in text and "budget=800" in text
    assert not list(out.glob("*.tmp*"))


def test_cli_json_with_one_seed_is_valid_json(tmp_path: Path, small: Pool,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """One seed has no interval: the JSON says null, not the non-standard NaN."""
    pool_file = save_pool(small, tmp_path / "pool.parquet")
    assert main(["stress-noise", "--pool", str(pool_file), "--n", "20", "--sigmas", "0.3",
                 "--policies", "uniform,clear", "--seeds", "1", "--compare", "clear,uniform",
                 "--out", str(tmp_path / "run"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out, parse_constant=pytest.fail)
    rows = doc["summary"] + doc["paired"]
    assert rows and all(r["half"] is None and r["lo"] is None for r in rows)


@pytest.mark.parametrize("extra,message", [
    (["--noise-kind", "rank-swap", "--sigmas", "0,1.5"], "rank-swap level"),
    (["--sigmas", "-0.2"], "must be >= 0"),
    (["--policies", "clear,nope"], "unknown policy 'nope'"),
    (["--compare", "clear"], "exactly two policies"),
    (["--predictor-param", "slope"], "NAME=VALUE"),
])
def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                    message: str) -> None:
    assert main(["stress-noise", "--out", str(tmp_path), "--seeds", "1", *extra]) == 2
    assert message in capsys.readouterr().err


def test_bias_levels_may_be_negative(small: Pool) -> None:
    f = run_stress(small, "balanced", 30, [300], [-0.5, 0.5], ["clear"], [0], "bias",
                   predictor_params={"sigma": 0.1})
    assert f["sigma"].to_list() == [-0.5, 0.5]


def test_common_random_numbers_and_determinism(small: Pool) -> None:
    args = (small, "balanced", 50, [300.0], [0.0, 0.4])
    both = run_stress(*args, ["uniform", "clear"], [0, 1])
    alone = run_stress(*args, ["clear"], [0, 1])
    again = run_stress(*args, ["uniform", "clear"], [0, 1])
    assert both.equals(again)
    assert both.filter(pl.col("policy") == "clear").equals(alone)


def test_summary_is_a_student_t_interval() -> None:
    acc = [0.30, 0.32, 0.35, 0.31]
    frame = pl.DataFrame({"policy": ["p"] * 4, "stream": ["s"] * 4, "noise_kind": ["k"] * 4,
                          "sigma": [0.3] * 4, "budget": [256.0] * 4, "seed": [0, 1, 2, 3],
                          "n": [1] * 4, "accuracy": acc, "tokens": [1.0] * 4,
                          "abandonment": [0.0] * 4}, schema=STRESS_SCHEMA)
    row = summarise(frame).row(0, named=True)
    half = stats.t.ppf(0.975, 3) * np.std(acc, ddof=1) / 2
    assert row["mean"] == pytest.approx(np.mean(acc)) and row["half"] == pytest.approx(half)
    assert row["lo"] == pytest.approx(np.mean(acc) - half)


@pytest.fixture(scope="module")
def acceptance() -> pl.DataFrame:
    """Default pool, balanced stream, mean budget 256, 10 seeds (about 2 s)."""
    sigmas = [round(0.1 * i, 1) for i in range(11)]
    return run_stress(resolve_pool("default"), "balanced", 500, [256], sigmas,
                      ["uniform", "clear", "clear-calibrated"], range(10))


def test_clear_beats_uniform_at_every_sigma(acceptance: pl.DataFrame) -> None:
    d = paired_difference(acceptance, "clear", "uniform")
    assert d.height == 11 and (d["lo"] > 0.1).all()


def test_calibrated_beats_clear_from_moderate_noise(acceptance: pl.DataFrame) -> None:
    d = paired_difference(acceptance, "clear-calibrated", "clear")
    # by more than the paired 95% interval from sigma 0.4 on (0.6 is the point)
    assert (d.filter(pl.col("sigma") >= 0.4)["lo"] > 0).all()
    assert d.filter(pl.col("sigma") == 0.6).row(0, named=True)["mean"] > 0.01
    # Measured, not hoped for: at sigma <= 0.3 it is level with clear, never behind by
    # more than the interval (docs/predictors.md and bench/calibrated_ceiling.py: even
    # a ceiling that knows every query's true q and tau gains only ~0.0015 at 0.3).
    low = d.filter(pl.col("sigma") <= 0.3)
    assert (low["hi"] > 0).all() and (low["mean"].abs() < 0.005).all()


def test_calibrated_beats_clear_on_real_rollouts_under_heavy_noise(tmp_path: Path) -> None:
    """The same effect on the real THIP rollouts (skipped without ../shared)."""
    from simulator.pools.pool import load_pool
    from tests.conftest import require_shared

    out = tmp_path / "thip.parquet"
    assert main(["pool", "import", str(require_shared() / "raw"), "-o", str(out)]) == 0
    frame = run_stress(load_pool(out), "balanced", 500, [256], [0.6, 1.0],
                       ["clear", "clear-calibrated"], range(10))
    d = paired_difference(frame, "clear-calibrated", "clear")
    assert (d["lo"] > 0).all(), d
