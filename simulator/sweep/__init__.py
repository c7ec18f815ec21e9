"""Sweeps: resumable experiment grids on a local process pool or a Ray cluster.

- :mod:`.spec` - the sweep file (pydantic, unknown keys forbidden);
- :mod:`.grid` - cells, stable cell ids and coordinate-derived seeds;
- :mod:`.kinds` / :mod:`.kind_scenario` - what a cell runs (frontier, scenario);
- :mod:`.plan` - reading and validating a sweep file before anything runs;
- :mod:`.cells` - the worker side: shipped context, one task, one result;
- :mod:`.executors` / :mod:`.executor_ray` - local, serial and Ray executors;
- :mod:`.store` - the results store (manifest + Parquet parts + failure records);
- :mod:`.runner` - the driver that ties them together;
- :mod:`.capacity` / :mod:`.slo` - bisection for the highest load meeting SLOs.
"""

from pathlib import Path

import polars as pl

from simulator.sweep import executor_ray, kind_scenario  # noqa: F401  (register 'ray', 'scenario')
from simulator.sweep.plan import SweepPlan, load_sweep, plan_sweep
from simulator.sweep.runner import SweepOutcome, run_sweep
from simulator.sweep.store import Store, StoreStatus

__all__ = ["Store", "StoreStatus", "SweepOutcome", "SweepPlan", "load_sweep",
           "load_store", "plan_sweep", "run_sweep"]


def load_store(path: str | Path) -> pl.DataFrame:
    """Every done cell of the store at ``path`` as one polars frame, sorted by cell id."""
    return Store(path).load()
