"""Rollout pools: the data every simulation replays.

- :mod:`.pool` - the pool model (one row per query, K rollouts), its schema, load/save;
- :mod:`.importer` - importing rollouts: finds files, reads each by its format, merges;
- :mod:`.generic` / :mod:`.thip` - one reader per format family (tables, THIP JSONL);
- :mod:`.embedded` - the embedded default pool (synthetic, calibrated to real figures);
- :mod:`.stats` - summary figures (accuracy, length quantiles, S-curves);
- :mod:`.source` - resolving a pool spec (``default`` or a Parquet path).

Pools are pure data: this package imports only the shared ground of :mod:`simulator`.
The names below load on first use, so that a light submodule (``stats`` for its
constants) can be imported without polars (``clearsim --help`` reads ``stats.BUDGETS``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.pools.importer import import_pool
    from simulator.pools.pool import POOL_SCHEMA, Pool, PoolError, load_pool, save_pool
    from simulator.pools.source import DEFAULT_POOL, resolve_pool

__all__ = ["DEFAULT_POOL", "POOL_SCHEMA", "Pool", "PoolError", "import_pool", "load_pool",
           "resolve_pool", "save_pool"]

_LAZY = {
    "import_pool": "simulator.pools.importer",
    "POOL_SCHEMA": "simulator.pools.pool",
    "Pool": "simulator.pools.pool",
    "PoolError": "simulator.pools.pool",
    "load_pool": "simulator.pools.pool",
    "save_pool": "simulator.pools.pool",
    "DEFAULT_POOL": "simulator.pools.source",
    "resolve_pool": "simulator.pools.source",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simulator.pools' has no attribute {name!r}")
