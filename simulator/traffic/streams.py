"""Traffic streams: difficulty tiers and the paper's four mixes (model.md section 2).

Tiers are the quartiles of ln(tau) over the pool (0 = easiest, 3 = hardest). A stream
samples queries by drawing a tier with the mix's weights, then a query uniformly within
that tier (with replacement).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from simulator.errors import UserError

if TYPE_CHECKING:
    from simulator.pools.pool import Pool

__all__ = ["MIXES", "TIER_NAMES", "mix_weights", "sample_stream", "tiers"]

MIXES: dict[str, tuple[float, float, float, float]] = {
    "balanced": (1.0, 1.0, 1.0, 1.0),
    "mostly-easy": (0.55, 0.25, 0.12, 0.08),
    "mostly-hard": (0.08, 0.12, 0.25, 0.55),
    "u-shaped": (0.4, 0.1, 0.1, 0.4),
}
TIER_NAMES = ("easy", "medium", "hard", "very-hard")


def mix_weights(mix: str | Sequence[float]) -> np.ndarray:
    """Normalised (4,) tier weights for a mix name or explicit weights.

    Raises:
        UserError: unknown name (lists the valid ones) or bad weights.
    """
    if isinstance(mix, str):
        if mix not in MIXES:
            raise UserError(f"unknown stream {mix!r}; valid streams: {', '.join(MIXES)} "
                            "or four tier weights easy..very-hard")
        w = np.asarray(MIXES[mix], dtype=np.float64)
    else:
        w = np.asarray(list(mix), dtype=np.float64)
        if w.shape != (4,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise UserError(f"stream weights must be four non-negative numbers with a "
                            f"positive sum (easy, medium, hard, very-hard), got {list(mix)}")
    return w / w.sum()


def tiers(pool: Pool) -> np.ndarray:
    """(N,) tier 0..3 of each query: quartiles of ln(tau) over the pool."""
    z = np.log(pool.tau)
    edges = np.quantile(z, [0.25, 0.5, 0.75])
    return np.searchsorted(edges, z, side="right").astype(np.int64)


def sample_stream(pool: Pool, mix: str | Sequence[float], n: int,
                  rng: np.random.Generator, tier: np.ndarray | None = None) -> np.ndarray:
    """(n,) pool indices drawn from ``mix``.

    Empty tiers (tiny pools) have their weight moved to the others.

    Args:
        pool: the pool to sample.
        mix: a mix name or four weights.
        n: number of queries.
        rng: the consumer's generator.
        tier: precomputed ``tiers(pool)``, to skip recomputing it.
    """
    w = mix_weights(mix)
    t = tiers(pool) if tier is None else tier
    members = [np.flatnonzero(t == k) for k in range(4)]
    sizes = np.array([m.size for m in members], dtype=np.float64)
    w = np.where(sizes > 0, w, 0.0)
    if w.sum() <= 0:
        w = sizes
    w = w / w.sum()
    chosen = rng.choice(4, size=n, p=w)
    out = np.empty(n, dtype=np.int64)
    for k in range(4):
        sel = chosen == k
        if sel.any():
            out[sel] = members[k][rng.integers(0, members[k].size, size=int(sel.sum()))]
    return out
