"""Resolve a pool spec (an embedded pool name or a Parquet path) to a validated :class:`Pool`.

Embedded pools (:data:`EMBEDDED_POOLS`), generated in memory from a seed:

- ``default``: the synthetic pool, K = 8 rollouts per query (:func:`default_pool`);
- ``default-greedy``: the same queries with one rollout each (K = 1), calibrated to
  greedy-proxy figures (:func:`greedy_pool`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pool needs polars: loaded only when a pool is resolved
    from simulator.pools.pool import Pool

__all__ = ["DEFAULT_POOL", "EMBEDDED_POOLS", "GREEDY_POOL", "is_embedded", "resolve_pool"]

DEFAULT_POOL = "default"
GREEDY_POOL = "default-greedy"
EMBEDDED_POOLS: tuple[str, ...] = (DEFAULT_POOL, GREEDY_POOL)


def is_embedded(spec: object) -> bool:
    """True for the name of an embedded pool (never a file path)."""
    return isinstance(spec, str) and spec in EMBEDDED_POOLS


@lru_cache(maxsize=4)
def _default(seed: int) -> Pool:
    from simulator.pools.embedded.synthetic import default_pool

    return default_pool(seed=seed)


@lru_cache(maxsize=4)
def _greedy(seed: int) -> Pool:
    from simulator.pools.embedded.synthetic import greedy_pool

    return greedy_pool(seed=seed)


def resolve_pool(spec: str, seed: int = 0) -> Pool:
    """An embedded pool name (``default``, ``default-greedy``) or a Parquet path.

    Raises:
        PoolError: the path is missing or not a valid pool.
    """
    if spec == DEFAULT_POOL:
        return _default(seed)
    if spec == GREEDY_POOL:
        return _greedy(seed)
    from simulator.pools.pool import load_pool

    return load_pool(spec)
