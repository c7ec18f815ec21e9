"""The learned torch predictor: training, save/load, feature mismatch, CLI, real data."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from predictors.base import make_predictor
from simulator.errors import UserError
from simulator.pools.pool import Pool, save_pool
from simulator.seeds import rng_for
from tests.conftest import REPO, require_shared

torch = pytest.importorskip("torch")

from predictors.learned_model import load_model, save_model  # noqa: E402
from predictors.learned_train import auc, evaluate, train  # noqa: E402

WORDS = ["triangle", "prime", "sum", "integral", "matrix", "probability", "root", "area"]
SMALL: dict[str, Any] = {"epochs": 3, "word_dim": 32, "char_dim": 32}


def text_pool(n: int = 60, seed: int = 0, benchmarks: tuple[str, ...] = ("a", "b"),
              with_text: bool = True) -> Pool:
    """Queries whose length grows with level and with the word 'integral'."""
    rng = np.random.default_rng(seed)
    level = rng.integers(1, 6, n)
    hard = rng.uniform(size=n) < 0.3
    mu = 5.0 + 0.4 * level + 0.8 * hard
    lengths = np.clip(np.exp(mu[:, None] + rng.normal(0, 0.3, (n, 4))), 1, 16000).astype(int)
    texts = [" ".join(rng.choice(WORDS, 6)) + (" integral" if h else "") for h in hard]
    return Pool.from_frame(pl.DataFrame({
        "id": [f"q{i}" for i in range(n)],
        "benchmark": [benchmarks[i % len(benchmarks)] for i in range(n)],
        "text": texts if with_text else [None] * n,
        "level": level.tolist(),
        "prompt_tokens": rng.integers(20, 200, n).tolist(),
        "max_tokens": [16000] * n,
        "lengths": lengths.tolist(),
        "correct": (rng.uniform(size=(n, 4)) < (level[:, None] < 5)).tolist(),
    }, schema_overrides={"text": pl.String}))


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "m.pt"
    save_model(train(text_pool(), **SMALL), path)
    return path


def test_auc() -> None:
    y = np.array([False, False, True, True])
    assert auc(np.array([0.1, 0.2, 0.3, 0.4]), y) == 1.0
    assert auc(np.array([0.4, 0.3, 0.2, 0.1]), y) == 0.0
    assert auc(np.zeros(4), y) == 0.5
    assert auc(np.array([0.1, 0.35, 0.3, 0.4]), y) == 0.75
    assert np.isnan(auc(np.ones(3), np.ones(3, bool)))


def test_training_is_deterministic() -> None:
    a, b = train(text_pool(), seed=3, **SMALL), train(text_pool(), seed=3, **SMALL)
    for k, v in a.net.state_dict().items():
        assert torch.equal(v, b.net.state_dict()[k])
    assert a.metrics == b.metrics


def test_save_load_round_trip_predicts_identically(model_path: Path) -> None:
    pool = text_pool()
    idx = np.arange(len(pool))
    model = load_model(model_path)
    again = model_path.with_name("again.pt")
    save_model(model, again)
    p1 = make_predictor("learned", model=str(model_path)).predict(pool, idx, rng_for(0, "p"))
    p2 = make_predictor("learned", model=str(again)).predict(pool, idx, rng_for(9, "p"))
    assert np.array_equal(p1.thresholds, p2.thresholds)
    assert p1.solvability is not None and p2.solvability is not None
    assert np.array_equal(p1.solvability, p2.solvability)
    assert ((p1.solvability >= 0) & (p1.solvability <= 1)).all()
    assert p1.log_spread is not None
    assert np.allclose(p1.log_spread, model.log_spread)
    assert (p1.thresholds >= 1).all()


def test_learns_a_real_signal() -> None:
    pool = text_pool(300, seed=1)
    model = train(pool, epochs=20, word_dim=32, char_dim=32)
    assert model.metrics["r2"] > 0.3
    assert evaluate(model, pool) == model.metrics  # evaluate = the held-out split


def test_unseen_benchmark_is_a_clear_error(model_path: Path) -> None:
    p = make_predictor("learned", model=str(model_path))
    other = text_pool(benchmarks=("a", "zzz"))
    with pytest.raises(UserError, match="trained on benchmarks a, b; the pool also has zzz"):
        p.predict(other, np.arange(3), rng_for(0, "p"))


def test_text_model_on_pool_without_text_is_a_clear_error(model_path: Path) -> None:
    p = make_predictor("learned", model=str(model_path))
    with pytest.raises(UserError, match="uses text features but the pool has no"):
        p.predict(text_pool(with_text=False), np.arange(3), rng_for(0, "p"))


def test_edited_feature_config_is_a_clear_error(model_path: Path, tmp_path: Path) -> None:
    data = torch.load(model_path, weights_only=True)
    data["features"]["word_dim"] = 64           # weights were trained with 32
    bad = tmp_path / "bad.pt"
    torch.save(data, bad)
    with pytest.raises(UserError, match="do not match the stored feature config"):
        load_model(bad)
    data["features"]["version"] = 99
    torch.save(data, bad)
    with pytest.raises(UserError, match="feature version 99"):
        load_model(bad)


def test_foreign_files_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "x.pt").write_text("not a model")
    with pytest.raises(UserError, match="not a readable model file"):
        load_model(tmp_path / "x.pt")
    torch.save({"weights": 1}, tmp_path / "y.pt")
    with pytest.raises(UserError, match="not a clearsim learned-predictor"):
        load_model(tmp_path / "y.pt")
    with pytest.raises(UserError, match="model file not found"):
        make_predictor("learned", model=str(tmp_path / "none.pt"))


def test_no_text_pool_trains_without_text_features() -> None:
    model = train(text_pool(with_text=False), **SMALL)
    assert not model.features.use_text
    assert model.features.input_dim == 2 + 4


def test_import_predictors_does_not_import_torch() -> None:
    code = "import sys, predictors, simulator.cli.main as m; m.build_parser(); " \
           "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_train_and_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli.main import main

    pool_file = save_pool(text_pool(80, seed=2), tmp_path / "pool.parquet")
    out = tmp_path / "model.pt"
    assert main(["predictor", "train", "--pool", str(pool_file), "--out", str(out),
                 "--epochs", "2", "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert main(["predictor", "evaluate", "--pool", str(pool_file), "--model", str(out),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == trained
    assert set(trained) >= {"r2", "mae", "spread", "spread_sd", "auc"}
    assert main(["predictor", "evaluate", "--pool", "default", "--model", str(out)]) == 2
    assert "trained on benchmarks" in capsys.readouterr().err


def test_real_math500_rollouts(tmp_path: Path) -> None:
    """Acceptance: R^2 > 0 held out, and clear driven by it beats uniform at 256."""
    root = require_shared()
    from simulator.experiments.frontier import run_frontier
    from simulator.pools.importer import import_pool

    files = sorted(root.glob("raw/*/MATH/generation.jsonl"))
    if not files:
        pytest.skip(f"no raw/*/MATH/generation.jsonl under {root}")
    pool = import_pool(files)
    model = train(pool)
    assert model.metrics["r2"] > 0
    assert model.metrics["auc"] > 0.6
    held = pool.subset(np.flatnonzero(~np.isin(pool.ids, model.train_ids)))
    predictor = make_predictor("learned", model=str(save_model(model, tmp_path / "m.pt")))
    for seed in range(3):
        f = run_frontier(held, "balanced", 500, [256], ["uniform", "clear"], predictor, seed)
        acc = dict(zip(f["policy"], f["accuracy"], strict=True))
        assert acc["clear"] > acc["uniform"] + 0.1



def test_ragged_pool_trains_without_log_of_padding() -> None:
    """Queries with fewer rollouts are padded with 0 tokens; ln(0) must not be taken."""
    pool = text_pool(60, seed=4)
    ragged = pool.frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.col("lengths").list.head(2))
        .otherwise(pl.col("lengths")).alias("lengths"),
        pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.col("correct").list.head(2))
        .otherwise(pl.col("correct")).alias("correct"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = train(Pool.from_frame(ragged), **SMALL)
    assert model.metrics["rollouts"] < 4 * model.metrics["queries"]
    assert all(np.isfinite(model.metrics[k]) for k in ("r2", "mae", "spread"))


def test_failed_save_keeps_the_old_model_and_leaves_no_temporary(
        model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "m.pt"
    target.write_bytes(model_path.read_bytes())
    model = load_model(model_path)

    def broken(obj: object, f: str) -> None:
        Path(f).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, target)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
    assert target.read_bytes() == model_path.read_bytes()
