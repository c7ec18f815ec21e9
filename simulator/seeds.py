"""Explicit, named randomness: one child generator per consumer.

``rng_for(seed, "arrivals")`` and ``rng_for(seed, "rollouts")`` are independent streams
derived from one scenario seed. Two policies run on the same seed therefore see the
same arrivals and the same rollout draws (common random numbers), and adding a new
consumer never shifts the numbers an existing one sees. No global random state is used.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["rng_for", "seed_sequence"]


def seed_sequence(seed: int, *names: str | int) -> np.random.SeedSequence:
    """A SeedSequence keyed by ``seed`` and a path of names (stable across runs)."""
    key = tuple(n if isinstance(n, int) else zlib.crc32(n.encode()) for n in names)
    return np.random.SeedSequence(entropy=int(seed), spawn_key=key)


def rng_for(seed: int, *names: str | int) -> np.random.Generator:
    """A fresh PCG64 generator for consumer ``names`` under ``seed``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *names)))
