"""Rollout pools: the data every simulation replays.

- :mod:`.pool` - the pool model (one row per query, K rollouts), its schema, load/save;
- :mod:`.importer` - importing rollouts: finds files, reads each by its format, merges;
- :mod:`.generic` / :mod:`.thip` - one reader per format family (tables, THIP JSONL);
- :mod:`.embedded` - the embedded default pool (synthetic, calibrated to real figures);
- :mod:`.stats` - summary figures (accuracy, length quantiles, S-curves);
- :mod:`.source` - resolving a pool spec (``default`` or a Parquet path).

Pools are pure data: this package imports only the shared ground of :mod:`simulator`.
"""

from simulator.pools.importer import import_pool
from simulator.pools.pool import POOL_SCHEMA, Pool, PoolError, load_pool, save_pool
from simulator.pools.source import DEFAULT_POOL, resolve_pool

__all__ = ["DEFAULT_POOL", "POOL_SCHEMA", "Pool", "PoolError", "import_pool", "load_pool",
           "resolve_pool", "save_pool"]
