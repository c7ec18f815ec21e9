"""Cell ids and seeds come from coordinates alone; adding an axis value changes no cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from simulator.errors import UserError
from simulator.sweep import load_sweep, run_sweep
from simulator.sweep.grid import axis_dtype, cell_id, cell_seed, expand, set_dotted
from tests.sweep_helpers import results, write_scenario, write_sweep


def test_ids_and_seeds_depend_only_on_coordinates() -> None:
    a = expand({"policy": ["uniform", "clear"], "seed": [0, 1]})
    b = expand({"policy": ["uniform", "tale", "clear"], "seed": [0, 1, 2]})
    by_coords = {tuple(c.coords.items()): (c.cell_id, c.seed) for c in b}
    for cell in a:
        assert by_coords[tuple(cell.coords.items())] == (cell.cell_id, cell.seed)
    assert len({c.cell_id for c in b}) == len({c.seed for c in b}) == 9
    # key order does not matter; value types do (1 and 1.0 are different cells)
    assert cell_id({"a": 1, "b": "x"}) == cell_id({"b": "x", "a": 1})
    assert cell_id({"a": 1}) != cell_id({"a": 1.0})
    assert 0 <= cell_seed({"a": 1, "seed": 3}) < 2**63


def test_crn_axes_share_seeds() -> None:
    cells = expand({"policy": ["uniform", "clear"], "mean_budget": [64, 128],
                    "seed": [0, 1]}, crn_axes=["policy"])
    seeds: dict[tuple[int, int], set[int]] = {}
    for c in cells:
        seeds.setdefault((c.coords["mean_budget"], c.coords["seed"]), set()).add(c.seed)
    assert all(len(s) == 1 for s in seeds.values())
    assert len({next(iter(s)) for s in seeds.values()}) == 4


def test_axis_dtypes_and_set_dotted() -> None:
    assert axis_dtype([1, 2]) == "int"
    assert axis_dtype([1, 2.5]) == "float"
    assert axis_dtype([True, False]) == "bool"
    assert axis_dtype(["a", [1, 1, 0, 0]]) == "str"
    raw = {"pool": "default", "allocator": {"policy": "clear"}}
    out = set_dotted(raw, "pool.seed", 3)
    assert out["pool"] == {"source": "default", "seed": 3} and raw["pool"] == "default"
    assert set_dotted(raw, "allocator.params.kappa", 2)["allocator"]["params"] == {"kappa": 2}
    with pytest.raises(UserError, match="'allocator.policy' is a value"):
        set_dotted(raw, "allocator.policy.x", 1)


def test_adding_an_axis_value_leaves_other_cells_unchanged(tmp_path: Path) -> None:
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    axes = {"policy": ["uniform", "clear"], "predictor.params.sigma": [0.0, 0.5]}
    run_sweep(load_sweep(write_sweep(small, axes=axes, seeds=[0, 1])), "serial",
              progress=False)
    wider = {"policy": ["uniform", "tale", "clear"],
             "predictor.params.sigma": [0.0, 0.25, 0.5]}
    run_sweep(load_sweep(write_sweep(big, axes=wider, seeds=[0, 1, 2])), "serial",
              progress=False)
    a, b = results(small / "store"), results(big / "store")
    assert a.height == 8 and b.height == 27
    assert_frame_equal(b.filter(pl.col("cell_id").is_in(a["cell_id"].implode())), a,
                       check_exact=True)


def test_extending_a_store_with_resume_runs_only_new_cells(tmp_path: Path) -> None:
    write_scenario(tmp_path)
    grid: dict[str, Any] = {"kind": "scenario", "base": "tiny.yaml", "seeds": [0]}
    first = run_sweep(load_sweep(write_sweep(
        tmp_path, **grid, axes={"arrivals.rate": [1.0, 2.0]})), "serial", progress=False)
    before = results(tmp_path / "store")
    more = run_sweep(load_sweep(write_sweep(
        tmp_path, **grid, axes={"arrivals.rate": [1.0, 2.0, 4.0]})), "serial",
        resume=True, progress=False)
    assert (first.done, more.skipped, more.done) == (2, 2, 1)
    after = results(tmp_path / "store")
    assert after["arrivals.rate"].sort().to_list() == [1.0, 2.0, 4.0]
    assert_frame_equal(after.filter(pl.col("cell_id").is_in(before["cell_id"].implode())),
                       before, check_exact=True)
    # the scenario's own seed is replaced by each cell's derived seed
    assert "seed" in after.columns and after["cell_seed"].n_unique() == 3
    assert {"accuracy", "latency_p95", "tokens_per_query"} <= set(after.columns)
    assert "queries_per_wall_second" not in after.columns
