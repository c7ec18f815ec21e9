"""Two identical `predictor train` runs give byte-identical model files, whatever their
names (torch's zip used to record the random temporary name of the atomic write)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl

from simulator.cli.main import main


def test_identical_trainings_give_identical_bytes(tmp_path: Path) -> None:
    src = tmp_path / "r.csv"
    pl.DataFrame({"id": [f"q{i // 4}" for i in range(80)], "benchmark": ["toy"] * 80,
                  "length": [50 + 37 * i % 900 for i in range(80)],
                  "correct": [i % 3 == 0 for i in range(80)]}).write_csv(src)
    pool = tmp_path / "pool.parquet"
    assert main(["pool", "import", str(src), "-o", str(pool)]) == 0
    paths = [tmp_path / "a.pt", tmp_path / "sub" / "other-name.pt"]
    for path in paths:
        assert main(["predictor", "train", "--pool", str(pool), "--out", str(path),
                     "--epochs", "2", "--seed", "3"]) == 0
    first, second = (p.read_bytes() for p in paths)
    assert first == second
    names = zipfile.ZipFile(paths[0]).namelist()
    assert all(n.startswith("model/") for n in names), names
    assert not [p.name for p in tmp_path.rglob(".*")]  # no temporaries left
