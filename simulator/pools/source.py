"""Resolve a pool spec (``default`` or a Parquet path) to a validated :class:`Pool`."""

from __future__ import annotations

from functools import lru_cache

from simulator.pools.pool import Pool, load_pool

__all__ = ["DEFAULT_POOL", "resolve_pool"]

DEFAULT_POOL = "default"


@lru_cache(maxsize=4)
def _default(seed: int) -> Pool:
    from simulator.pools.embedded.synthetic import default_pool

    return default_pool(seed=seed)


def resolve_pool(spec: str, seed: int = 0) -> Pool:
    """``"default"`` gives the embedded synthetic pool; anything else is a Parquet path.

    Raises:
        PoolError: the path is missing or not a valid pool.
    """
    if spec == DEFAULT_POOL:
        return _default(seed)
    return load_pool(spec)
