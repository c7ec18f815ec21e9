"""Step-time maths of the fluid clock, in closed form.

Between two events the batch is fixed: n sequences decode, and in chunked-prefill mode
r prompt tokens per step are prefilled. One step takes

    s(x) = a + b x   seconds, after x further steps,

with a = s0 + s1 n + s2 C + p1 r (C the cached context now, tokens) and b = s2 n: every
step adds one token of context per decoding sequence. Treating steps as a fluid
(dx/dt = 1 / s(x)), the time for Dx steps is the integral

    T(Dx) = a Dx + b Dx^2 / 2,

and the steps done in dt seconds invert it, Dx = 2 dt / (a + sqrt(a^2 + 2 b dt)) (the
stable root). With b = 0 these are exactly a Dx and dt / a, the original model's
arithmetic, bit for bit.

Example: n identical sequences with prompt P started together each generate g tokens in
T(g) = g (s0 + s1 n + s2 n P) + s2 n g^2 / 2 seconds.
"""

from __future__ import annotations

import math

__all__ = ["steps_in", "time_for"]


def time_for(dx: float, a: float, b: float) -> float:
    """Seconds for ``dx`` steps when a step takes ``a + b x`` s after x steps."""
    if b == 0.0:
        return dx * a
    return dx * (a + 0.5 * b * dx)


def steps_in(dt: float, a: float, b: float) -> float:
    """Steps done in ``dt`` s when a step takes ``a + b x`` s after x steps (a > 0)."""
    if b == 0.0:
        return dt / a
    return 2.0 * dt / (a + math.sqrt(a * a + 2.0 * b * dt))
