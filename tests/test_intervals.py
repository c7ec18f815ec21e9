"""The shared Student-t half-width."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulator.experiments.intervals import t_half_width


def test_matches_the_t_formula_and_is_nan_for_one_seed() -> None:
    half = t_half_width(np.array([0.02, 0.02, np.nan]), np.array([10, 4, 1]))
    assert half[0] == pytest.approx(stats.t.ppf(0.975, 9) * 0.02 / np.sqrt(10))
    assert half[1] == pytest.approx(stats.t.ppf(0.975, 3) * 0.02 / 2)
    assert np.isnan(half[2])
    assert t_half_width(np.array([1.0]), np.array([30]), level=0.9)[0] == pytest.approx(
        stats.t.ppf(0.95, 29) / np.sqrt(30))
