"""The sweep file: a base cell, the axes to vary, the seeds and the results store.

A sweep file is YAML validated by :class:`SweepSpec` (unknown keys are errors)::

    kind: frontier              # or: scenario
    base:                       # frontier: an inline cell; scenario: a scenario YAML path
      pool: default
      stream: balanced
      n: 500
      mean_budget: 256
      policy: clear
      predictor: {kind: noisy-oracle, params: {sigma: 0.3}}
    axes:                       # dotted path into the base -> non-empty list of values
      policy: [uniform, clear]
      mean_budget: [64, 256, 1024]
      predictor.params.sigma: [0.0, 0.3, 1.0]
    seeds: [0, 1, 2]            # replicates: the ``seed`` coordinate (or a ``seed`` axis)
    crn_axes: [policy]          # axes left out of the seed: common random numbers
    store: out/sweeps/demo      # results store (relative to the sweep file)
    max_cells: 100000           # refuse a bigger grid up front (the default)

The spec does no I/O; :func:`simulator.sweep.load.load_sweep` reads the file and the
base scenario.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from simulator.checks import Count, StrictModel, check_size

__all__ = ["SEED_AXIS", "FrontierCell", "PredictorCell", "SweepSpec"]

SEED_AXIS = "seed"
MAX_CELLS = 100_000


class _Model(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PredictorCell(_Model):
    """A threshold predictor: a registered ``kind`` and its keyword parameters."""

    kind: str = Field("noisy-oracle", description="predictor name")
    params: dict[str, Any] = Field(default_factory=lambda: {"sigma": 0.3},
                                   description="predictor parameters, e.g. sigma")


class FrontierCell(_Model):
    """One static-frontier cell: one policy at one mean budget on one stream sample.

    A *noise* cell is a frontier cell whose ``predictor.params.sigma`` is an axis.
    """

    pool: str = Field("default", description="'default', 'default-greedy' or a pool Parquet path "
                      "(relative to the sweep file)")
    stream: str | list[float] = Field("balanced", description="mix name or four tier "
                                      "weights easy..very-hard")
    n: int = Field(500, gt=0, description="queries in the batch")
    mean_budget: float = Field(ge=0, description="mean budget per query (tokens)")
    policy: str = Field("clear", description="allocation policy name")
    policy_params: dict[str, Any] = Field(default_factory=dict,
                                          description="parameters of the policy")
    predictor: PredictorCell = Field(
        default_factory=lambda: PredictorCell(kind="noisy-oracle"))


class SweepSpec(_Model):
    """A whole sweep file (see the module docstring)."""

    kind: Literal["scenario", "frontier"] = Field(
        description="scenario: each cell is a DES run; frontier: a static frontier or "
        "noise cell")
    base: str | dict[str, Any] = Field(
        description="scenario: path of the base scenario YAML; frontier: the base cell")
    axes: dict[str, list[Any]] = Field(
        default_factory=dict, description="dotted path -> non-empty list of values")
    seeds: list[int] | None = Field(None, description="replicate seeds (the 'seed' "
                                    "coordinate); default [0]")
    crn_axes: list[str] = Field(default_factory=list, description="axes left out of "
                                "each cell's seed, so their cells share random numbers")
    store: str = Field(description="results store directory (relative to the sweep file)")
    executor: str | None = Field(None, description="default executor (local, ray)")
    workers: int | None = Field(None, gt=0, description="default number of workers")
    address: str | None = Field(None, description="default Ray address (host:port)")
    max_cells: Count = Field(MAX_CELLS, description="most cells the grid may have; "
                             "raise it for a legitimately big sweep")

    @field_validator("axes")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in v.items():
            if not path or any(not p for p in path.split(".")):
                raise ValueError(f"axis {path!r}: expected a dotted path like "
                                 "'arrivals.rate'")
            if not values:
                raise ValueError(f"axis {path!r}: empty list; give at least one value")
            labels = [repr(x) for x in values]
            if len(set(labels)) != len(labels):
                raise ValueError(f"axis {path!r}: repeated value")
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int] | None) -> list[int] | None:
        if v is not None:
            if not v:
                raise ValueError("empty list; give at least one seed")
            if any(s < 0 for s in v) or len(set(v)) != len(v):
                raise ValueError("seeds must be distinct whole numbers >= 0")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        if self.seeds is not None and SEED_AXIS in self.axes:
            raise ValueError("give replicates either as 'seeds' or as a 'seed' axis, "
                             "not both")
        seed_values = self.axes.get(SEED_AXIS, [])
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seed_values):
            raise ValueError("axis 'seed': values must be whole numbers >= 0")
        sizes = [len(v) for v in self.axis_values().values()]
        check_size(math.prod(sizes), self.max_cells,
                   f"sweep cells ({' x '.join(map(str, sizes))} axis values and seeds)",
                   "use fewer axis values or seeds, or raise max_cells in the sweep file")
        for path in self.crn_axes:
            if path not in self.axes:
                raise ValueError(f"crn_axes: {path!r} is not an axis; axes: "
                                 f"{', '.join(self.axes) or '(none)'}")
        if self.kind == "scenario" and not isinstance(self.base, str):
            raise ValueError("base: a scenario sweep names its base scenario YAML file")
        if self.kind == "frontier" and not isinstance(self.base, dict):
            raise ValueError("base: a frontier sweep gives its base cell inline (pool, "
                             "stream, n, mean_budget, policy, predictor)")
        return self

    def axis_values(self) -> dict[str, list[Any]]:
        """Every axis, the ``seed`` replicate axis last (default ``[0]``)."""
        out = {k: v for k, v in self.axes.items() if k != SEED_AXIS}
        out[SEED_AXIS] = list(self.seeds or self.axes.get(SEED_AXIS) or [0])
        return out
