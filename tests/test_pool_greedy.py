"""The embedded default-greedy pool (K = 1) and the pool derivations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simulator.cli.main import main
from simulator.pools.derive import first_rollout, recap
from simulator.pools.embedded.calibration import BENCHMARKS, REAL_GREEDY
from simulator.pools.source import EMBEDDED_POOLS, is_embedded, resolve_pool
from tests.conftest import make_pool


def test_greedy_pool_is_the_default_queries_with_one_rollout() -> None:
    default, greedy = resolve_pool("default"), resolve_pool("default-greedy")
    assert (greedy.n_rollouts == 1).all()
    assert np.array_equal(default.ids, greedy.ids)
    assert default.frame["text"].equals(greedy.frame["text"])
    assert greedy.frame.equals(resolve_pool("default-greedy", seed=0).frame)
    assert not greedy.frame.equals(resolve_pool("default-greedy", seed=1).frame)


@pytest.mark.parametrize("bench", ["math500", "minerva_math"])
def test_greedy_pool_matches_its_calibration(bench: str) -> None:
    pool = resolve_pool("default-greedy")
    mask = pool.benchmarks == bench
    fig = REAL_GREEDY[bench]
    acc = float(pool.accuracy_at(pool.max_tokens.astype(float))[mask].mean())
    assert abs(acc - fig.accuracy) < 0.03
    capped = (pool.lengths[mask, 0] >= pool.max_tokens[mask]).mean()
    assert abs(capped - fig.cap_fraction) < 0.04
    assert set(REAL_GREEDY) == set(BENCHMARKS)


def test_embedded_names() -> None:
    assert EMBEDDED_POOLS == ("default", "default-greedy")
    assert is_embedded("default-greedy") and not is_embedded("pool.parquet")


def test_default_greedy_from_the_cli_and_a_scenario(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frontier", "--pool", "default-greedy", "--budgets", "256", "--n", "50",
                 "--policies", "uniform,oracle", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["policy"] for r in rows] == ["uniform", "oracle"]
    from simulator.scenario.io import load_scenario

    text = (Path(__file__).resolve().parents[1] / "scenarios" / "balanced.yaml").read_text()
    src = tmp_path / "s.yaml"
    src.write_text(text.replace("pool: default", "pool: default-greedy"))
    assert load_scenario(src).pool.source == "default-greedy"   # not made a path


def test_first_rollout_and_recap() -> None:
    pool = make_pool([[100, 200], [3000, 50]], [[True, False], [True, True]], cap=4000)
    one = first_rollout(pool)
    assert one.lengths[:, 0].tolist() == [100, 3000] and (one.n_rollouts == 1).all()
    cut = recap(pool, 1024)
    assert cut.max_tokens.tolist() == [1024, 1024]
    assert cut.lengths[1].tolist() == [1024, 50]
    assert cut.correct[1].tolist() == [False, True]   # cut before it finished
    with pytest.raises(ValueError, match="cap"):
        recap(pool, 0)
