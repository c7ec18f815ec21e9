"""The small-N plain-Python solver and leftover spending are the array path bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.allocation import shadow_price as sp

small = st.integers(1, sp.SMALL)
tied = arrays(np.float64, small, elements=st.sampled_from([1.0, 3.0, 50.0, 50.0000001, 700.0]))
wide = arrays(np.float64, small, elements=st.floats(1e-3, 1e6))
budgets = st.one_of(st.just(0.0), st.floats(1e-6, 1e7), st.sampled_from([50.0, 100.0, 1400.0]))


def _same(x: sp.Solution, y: sp.Solution) -> None:
    assert x.caps.dtype == y.caps.dtype == np.float64
    assert x.caps.tobytes() == y.caps.tobytes()
    assert np.array_equal(x.funded, y.funded)
    assert x.lam == y.lam


@settings(max_examples=500, deadline=None)
@given(st.one_of(tied, wide), budgets, st.floats(1e-5, 1.0), st.floats(0.1, 10.0))
def test_small_solver_is_the_sorted_path(t: np.ndarray, budget: float, beta: float,
                                         alpha: float) -> None:
    b = np.full(t.size, beta)
    ref = sp._solve_sorted(t, b, b * t, budget, alpha)
    _same(sp.solve_exact(t, budget, alpha, beta), ref)


@settings(max_examples=200, deadline=None)
@given(wide, budgets, st.integers(0, 2**32 - 1))
def test_small_solver_per_query_beta(t: np.ndarray, budget: float, seed: int) -> None:
    b = np.random.default_rng(seed).uniform(1e-5, 1e-1, t.size)
    _same(sp.solve_exact(t, budget, 2.0, b), sp._solve_sorted(t, b, b * t, budget, 2.0))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 40), st.integers(0, 2**32 - 1), budgets)
def test_np_sum_and_leftover_match_numpy(n: int, seed: int, budget: float) -> None:
    rng = np.random.default_rng(seed)
    caps = rng.uniform(0, 1000, n) * 10.0 ** rng.integers(-6, 6, n)
    funded = rng.random(n) < 0.5
    caps[~funded] = 0.0
    t = rng.uniform(1, 5000, n)
    a = np.round(rng.uniform(0, 3, n), 1)   # ties in a: the first smallest is marginal
    assert sp._np_sum(caps.tolist()) == float(caps.sum())
    small = sp._spend_leftover_small(caps.tolist(), funded.tolist(), t.tolist(), a.tolist(),
                                     budget)
    assert small is not None
    big = _array_spend(caps, funded, t, a, budget)
    assert np.array(small, dtype=np.float64).tobytes() == big.tobytes()


def _array_spend(caps: np.ndarray, funded: np.ndarray, t: np.ndarray, a: np.ndarray,
                 budget: float) -> np.ndarray:
    """The array path of spend_leftover, forced (it dispatches small inputs away)."""
    old = sp.SMALL
    sp.SMALL = -1
    try:
        return sp.spend_leftover(caps, funded, t, a, budget)
    finally:
        sp.SMALL = old


def test_non_finite_leftover_takes_the_array_path() -> None:
    caps = np.array([np.inf, 1.0])
    assert sp._spend_leftover_small(caps.tolist(), [True, True], [1.0, 1.0], [1.0, 1.0],
                                    10.0) is None
    out = sp.spend_leftover(caps, np.array([True, True]), np.ones(2), np.ones(2), 10.0)
    assert out.shape == (2,)
