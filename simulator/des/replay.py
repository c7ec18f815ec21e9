"""Rollout replay (model.md section 1), vectorised over a batch of queries.

A query granted a cap of t tokens replays one of its K rollouts, k, chosen by a uniform
number u drawn once per *query* (not per draw order) from the ``rollouts`` stream, so
every policy run on one scenario replays the same rollout for the same query (common
random numbers). It generates g = min(l_k, t) tokens and is correct iff c_k and
l_k <= t. A rollout cut at L_max (l_k = L_max) is therefore correct only if t >= L_max
and it was graded correct.
"""

from __future__ import annotations

import numpy as np

from simulator.pools.pool import Pool

__all__ = ["pick_rollouts", "replay", "replay_one"]


def pick_rollouts(pool: Pool, index: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(n,) rollout k = floor(u * K_i) for pool rows ``index`` and uniforms ``u`` in [0, 1)."""
    k_i = pool.n_rollouts[index]
    return np.minimum((u * k_i).astype(np.int64), k_i - 1)


def replay(pool: Pool, index: np.ndarray, rollout: np.ndarray,
           caps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replay rollouts ``rollout`` of pool rows ``index`` under integer ``caps`` (tokens).

    Returns:
        ``(generated, correct)``: (n,) int64 tokens g = min(l, cap) and (n,) bool.
    """
    length = pool.lengths[index, rollout]
    graded = pool.correct[index, rollout]
    generated = np.minimum(length, caps)
    return generated, graded & (length <= caps)


def replay_one(pool: Pool, index: int, rollout: int, cap: int) -> tuple[int, bool]:
    """:func:`replay` for one query (the allocator's one-query fast path).

    Returns:
        ``(generated, correct)``: tokens g = min(l, cap) and c and l <= cap.
    """
    length = int(pool.lengths[index, rollout])
    return min(length, cap), bool(pool.correct[index, rollout]) and length <= cap
