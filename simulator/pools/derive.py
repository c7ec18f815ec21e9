"""Pools derived from a pool: one rollout per query, a lower collection cap.

The paper decodes greedily (K = 1); these derivations turn a K > 1 pool into the K = 1
pool a greedy run would give if its response were the query's first rollout, and
re-collect a pool at a smaller cap L (a rollout longer than L would have been cut at L,
so it becomes ``length = L``, not correct).
"""

from __future__ import annotations

import polars as pl

from simulator.pools.pool import Pool

__all__ = ["first_rollout", "recap"]


def first_rollout(pool: Pool) -> Pool:
    """The pool with each query's first rollout only (K = 1)."""
    frame = pool.frame.with_columns(pl.col("lengths").list.head(1),
                                    pl.col("correct").list.head(1))
    return Pool.from_frame(frame, source="first rollout per query")


def recap(pool: Pool, cap: int) -> Pool:
    """The pool as if collected with ``max_tokens = min(max_tokens, cap)``.

    Raises:
        ValueError: ``cap < 1``.
    """
    if cap < 1:
        raise ValueError(f"recap: cap must be >= 1 token, got {cap}")
    caps = [min(int(m), cap) for m in pool.frame["max_tokens"].to_list()]
    lengths = [[min(x, m) for x in ls] for ls, m in zip(pool.frame["lengths"].to_list(), caps,
                                                        strict=True)]
    correct = [[c and x <= m for x, c in zip(ls, cs, strict=True)]
               for ls, cs, m in zip(pool.frame["lengths"].to_list(),
                                    pool.frame["correct"].to_list(), caps, strict=True)]
    frame = pool.frame.with_columns(pl.Series("max_tokens", caps, dtype=pl.Int64),
                                    pl.Series("lengths", lengths, dtype=pl.List(pl.Int64)),
                                    pl.Series("correct", correct, dtype=pl.List(pl.Boolean)))
    return Pool.from_frame(frame, source=f"recapped at {cap}")
