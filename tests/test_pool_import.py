"""Importing pools from generic per-rollout tables and THIP generation.jsonl files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.pools.importer import import_pool
from simulator.pools.pool import PoolError, save_pool
from simulator.pools.thip import benchmark_name
from tests.conftest import require_shared

ROWS: dict[str, list[Any]] = {
    "problem_id": ["p1", "p1", "p1", "p2", "p2", "p3"],
    "benchmark": ["math500"] * 6,
    "response_tokens": [100, 250, 16000, 40, 60, 900],
    "correct": [1, 0, 1, 1, 1, 0],
    "level": ["Level 3", "Level 3", "Level 3", "Level 1", "Level 1", None],
    "prompt_tokens": [80, 80, 80, 50, 50, 70],
}


def _write(frame: pl.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".jsonl":
        frame.write_ndjson(path)
    else:
        frame.write_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_generic_formats(tmp_path: Path, suffix: str) -> None:
    path = _write(pl.DataFrame(ROWS), tmp_path / f"r{suffix}")
    pool = import_pool([path], max_tokens=16384)
    assert list(pool.ids) == ["p1", "p2", "p3"]
    assert pool.frame["lengths"].to_list() == [[100, 250, 16000], [40, 60], [900]]
    assert pool.frame["correct"].to_list() == [[True, False, True], [True, True], [False]]
    assert pool.frame["level"].to_list() == [3, 1, None]
    assert (pool.max_tokens == 16384).all()


def test_default_cap_is_longest_length(tmp_path: Path) -> None:
    pool = import_pool([_write(pl.DataFrame(ROWS), tmp_path / "r.csv")])
    assert (pool.max_tokens == 16000).all()


def test_bool_and_string_grades_and_benchmark_option(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": [1, 1, 2], "length": [5.0, 7.0, 9.0],
                          "correct": ["true", "False", "1"]})
    pool = import_pool([_write(frame, tmp_path / "r.csv")], benchmark="aime25")
    assert list(pool.ids) == ["1", "2"] and set(pool.benchmarks) == {"aime2025"}
    assert pool.frame["correct"].to_list() == [[True, False], [True]]


def test_same_id_across_files_merges(tmp_path: Path) -> None:
    a = _write(pl.DataFrame(ROWS).head(3), tmp_path / "a.csv")
    b = _write(pl.DataFrame(ROWS).slice(2), tmp_path / "b.parquet")
    pool = import_pool([a, b])
    assert pool.frame["lengths"].to_list()[0] == [100, 250, 16000, 16000]


def test_pool_parquet_is_a_source(tmp_path: Path) -> None:
    first = import_pool([_write(pl.DataFrame(ROWS), tmp_path / "r.csv")])
    path = save_pool(first, tmp_path / "pool.parquet")
    again = import_pool([path])
    assert again.frame.equals(first.frame)


@pytest.mark.parametrize(("change", "column", "row", "words"), [
    ({"response_tokens": [100, -5, 1, 1, 1, 1]}, "response_tokens", 2, "integer >= 1"),
    ({"response_tokens": [100.0, 2.0, float("nan"), 1.0, 1.0, 1.0]}, "response_tokens", 3,
     "integer >= 1"),
    ({"response_tokens": [100, 2, None, 1, 1, 1]}, "response_tokens", 3, "integer >= 1"),
    ({"correct": [1, 0, 2, 1, 1, 0]}, "correct", 3, "not 0/1"),
    ({"problem_id": ["p1", None, "p1", "p2", "p2", "p3"]}, "problem_id", 2, "missing id"),
    ({"prompt_tokens": [1.0, 1.0, 1.0, 1.0, 1.5, 1.0]}, "prompt_tokens", 5, "integer >= 0"),
])
def test_bad_rows_name_file_column_and_row(tmp_path: Path, change: dict[str, Any],
                                           column: str, row: int, words: str) -> None:
    path = _write(pl.DataFrame({**ROWS, **change}), tmp_path / "bad.parquet")
    with pytest.raises(PoolError) as err:
        import_pool([path])
    msg = str(err.value)
    assert msg.startswith(f"{path}: column '{column}', row {row}: ") and words in msg


def test_missing_columns_and_cap(tmp_path: Path) -> None:
    no_len = _write(pl.DataFrame(ROWS).drop("response_tokens"), tmp_path / "a.csv")
    with pytest.raises(PoolError, match=r"a.csv: column 'length': missing column"):
        import_pool([no_len])
    # issue 12: no benchmark column and no --benchmark gives 'unknown' with a note
    # (it used to be refused), and --max-tokens below a length re-caps (it used to be
    # refused); a row's own cap below its length is still refused.
    no_bench = _write(pl.DataFrame(ROWS).drop("benchmark"), tmp_path / "b.csv")
    notes: list[str] = []
    assert set(import_pool([no_bench], notes=notes).benchmarks) == {"unknown"}
    assert any("pass --benchmark" in n for n in notes)
    ok = _write(pl.DataFrame({**ROWS, "max_tokens": [4096] * 6}), tmp_path / "c.csv")
    with pytest.raises(PoolError, match=r"c.csv: column 'length', row 3: length 16000 exceeds"):
        import_pool([ok])
    with pytest.raises(PoolError, match="no such file"):
        import_pool([tmp_path / "missing.csv"])
    with pytest.raises(PoolError, match="unknown file type"):
        import_pool([_write(pl.DataFrame(ROWS), tmp_path / "d.parquet").rename(
            tmp_path / "d.txt")])


def _thip(folder: Path, lines: list[dict[str, Any]], data_id: str = "zwhe99/MATH") -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"data_id": data_id,
                                                    "max_model_len": 1000}))
    path = folder / "generation.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def _line(i: int, lengths: list[int], correct: list[bool], prompt: int = 100) -> dict[str, Any]:
    return {"id": f"test/{i}.json", "problem": f"problem {i}", "level": "Level 2",
            "prompt_length": prompt, "response_length": lengths, "correct": correct,
            "finish_reason": ["length" if n + prompt >= 1000 else "stop" for n in lengths]}


def test_thip_directory_merges_policies(tmp_path: Path) -> None:
    _thip(tmp_path / "A" / "MATH", [_line(1, [300], [True]), _line(2, [900], [False])])
    _thip(tmp_path / "B" / "MATH", [_line(1, [200], [False]), _line(2, [50], [True])])
    _thip(tmp_path / "B" / "aime25", [{"id": "0", "problem": "x", "prompt_length": 10,
                                       "response_length": [990], "correct": [False]}],
          data_id="math-ai/aime25")
    pool = import_pool([tmp_path])
    # issue 12: ids are kept as written unless they collide across benchmarks
    assert list(pool.ids) == ["test/1.json", "test/2.json", "0"]
    assert pool.frame["lengths"].to_list() == [[300, 200], [900, 50], [990]]
    assert list(pool.max_tokens) == [900, 900, 990]  # max_model_len - prompt_length
    assert pool.frame["level"].to_list() == [2, 2, None]


def test_thip_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = _thip(tmp_path / "MATH", [_line(1, [3], [True]), _line(2, [3, 4], [True])])
    with pytest.raises(PoolError, match=r"generation.jsonl: line 2, field 'correct': 1 grades"):
        import_pool([bad])
    bad.write_text(json.dumps(_line(1, [3], [True])) + "\n{oops\n")
    with pytest.raises(PoolError, match=r"line 2: invalid JSON"):
        import_pool([bad])
    bad.write_text(json.dumps(_line(1, [-3], [True])) + "\n")
    with pytest.raises(PoolError, match=r"line 1, field 'response_length': -3"):
        import_pool([bad])
    (tmp_path / "empty").mkdir()
    with pytest.raises(PoolError, match="empty: directory holds no generation.jsonl"):
        import_pool([tmp_path / "empty"])


@pytest.mark.parametrize(("raw", "name"), [
    ("zwhe99/MATH", "math500"), ("aime25", "aime2025"), ("zwhe99/aime90", "aime2024"),
    ("zwhe99/simplerl-minerva-math", "minerva_math"), ("gsm8k", "gsm8k"),
])
def test_benchmark_names(raw: str, name: str) -> None:
    assert benchmark_name(raw) == name


def test_real_thip_files() -> None:
    root = require_shared() / "raw"
    pool = import_pool([root])
    counts = dict(zip(*np.unique(pool.benchmarks, return_counts=True), strict=True))
    assert counts == {"math500": 500, "minerva_math": 272, "aime2024": 30, "aime2025": 30}
    math = pool.benchmarks == "math500"
    assert (pool.n_rollouts[math] == 3).all() and pool.n_rollouts.sum() == 2284
    assert set(pool.frame.filter(pl.Series(math))["level"].to_list()) == {1, 2, 3, 4, 5}
    acc = float(pool.accuracy_at(pool.max_tokens.astype(float))[math].mean())
    assert abs(acc - 0.756) < 1e-9  # the real math500 accuracy
    single = import_pool([root / "GSPOTAC" / "MATH" / "generation.jsonl"])
    assert len(single) == 500 and (single.n_rollouts == 1).all()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.integers(0, 5), st.integers(1, 20000), st.booleans()),
                     min_size=1, max_size=40),
       suffix=st.sampled_from([".csv", ".jsonl", ".parquet"]))
def test_import_groups_rollouts_by_id(tmp_path: Path, rows: list[tuple[int, int, bool]],
                                      suffix: str) -> None:
    frame = pl.DataFrame({"id": [f"q{r[0]}" for r in rows], "benchmark": ["b"] * len(rows),
                          "length": [r[1] for r in rows], "correct": [r[2] for r in rows]})
    pool = import_pool([_write(frame, tmp_path / f"p{suffix}")])
    expected: dict[str, list[tuple[int, bool]]] = {}
    for q, length, ok in rows:
        expected.setdefault(f"q{q}", []).append((length, ok))
    assert list(pool.ids) == list(expected)
    for i, key in enumerate(expected):
        k = pool.n_rollouts[i]
        assert list(zip(pool.lengths[i, :k], pool.correct[i, :k], strict=True)) == expected[key]
    assert (pool.max_tokens == max(r[1] for r in rows)).all()


def test_rollout_cut_at_its_own_cap_stays_cut_after_merging(tmp_path: Path) -> None:
    # regression: policies with longer prompts have a smaller response cap; a rollout
    # cut there (finish_reason=length) used to count as finished below the merged L_max
    _thip(tmp_path / "A" / "MATH", [_line(1, [880], [True], prompt=120)])
    _thip(tmp_path / "B" / "MATH", [_line(1, [300], [False], prompt=100)])
    pool = import_pool([tmp_path])
    assert int(pool.max_tokens[0]) == 900
    assert pool.frame["lengths"].to_list() == [[900, 300]]
    assert pool.accuracy_at(np.array([899.0]))[0] == 0.0
    assert pool.accuracy_at(np.array([900.0]))[0] == 0.5


def test_no_cap_anywhere_says_it_took_the_longest_length(tmp_path: Path) -> None:
    raw = _write(pl.DataFrame(ROWS), tmp_path / "a.csv")
    notes: list[str] = []
    pool = import_pool([raw], notes=notes)
    seen = int(pool.lengths.max())
    assert (pool.max_tokens == seen).all()
    assert any(f"took the longest length seen, {seen} tokens: give --max-tokens" in n
               for n in notes)
    notes.clear()
    import_pool([raw], max_tokens=20000, notes=notes)
    assert not any("longest length" in n for n in notes)
