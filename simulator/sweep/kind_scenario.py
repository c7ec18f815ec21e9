"""Scenario cells: each cell is one discrete-event run of the base scenario.

The base scenario is read once by the driver and travels as its fully resolved
mapping; a cell sets its axis values by dotted path (``arrivals.rate``,
``allocator.budget_rate``, ...) and its derived seed into ``seed``, and is validated
with the scenario model, so a bad axis is reported with its YAML path. The cell's
metrics are the run summary minus wall-clock and bookkeeping fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulator.errors import UserError
from simulator.pools.pool import Pool
from simulator.pools.source import is_embedded
from simulator.scenario.models import Scenario
from simulator.sweep.grid import set_dotted
from simulator.sweep.kinds import model_file, rebase_paths, register_kind
from simulator.sweep.spec import SEED_AXIS, SweepSpec
from simulator.traffic.arrivals import TraceSpec

__all__ = ["DROPPED", "ScenarioKind"]

# Summary keys that are not results of the cell: wall-clock (not reproducible) and
# constants the store already holds (the seed is the cell_seed column).
DROPPED = ("wall_seconds", "queries_per_wall_second", "seed", "clearsim_version")


@register_kind("scenario")
class ScenarioKind:
    """One DES run per cell (:func:`simulator.run`)."""

    PATHS = frozenset({"pool", "pool.source", "arrivals.path"})

    def base(self, spec: SweepSpec, root: Path) -> dict[str, Any]:
        """The base scenario file (relative to ``root``), resolved and validated."""
        from simulator.scenario.io import load_scenario

        assert isinstance(spec.base, str)
        path = Path(spec.base)
        try:
            scenario = load_scenario(path if path.is_absolute() else root / path)
        except UserError as exc:
            raise UserError(f"base: {exc}") from None
        return scenario.model_dump(mode="json")

    def build(self, base: Mapping[str, Any], coords: Mapping[str, Any], seed: int,
              root: Path) -> Scenario:
        """The validated scenario of one cell, with ``seed`` as its run seed."""
        from simulator.scenario.io import parse_scenario

        raw: dict[str, Any] = dict(base)
        for path, value in rebase_paths(coords, self.PATHS, root).items():
            if path != SEED_AXIS:
                raw = set_dotted(raw, path, value)
        raw["seed"] = seed
        return parse_scenario(raw)

    def pool_key(self, config: Scenario) -> str:
        """The pool source (plus the synthetic seed for the default pool)."""
        src = config.pool.source
        return f"{src}#seed={config.pool.seed}" if is_embedded(src) else src

    def load_pool(self, config: Scenario) -> Pool:
        """The pool of ``config``."""
        from simulator.pools.source import resolve_pool

        try:
            return resolve_pool(config.pool.source, seed=config.pool.seed)
        except UserError as exc:
            raise UserError(f"pool.source: {exc}") from None

    def input_files(self, config: Scenario) -> list[str]:
        """The pool file (unless embedded), arrival traces, a model file."""
        arrivals = [config.arrivals] if config.streams is None else \
            [s.arrivals for s in config.streams]
        traces = [a.resolved_path() for a in arrivals if isinstance(a, TraceSpec)]
        files = [None if is_embedded(config.pool.source) else config.pool.source,
                 *traces, model_file(config.predictor.params)]
        return [f for f in files if isinstance(f, str)]

    def run(self, config: Scenario, pool: Pool) -> dict[str, Any]:
        """The run summary (accuracy, latencies, tokens, ...) without wall-clock keys."""
        from simulator.des.runner import run

        summary = run(config, pool=pool).summary
        return {k: v for k, v in summary.items() if k not in DROPPED}
