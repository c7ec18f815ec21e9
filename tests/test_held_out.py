"""No silent optimism: runs with a learned predictor draw only its held-out queries
unless told otherwise, and say so (summary, compare description, frontier note)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from simulator.cli.main import main

pytest.importorskip("torch")

BALANCED = Path(__file__).resolve().parent.parent / "scenarios" / "balanced.yaml"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from predictors.learned_model import save_model
    from predictors.learned_train import train
    from simulator.pools.source import resolve_pool

    path = tmp_path_factory.mktemp("model") / "m.pt"
    save_model(train(resolve_pool("default"), epochs=1, word_dim=32, char_dim=32), path)
    return path


def _learned(model: Path) -> list[str]:
    return ["--set", f"predictor={{kind: learned, params: {{model: {model}}}}}",
            "--set", "duration=60"]


def _train_ids(model: Path) -> set[str]:
    from predictors.learned_model import load_model

    return set(load_model(model).train_ids)


def test_run_draws_held_out_queries_only(model: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["run", str(BALANCED), *_learned(model), "--out", str(out)]) == 0
    assert "queries drawn: held-out" in capsys.readouterr().out
    ids = set(pl.read_parquet(out / "queries.parquet")["id"].to_list())
    train = _train_ids(model)
    assert ids and not ids & train
    summary = json.loads((out / "summary.json").read_text())
    assert summary["queries_drawn"] == "held-out"
    assert summary["held_out_queries"] == summary["pool_queries"] - len(train)
    both = tmp_path / "both"
    assert main(["run", str(BALANCED), *_learned(model), "--out", str(both),
                 "--include-training-queries"]) == 0
    ids = set(pl.read_parquet(both / "queries.parquet")["id"].to_list())
    assert ids & train  # explicitly asked for
    assert json.loads((both / "summary.json").read_text())["queries_drawn"] == \
        "all, including training"


def test_compare_and_frontier_say_so(model: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", str(BALANCED), *_learned(model), "--policies", "uniform,clear",
                 "--seeds", "2", "--outputs", "json", "--out", str(out),
                 "--include-training-queries"]) == 0
    doc = json.loads((out / "comparison.json").read_text())
    assert "INCLUDING the queries it was trained on" in doc["description"]
    assert doc["scenario"]["held_out"]["include_training"] is True
    capsys.readouterr()
    assert main(["compare", str(BALANCED), *_learned(model), "--policies", "uniform",
                 "--seeds", "1", "--outputs", "json", "--out", str(out), "--force"]) == 0
    doc = json.loads((out / "comparison.json").read_text())
    assert "drawing only its held-out queries" in doc["description"]
    assert main(["run", str(BALANCED), "--include-training-queries", "--out",
                 str(tmp_path / "x")]) == 2
    assert "only for predictor.kind learned" in capsys.readouterr().err
    assert main(["frontier", "--predictor", "learned", "--predictor-param",
                 f"model={model}", "--n", "50", "--budgets", "256", "--policies",
                 "uniform", "--json"]) == 0
    assert "drawing held-out queries (" in capsys.readouterr().err
