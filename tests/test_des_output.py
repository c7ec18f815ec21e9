"""``clearsim run`` outputs: files, schemas, summary keys, and atomic folder swaps."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from simulator.cli.main import main
from simulator.des import runner
from simulator.des.records import GPU_SCHEMA, QUERY_SCHEMA, TICK_SCHEMA
from simulator.metrics import summarize, windowed

SUMMARY_KEYS = {"arrivals", "accuracy", "abandonment_rate", "tokens_per_query",
                "latency_p50", "latency_p95", "latency_p99", "mean_latency",
                "goodput_per_1k_tokens", "sim_seconds", "wall_seconds", "policy", "seed",
                "clearsim_version", "correct_within_slo_per_s"}


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump({
        "arrivals": {"kind": "poisson", "rate": 4.0},
        "allocator": {"policy": "clear", "budget_rate": 800},
        "duration": 30, "output": {"slo": 10.0, "gpu_window": 5.0},
    }))
    return p


def test_run_writes_every_file(tmp_path: Path, scenario_file: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["run", str(scenario_file), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "gpu.parquet", "queries.parquet", "scenario.resolved.yaml", "summary.json",
        "ticks.parquet"]
    q = pl.read_parquet(out / "queries.parquet")
    assert q.schema == pl.Schema(QUERY_SCHEMA)
    assert pl.read_parquet(out / "ticks.parquet").schema == pl.Schema(TICK_SCHEMA)
    assert pl.read_parquet(out / "gpu.parquet").schema == pl.Schema(GPU_SCHEMA)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= SUMMARY_KEYS
    assert summary["arrivals"] == q.height
    again = summarize(q, summary["sim_seconds"], 10.0)
    assert again["accuracy"] == summary["accuracy"]
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    assert resolved["gpu"]["max_seqs"] == 256 and resolved["name"] == "small"
    assert "arrivals over" in capsys.readouterr().out
    w = windowed(q, 10.0, slo=10.0)
    assert w["arrivals"].sum() == q.height and "correct_within_slo_per_s" in w.columns


def test_existing_folder_needs_force_and_is_swapped_whole(
        tmp_path: Path, scenario_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    assert main(["run", str(scenario_file), "--out", str(out)]) == 2
    assert (out / "keep.txt").read_text() == "old"

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("crash mid-run")

    monkeypatch.setattr(runner, "simulate", boom)
    with pytest.raises(RuntimeError):
        main(["run", str(scenario_file), "--out", str(out), "--force"])
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    monkeypatch.undo()
    assert main(["run", str(scenario_file), "--out", str(out), "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "summary.json").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_python_api_is_lazy_and_matches_cli(tmp_path: Path, scenario_file: Path) -> None:
    import simulator
    from simulator.scenario.io import load_scenario

    sc = load_scenario(scenario_file)
    res = simulator.run(sc)
    assert isinstance(res, simulator.RunResult)
    assert main(["run", str(scenario_file), "--out", str(tmp_path / "o")]) == 0
    disk = pl.read_parquet(tmp_path / "o" / "queries.parquet")
    assert res.queries.equals(disk)
    uni = simulator.run(sc, policy="uniform")
    assert uni.summary["policy"] == "uniform"
    assert uni.queries["predicted_threshold"].equals(res.queries["predicted_threshold"])


def test_zero_arrivals_prints_dashes_and_keeps_summary_clean(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # regression: the CLI crashed formatting accuracy None with zero arrivals
    p = tmp_path / "empty.yaml"
    p.write_text(yaml.safe_dump({
        "arrivals": {"kind": "piecewise", "schedule": [{"time": 0, "rate": 0}]},
        "allocator": {"policy": "clear", "budget_rate": 800},
        "duration": 5, "output": {"slo": 10.0},
    }))
    assert main(["run", str(p), "--out", str(tmp_path / "o")]) == 0
    line = capsys.readouterr().out
    assert "0 arrivals" in line and "accuracy -" in line and "latency p50 -" in line
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["arrivals"] == 0 and summary["accuracy"] is None
    assert summary["correct_within_slo_per_s"] == 0.0
    assert not [k for k in summary if k.startswith("_")]
    assert pl.read_parquet(tmp_path / "o" / "queries.parquet").height == 0


def test_summary_without_sim_time_has_no_internal_keys() -> None:
    # regression: '_correct_within_slo' leaked into the summary when sim_seconds == 0
    empty = pl.DataFrame(schema=QUERY_SCHEMA)
    out = summarize(empty, 0.0, slo=5.0)
    assert out["correct_within_slo_per_s"] == 0.0 and out["arrivals"] == 0
    assert not [k for k in out if k.startswith("_")]
