"""Pool schema validation (errors name column and row) and the Parquet round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.pools.pool import Pool, PoolError, load_pool, save_pool, validate_frame


def _frame(**override: Any) -> pl.DataFrame:
    base: dict[str, Any] = {
        "id": ["a", "b", "c"],
        "benchmark": ["x", "x", "y"],
        "max_tokens": [100, 100, 100],
        "lengths": [[1, 2], [3, 4], [5, 6]],
        "correct": [[True, False], [True, True], [False, False]],
    }
    base.update(override)
    return pl.DataFrame({k: v for k, v in base.items() if v is not None})


@pytest.mark.parametrize(("override", "column", "row", "words"), [
    ({"lengths": [[1, 2], [3, -4], [5, 6]]}, "lengths", 2, "-4 < 1"),
    ({"lengths": [[1.0, 2.0], [3.0, 4.0], [5.0, float("nan")]]}, "lengths", 3, "NaN"),
    ({"lengths": [[1.0, 2.5], [3.0, 4.0], [5.0, 6.0]]}, "lengths", 1, "fractional"),
    ({"lengths": [[1, 2], [3, None], [5, 6]]}, "lengths", 2, "null"),
    ({"correct": [[True, False], [True], [False, False]]}, "correct", 2, "1 grades for 2"),
    ({"lengths": [[1, 2], [], [5, 6]], "correct": [[True, False], [], [False, False]]},
     "lengths", 2, "no rollouts"),
    ({"lengths": [[1, 2], [3, 4], [5, 600]]}, "lengths", 3, "exceeds max_tokens"),
    ({"id": ["a", "b", "a"]}, "id", 1, "duplicate"),
    ({"max_tokens": [100, 0, 100]}, "max_tokens", 2, "> 0"),
    ({"benchmark": ["x", None, "y"]}, "benchmark", 2, "null"),
    ({"prompt_tokens": [1, 2, -3]}, "prompt_tokens", 3, "negative"),
])
def test_bad_values_name_column_and_row(override: dict[str, Any], column: str, row: int,
                                        words: str) -> None:
    with pytest.raises(PoolError) as err:
        validate_frame(_frame(**override), "p.parquet")
    msg = str(err.value)
    assert msg.startswith(f"p.parquet: column '{column}', row {row}: ")
    assert words in msg
    assert "\n" not in msg


@pytest.mark.parametrize("column", ["id", "benchmark", "max_tokens", "lengths", "correct"])
def test_missing_column_is_named(column: str) -> None:
    with pytest.raises(PoolError, match=f"column '{column}': missing required column"):
        validate_frame(_frame(**{column: None}), "p.parquet")


def test_empty_pool() -> None:
    with pytest.raises(PoolError, match="the pool is empty"):
        validate_frame(_frame().head(0), "p.parquet")


def test_wrong_type_names_column() -> None:
    with pytest.raises(PoolError, match="column 'lengths': wrong type"):
        validate_frame(_frame(lengths=[["a"], ["b"], ["c"]],
                              correct=[[True], [True], [True]]))


def test_optional_columns_are_added_as_nulls() -> None:
    frame = validate_frame(_frame())
    assert frame["text"].null_count() == 3 and frame["level"].dtype == pl.Int64


def test_load_missing_and_corrupt_file(tmp_path: Path) -> None:
    with pytest.raises(PoolError, match="pool file not found"):
        load_pool(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(PoolError, match="not a readable Parquet file"):
        load_pool(bad)


rollout = st.tuples(st.integers(1, 16384), st.booleans())
query = st.lists(rollout, min_size=1, max_size=9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(queries=st.lists(query, min_size=1, max_size=12), text=st.none() | st.text(max_size=20))
def test_round_trip(tmp_path: Path, queries: list[list[tuple[int, bool]]],
                    text: str | None) -> None:
    n = len(queries)
    frame = pl.DataFrame({
        "id": [f"q{i}" for i in range(n)],
        "benchmark": ["b"] * n,
        "text": [text] * n,
        "level": [i % 6 for i in range(n)],
        "max_tokens": [16384] * n,
        "lengths": [[r[0] for r in q] for q in queries],
        "correct": [[r[1] for r in q] for q in queries],
    })
    pool = Pool.from_frame(frame)
    path = save_pool(pool, tmp_path / "pool.parquet")
    back = load_pool(path)
    assert back.frame.equals(pool.frame)
    assert (back.lengths == pool.lengths).all() and (back.correct == pool.correct).all()
    assert list(back.n_rollouts) == [len(q) for q in queries]


def test_load_rollout_table_says_import_it(tmp_path: Path) -> None:
    raw = tmp_path / "rollouts.csv"
    raw.write_text("id,benchmark,length,correct\na,x,100,1\n")
    with pytest.raises(PoolError, match=r"not CSV; build one .*'clearsim pool import "):
        load_pool(raw)
