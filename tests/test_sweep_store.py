"""The results store: failures are recorded and the sweep goes on; resume; status; CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simulator.cli.main import main
from simulator.errors import UserError
from simulator.policies import Allocation, AllocationInput, register_policy
from simulator.sweep import Store, load_store, load_sweep, run_sweep
from tests.sweep_helpers import write_scenario, write_sweep


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@register_policy("test-fails-on-large-batches", params=("x",))
def _fails_on_large_batches(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """Uniform, but x < 0 raises once a batch has more than the validation probe's 2."""
    if float(params.get("x", 0.0)) < 0 and inp.thresholds.size > 2:
        raise ValueError("kappa must be > 0 (test policy)")
    return Allocation(np.full(inp.thresholds.size, inp.budget / max(inp.thresholds.size, 1)))


def test_failed_cell_is_recorded_and_others_go_on(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # A failure only at run time (the up-front parameter check passes): the cell is
    # recorded as failed and the others go on.
    sweep = write_sweep(tmp_path, axes={"policy_params.x": [1.0, -5.0, 2.0]}, seeds=[0, 1],
                        base={"pool": "default", "stream": "balanced", "n": 50,
                              "mean_budget": 256, "policy": "test-fails-on-large-batches"})
    code, out, _ = _cli(capsys, "sweep", str(sweep), "--executor", "serial")
    assert code == 1 and "4 finished now, 2 failed" in out
    store = Store(tmp_path / "store")
    st = store.status()
    assert (st.done, st.failed, st.pending) == (4, 2, 0)
    assert all("kappa must be > 0" in err for _, _, err in st.failures)
    record = json.loads(next((tmp_path / "store" / "failed").glob("*.json")).read_text())
    assert record["coords"]["policy_params.x"] == -5.0 and "Traceback" in record["traceback"]

    code, out, _ = _cli(capsys, "sweep", "status", str(tmp_path / "store"))
    assert code == 0 and "6 cells: 4 done, 2 failed, 0 pending" in out
    assert out.count("kappa must be > 0") == 2

    # resume reruns only the failed cells (which fail again)
    out2 = run_sweep(load_sweep(sweep), "serial", resume=True, progress=False)
    assert (out2.skipped, out2.done, out2.failed) == (4, 0, 2)
    frame = load_store(tmp_path / "store")
    assert frame.columns == ["cell_id", "policy_params.x", "seed", "cell_seed",
                             "accuracy", "tokens_per_query", "abandonment_rate",
                             "wall_seconds"]
    assert frame["cell_id"].to_list() == sorted(frame["cell_id"].to_list())


def test_failure_cleared_when_the_cell_later_succeeds(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, axes={"policy": ["uniform"]})
    plan = load_sweep(sweep)
    run_sweep(plan, "serial", progress=False)
    store = Store(tmp_path / "store")
    cell = plan.cells[0]
    (store.parts / f"{cell.cell_id}.parquet").unlink()
    (store.failed_dir / f"{cell.cell_id}.json").write_text(json.dumps({"error": "boom"}))
    (store.parts / ".x.parquet.abc.tmp").write_text("half")  # a killed writer's leftover
    assert store.status().failed == 1
    run_sweep(plan, "serial", resume=True, progress=False)
    assert store.status().done == 1 and not list(store.failed_dir.iterdir())
    assert not list(store.parts.glob(".*.tmp"))


def test_store_holds_one_sweep(tmp_path: Path) -> None:
    run_sweep(load_sweep(write_sweep(tmp_path, axes={"policy": ["uniform"]})), "serial",
              progress=False)
    other = write_sweep(tmp_path, "other.yaml", axes={"policy": ["uniform"]},
                        base={"n": 60, "mean_budget": 256})
    with pytest.raises(UserError, match="holds a different sweep"):
        run_sweep(load_sweep(other), "serial", resume=True, progress=False)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(UserError, match="not a sweep store"):
        run_sweep(load_sweep(write_sweep(tmp_path, "j.yaml", store="junk")), "serial",
                  progress=False)
    with pytest.raises(UserError, match="no manifest.json"):
        Store(tmp_path / "junk").status()


def test_resume_refuses_a_changed_pool_file(tmp_path: Path) -> None:
    from tests.conftest import random_pool

    pool_file = tmp_path / "pool.parquet"
    random_pool(80, 3, seed=1).frame.write_parquet(pool_file)
    sweep = write_sweep(tmp_path, axes={"policy": ["uniform", "clear"]},
                        base={"pool": str(pool_file), "stream": "balanced", "n": 40,
                              "mean_budget": 256})
    run_sweep(load_sweep(sweep), "serial", progress=False)
    run_sweep(load_sweep(sweep), "serial", resume=True, progress=False)   # unchanged: fine
    random_pool(80, 3, seed=2).frame.write_parquet(pool_file)   # same path, new contents
    with pytest.raises(UserError, match="input files' contents differ"):
        run_sweep(load_sweep(sweep), "serial", resume=True, progress=False)
    pool_file.unlink()
    with pytest.raises(UserError, match=r"input file .*pool\.parquet"):
        run_sweep(load_sweep(sweep), "serial", resume=True, progress=False)


def test_resume_refuses_a_changed_arrival_trace(tmp_path: Path) -> None:
    trace = tmp_path / "times.txt"
    trace.write_text("\n".join(str(0.5 * i) for i in range(40)))
    scen = write_scenario(tmp_path, arrivals={"kind": "trace", "path": str(trace)})
    sweep = write_sweep(tmp_path, kind="scenario", base=scen.name,
                        axes={"allocator.policy": ["uniform"]})
    run_sweep(load_sweep(sweep), "serial", progress=False)
    trace.write_text("\n".join(str(0.7 * i) for i in range(40)))
    with pytest.raises(UserError, match="input files' contents differ"):
        run_sweep(load_sweep(sweep), "serial", resume=True, progress=False)


@pytest.mark.parametrize(("fields", "needle"), [
    ({"axes": {"polcy": ["uniform"]}}, "axis 'polcy': polcy: unknown key"),
    ({"axes": {"policy": []}}, "axis 'policy': empty list"),
    ({"axes": {"policy": ["uniform", "nope"]}}, "unknown policy 'nope'"),
    ({"axes": {"mean_budget": [64, -1]}}, "mean_budget: Input should be greater than"),
    ({"axes": {"policy_params.kappa": [1.0, -5.0]}}, "policy_params: clear: kappa must be > 0"),
    ({"axes": {"policy": ["clear"]}, "crn_axes": ["seed"]}, "crn_axes: 'seed' is not an axis"),
    ({"axes": {"policy": ["clear"]}, "extra": 1}, "extra: unknown key"),
    ({"kind": "scenario", "base": "tiny.yaml", "axes": {"arrivals.rat": [1.0]}},
     "axis 'arrivals.rat': arrivals.rat: unknown key; allowed keys here: kind, rate"),
    ({"kind": "scenario", "base": "tiny.yaml", "axes": {"allocator.budget_rate": [0]}},
     "allocator.budget_rate: must be > 0"),
    ({"kind": "scenario", "base": "missing.yaml"}, "base: "),
])
def test_bad_sweep_file_is_one_line_exit_2_before_any_cell(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fields: dict[str, Any],
        needle: str) -> None:
    write_scenario(tmp_path)
    sweep = write_sweep(tmp_path, **fields)
    code, out, err = _cli(capsys, "sweep", str(sweep), "--executor", "serial")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("clearsim: error: ")
    assert needle in err, err
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize(("argv", "needle"), [
    (["--executor", "ray", "--address", "127.0.0.1:1"], "no Ray cluster reachable at"),
    (["--executor", "ray", "--address", "not-an-address"], "expected HOST:PORT"),
    (["--address", "127.0.0.1:6379"], "is for the ray executor"),
])
def test_bad_executor_address_is_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        needle: str) -> None:
    sweep = write_sweep(tmp_path, axes={"policy": ["uniform"]})
    code, _, err = _cli(capsys, "sweep", str(sweep), *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err
    assert not (tmp_path / "store").exists()


def test_sweep_file_address_is_checked_too(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write_sweep(tmp_path, axes={"policy": ["uniform"]}, executor="ray",
                        address="127.0.0.1:1")
    code, _, err = _cli(capsys, "sweep", "run", str(sweep))
    assert code == 2 and "127.0.0.1:1" in err and not (tmp_path / "store").exists()
