"""The ray executor on a local Ray (2 CPUs) gives results identical to the local pool."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from simulator.sweep import load_sweep, run_sweep
from tests.sweep_helpers import KILL_GRID, results, write_scenario, write_sweep

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'clearsim[ray]')")


@pytest.fixture(scope="module")
def local_ray() -> object:
    """A private local Ray with 2 CPUs for this module (Ray start-up takes seconds)."""
    ctx = ray.init(address="local", num_cpus=2, include_dashboard=False,
                   log_to_driver=False, logging_level=logging.ERROR)
    yield ctx
    ray.shutdown()


def test_ray_matches_local(tmp_path: Path, local_ray: object) -> None:
    sweeps = {
        "frontier": KILL_GRID,
        "scenario": {"kind": "scenario", "base": "tiny.yaml",
                     "axes": {"arrivals.rate": [1.0, 3.0],
                              "allocator.policy": ["uniform", "clear"]},
                     "seeds": [0, 1], "crn_axes": ["allocator.policy"]},
    }
    for name, grid in sweeps.items():
        frames = {}
        for executor in ("local", "ray"):
            folder = tmp_path / name / executor
            folder.mkdir(parents=True)
            write_scenario(folder)
            plan = load_sweep(write_sweep(folder, **grid))
            out = run_sweep(plan, executor, workers=2, progress=False)
            assert out.done == len(plan.cells) and out.failed == 0
            frames[executor] = results(folder / "store")
        assert frames["ray"].height == frames["local"].height > 0
        assert_frame_equal(frames["ray"], frames["local"], check_exact=True)
    assert ray.is_initialized(), "an outside Ray must be left running by the executor"
