"""The large-N exact solver (histogram bracket, no full sort) against the sorted one.

``_solve_binned`` does not depend on N being large, so it is checked on small random
inputs (with ties, per-query beta, tight and loose budgets) against ``_solve_sorted``:
the same funded set, the same price and caps up to float rounding, or None (fall back).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.allocation.shadow_price import (
    LARGE,
    _as_beta,
    _solve_binned,
    _solve_sorted,
    solve_exact,
)

# Few distinct values, so ties (within a bin and of whole bins) are common.
tied = arrays(np.float64, st.integers(1, 80),
              elements=st.sampled_from([1.0, 7.0, 50.0, 50.5, 300.0, 301.0, 4000.0, 1e5]))
spread = arrays(np.float64, st.integers(1, 80), elements=st.floats(1.0, 2e4))


def _agree(t: np.ndarray, budget: float, beta: np.ndarray | float) -> bool:
    b = _as_beta(beta, t.size)
    a = b * t
    ref = _solve_sorted(t, b, a, budget, 2.0)
    got = _solve_binned(t, b, a, budget, 2.0)
    if got is None:
        return False
    assert np.array_equal(got.funded, ref.funded)
    assert np.isclose(got.lam, ref.lam, rtol=1e-12, atol=1e-15)
    assert np.allclose(got.caps, ref.caps, rtol=1e-12, atol=1e-9)
    assert got.caps.sum() <= budget * (1 + 1e-9) + 1e-9
    return True


@settings(max_examples=300, deadline=None)
@given(st.one_of(tied, spread), st.floats(1e-3, 3e5), st.floats(1e-4, 0.1))
def test_binned_matches_sorted(t: np.ndarray, budget: float, beta: float) -> None:
    _agree(t, budget, beta)


@settings(max_examples=100, deadline=None)
@given(spread, st.floats(1.0, 3e5), st.integers(0, 2**32 - 1))
def test_binned_matches_sorted_per_query_beta(t: np.ndarray, budget: float, seed: int) -> None:
    beta = np.random.default_rng(seed).uniform(1e-4, 1e-2, t.size)
    _agree(t, budget, beta)


def test_binned_rarely_falls_back() -> None:
    """The fast path is taken (not just the fallback) on ordinary inputs."""
    rng = np.random.default_rng(1)
    taken = 0
    for _ in range(200):
        n = int(rng.integers(50, 3000))
        t = np.exp(rng.normal(6.5, 1.0, n))
        budget = float(rng.uniform(10, 2000)) * n
        taken += _agree(t, budget, 1.0 / max(budget / n, 1.0))
    assert taken >= 195


def test_large_n_uses_the_bracket_and_agrees() -> None:
    rng = np.random.default_rng(2)
    n = LARGE + 1000
    t = np.round(np.exp(rng.normal(6.5, 1.0, n)))   # whole tokens: many ties
    budget = 256.0 * n
    sol = solve_exact(t, budget, 2.0, 1.0 / 256)
    b = _as_beta(1.0 / 256, n)
    ref = _solve_sorted(t, b, b * t, budget, 2.0)
    assert _solve_binned(t, b, b * t, budget, 2.0) is not None
    assert np.array_equal(sol.funded, ref.funded)
    assert np.allclose(sol.caps, ref.caps, rtol=1e-12, atol=1e-9)
    assert 0.2 < sol.funded.mean() < 0.9
