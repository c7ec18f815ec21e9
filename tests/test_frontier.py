"""The static frontier and the 'clearsim frontier' command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from predictors.base import make_predictor
from simulator.cli.main import main
from simulator.experiments.frontier import run_frontier, score_batch
from simulator.pools.pool import save_pool
from tests.conftest import random_pool

POLICIES = ["uniform", "tale", "clear-heuristic", "clear-cutoff", "clear", "oracle"]


def test_frontier_rows_and_oracle_bound() -> None:
    pool = random_pool(300, 8, seed=2)
    frame = run_frontier(pool, "balanced", 200, [64, 256, 1024, 4096], POLICIES,
                         make_predictor("noisy-oracle", sigma=0.3), seed=0)
    assert frame.height == len(POLICIES) * 4
    for b in (64, 256, 1024, 4096):
        sub = frame.filter(frame["mean_budget"] == b)
        acc = dict(zip(sub["policy"], sub["accuracy"], strict=True))
        assert all(v <= acc["oracle"] + 1e-12 for v in acc.values()), (b, acc)
    again = run_frontier(pool, "balanced", 200, [64, 256, 1024, 4096], POLICIES,
                         make_predictor("noisy-oracle", sigma=0.3), seed=0)
    assert frame.equals(again)


def test_score_batch_counts_abandonment(toy_pool: object) -> None:
    pool = random_pool(20, 4, seed=5)
    pred = make_predictor("oracle").predict(pool, np.arange(20), np.random.default_rng(0))
    s = score_batch(pool, pred, 0.0, "clear")
    assert s.accuracy == 0 and s.abandonment_rate == 1.0


def test_cli_json(tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pool.parquet"  # type: ignore[operator]
    save_pool(random_pool(100, 4, seed=3), path)
    code = main(["frontier", "--pool", str(path), "--n", "50", "--budgets", "128,512",
                 "--policies", "uniform,clear", "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4
    assert set(rows[0]) == {"policy", "stream", "mean_budget", "accuracy",
                            "tokens_per_query", "abandonment_rate"}


@pytest.mark.parametrize("argv, needle", [
    (["frontier", "--budgets", "a,b"], "--budgets"),
    (["frontier", "--policies", "uniform,bogus"], "unknown policy 'bogus'"),
    (["frontier", "--stream", "sideways"], "unknown stream 'sideways'"),
    (["frontier", "--pool", "/nonexistent.parquet"], "pool file not found"),
    (["frontier", "--n", "0"], "--n"),
    (["frontier", "--noise", "-1"], "--noise"),
])
def test_cli_errors_are_one_line_exit_2(argv: list[str], needle: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def _acc_at(frame: object, budget: float) -> dict[str, float]:
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    sub = frame.filter(pl.col("mean_budget") == budget)
    return dict(zip(sub["policy"].to_list(), sub["accuracy"].to_list(), strict=True))


BUDGETS = [64, 128, 256, 512, 1024, 2048]


def test_paper_effect_on_default_pool() -> None:
    from simulator.pools.source import resolve_pool

    frame = run_frontier(resolve_pool("default"), "balanced", 500, BUDGETS, POLICIES,
                         make_predictor("noisy-oracle", sigma=0.3), seed=0)
    acc = _acc_at(frame, 256)
    assert acc["clear"] >= 2.5 * acc["uniform"], acc
    for b in BUDGETS:
        at = _acc_at(frame, b)
        assert max(at.values()) <= at["oracle"] + 1e-12, (b, at)


def test_paper_effect_on_real_thip_pool(tmp_path: pytest.TempPathFactory) -> None:
    from tests.conftest import require_shared

    raw = require_shared() / "raw"
    out = tmp_path / "thip.parquet"  # type: ignore[operator]
    assert main(["pool", "import", str(raw), "-o", str(out)]) == 0
    from simulator.pools.pool import load_pool

    frame = run_frontier(load_pool(out), "balanced", 500, BUDGETS, POLICIES,
                         make_predictor("noisy-oracle", sigma=0.3), seed=0)
    acc = _acc_at(frame, 256)
    assert acc["clear"] >= 2.0 * acc["uniform"], acc
    for b in BUDGETS:
        at = _acc_at(frame, b)
        assert max(at.values()) <= at["oracle"] + 1e-12, (b, at)


def test_unknown_policy_param_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["frontier", "--n", "20", "--budgets", "256", "--policies", "clear",
                 "--param", "clear.kapa=2"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "unknown parameter 'kapa' for policy 'clear'" in err
    assert len(err.splitlines()) == 1


def test_frontier_with_a_learned_model_on_held_out_queries(
        tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model.pt"  # type: ignore[operator]
    assert main(["predictor", "train", "--pool", "default", "--out", str(model),
                 "--epochs", "2"]) == 0
    capsys.readouterr()
    assert main(["frontier", "--predictor", "learned", "--predictor-param",
                 f"model={model}", "--held-out", "--n", "100", "--budgets", "256",
                 "--policies", "uniform,clear", "--json"]) == 0
    out, err = capsys.readouterr()
    assert [r["policy"] for r in json.loads(out)] == ["uniform", "clear"]
    assert "samples them with repeats" not in err
    assert main(["frontier", "--predictor", "learned", "--predictor-param",
                 f"model={model}", "--held-out", "--n", "2000", "--budgets", "256",
                 "--policies", "clear", "--json"]) == 0
    assert "each batch of --n 2000 samples them with repeats" in capsys.readouterr().err
    assert main(["frontier", "--held-out", "--n", "10"]) == 2
    assert "--held-out needs a trained predictor" in capsys.readouterr().err
