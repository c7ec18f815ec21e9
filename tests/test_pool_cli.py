"""``clearsim pool import`` and ``clearsim pool inspect`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from simulator.cli.main import main
from simulator.pools.pool import load_pool
from tests.conftest import require_shared


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "r.csv"
    pl.DataFrame({"id": ["a", "a", "b"], "benchmark": ["toy"] * 3,
                  "length": [100, 300, 50], "correct": [1, 0, 1]}).write_csv(path)
    return path


def test_import_then_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pool.parquet"
    assert main(["pool", "import", str(_csv(tmp_path)), "-o", str(out),
                 "--max-tokens", "1000"]) == 0
    assert "2 queries, 3 rollouts, K 1-2" in capsys.readouterr().out
    assert load_pool(out).max_tokens.tolist() == [1000, 1000]
    assert main(["pool", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "toy" in text and "accuracy at budget" in text and "16384" in text
    assert main(["pool", "inspect", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    toy = info["benchmarks"]["toy"]
    assert info["queries"] == 2 and toy["rollouts"] == 3
    # b (50 tokens, correct) is solved from 64; a's correct 100-token rollout from 128.
    assert toy["accuracy_at_budget"]["64"] == 0.5
    assert toy["accuracy_at_budget"]["128"] == 0.75
    assert toy["accuracy"] == 0.75 and toy["solvable"] == 1.0


def test_inspect_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pool", "inspect", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["pool"] == "default" and info["k_min"] >= 8
    assert set(info["benchmarks"]) == {"math500", "minerva_math", "aime2024", "aime2025", "all"}
    assert 0.05 < info["benchmarks"]["all"]["accuracy_at_budget"]["256"] < 0.16


@pytest.mark.parametrize("content", ["id,benchmark,length,correct\na,toy,-1,1\n",
                                     "id,benchmark,length\na,toy,3\n",
                                     "\x00\x01garbage"])
def test_bad_file_is_one_line_exit_2(tmp_path: Path, content: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content)
    assert main(["pool", "import", str(bad), "-o", str(tmp_path / "p.parquet")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("clearsim: error: ") and err.count("\n") == 1
    assert str(bad) in err
    assert not (tmp_path / "p.parquet").exists()


def test_bad_pool_file_and_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.parquet"
    junk.write_text("junk")
    assert main(["pool", "inspect", str(junk)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        main(["pool", "import", str(junk), "-o", "x.parquet", "--max-tokens", "-3"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_import_real_thip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = require_shared() / "raw"
    out = tmp_path / "thip.parquet"
    assert main(["pool", "import", str(root), "-o", str(out)]) == 0
    assert "832 queries, 2284 rollouts" in capsys.readouterr().out
    assert main(["pool", "inspect", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["benchmarks"]["math500"]["queries"] == 500
