"""Client patience draws: one value per query number, from the ``patience`` stream.

Values are drawn in blocks of :data:`BLOCK` query numbers from one named child of the
scenario seed, so query q's patience depends only on the seed and q: two policies on
one scenario see the same patience per query (common random numbers), and no other
stream shifts.
"""

from __future__ import annotations

import numpy as np

from simulator.serving.spec import ExponentialPatience, FixedPatience, LognormalPatience

__all__ = ["BLOCK", "PatienceDraws"]

BLOCK = 1 << 16
"""Query numbers per block of draws (part of the random stream)."""

Spec = FixedPatience | ExponentialPatience | LognormalPatience


class PatienceDraws:
    """Patience (s) per query number for ``spec``, drawn lazily with ``rng``."""

    def __init__(self, spec: Spec, rng: np.random.Generator) -> None:
        self.spec, self.rng = spec, rng
        self._blocks: dict[int, np.ndarray] = {}
        self._drawn = 0

    def _draw(self) -> np.ndarray:
        spec = self.spec
        if isinstance(spec, FixedPatience):
            return np.full(BLOCK, spec.seconds)
        if isinstance(spec, ExponentialPatience):
            return self.rng.exponential(spec.mean, BLOCK)
        return spec.median * np.exp(spec.sigma * self.rng.standard_normal(BLOCK))

    def _draw_to(self, top: int) -> None:
        """Draw every block up to ``top`` (in order: the stream never skips)."""
        while self._drawn <= top:
            self._blocks[self._drawn] = self._draw()
            self._drawn += 1
            for old in [k for k in self._blocks if k < self._drawn - 2]:
                del self._blocks[old]  # queries are decided about in arrival order

    def of(self, q: np.ndarray) -> np.ndarray:
        """(n,) patience (s) of query numbers ``q`` (any order)."""
        if not q.size:
            return np.empty(0)
        top = int(q.max()) // BLOCK
        self._draw_to(top)
        b = q // BLOCK
        if int(b.min()) == top:
            return self._blocks[top][q - top * BLOCK]
        return np.array([self._blocks[int(k)][int(i) % BLOCK] for k, i in zip(b, q,
                                                                                strict=True)])

    def one(self, q: int) -> float:
        """Patience (s) of query number ``q``."""
        return float(self.of(np.array([q]))[0])

    def span(self, q0: int, q1: int) -> list[float]:
        """Patience (s) of query numbers ``q0 .. q1 - 1`` as Python floats (the values
        of :meth:`of`, without arrays on the hot path of small ticks)."""
        self._draw_to((q1 - 1) // BLOCK)
        out: list[float] = []
        while q0 < q1:
            b = q0 // BLOCK
            hi = min(q1, (b + 1) * BLOCK)
            out.extend(self._blocks[b][q0 - b * BLOCK:hi - b * BLOCK].tolist())
            q0 = hi
        return out
