"""Empirical-Bayes deconvolution: the NPMLE prior and the posterior of ln tau."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.allocation.deconvolve import MAX_ATOMS, fit_prior, posterior


def _two_points(n: int, sd: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(n) < 0.3, 5.0, 7.0)
    return truth, truth + sd * rng.standard_normal(n)


@pytest.mark.parametrize("n", [600, 20_000])   # 20 000 points are binned first
def test_recovers_a_two_point_prior(n: int) -> None:
    _, x = _two_points(n, 0.3)
    prior = fit_prior(x, 0.3)
    assert prior.weights.sum() == pytest.approx(1.0)
    near5 = prior.weights[np.abs(prior.atoms - 5.0) < 0.3].sum()
    near7 = prior.weights[np.abs(prior.atoms - 7.0) < 0.3].sum()
    assert near5 == pytest.approx(0.3, abs=0.05) and near7 == pytest.approx(0.7, abs=0.05)


def test_posterior_beats_the_raw_observation_and_knows_the_midpoint() -> None:
    truth, x = _two_points(2000, 0.5)
    prior = fit_prior(x, 0.5)
    mean, sd = posterior(prior, x, 0.5)
    assert np.mean((mean - truth) ** 2) < 0.5 * np.mean((x - truth) ** 2)
    mid_mean, mid_sd = posterior(prior, np.array([6.0]), 0.5)
    assert 5.0 < mid_mean[0] < 7.0 and mid_sd[0] > 0.5     # torn between the two atoms
    far_mean, _ = posterior(prior, np.array([-50.0, 60.0]), 0.5)   # outliers: no 0/0
    assert prior.atoms.min() <= far_mean[0] < 5.5 and 6.5 < far_mean[1] <= prior.atoms.max()


def test_a_constant_sample_is_one_atom() -> None:
    prior = fit_prior(np.full(30, 6.5), 0.2)
    assert prior.atoms.tolist() == [6.5]
    mean, sd = posterior(prior, np.array([6.0, 7.0]), 0.2)
    assert np.allclose(mean, 6.5) and np.allclose(sd, 0.0)


@settings(max_examples=60, deadline=None)
@given(x=arrays(np.float64, st.integers(1, 300), elements=st.floats(0.0, 11.0)),
       sd=st.floats(0.01, 2.0))
def test_well_formed_and_deterministic(x: np.ndarray, sd: float) -> None:
    a, b = fit_prior(x, sd), fit_prior(x, sd)
    assert np.array_equal(a.weights, b.weights) and a.atoms.size <= MAX_ATOMS
    assert (a.weights >= 0).all() and a.weights.sum() == pytest.approx(1.0)
    mean, post_sd = posterior(a, x, sd)
    assert np.isfinite(mean).all() and (post_sd >= 0).all()
    assert (mean >= x.min() - 1e-9).all() and (mean <= x.max() + 1e-9).all()


@pytest.mark.parametrize("x,sd,match", [
    (np.array([]), 0.3, "non-empty"),
    (np.array([1.0, np.nan]), 0.3, "finite"),
    (np.array([1.0, 2.0]), 0.0, "sd must be > 0"),
])
def test_bad_input(x: np.ndarray, sd: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_prior(x, sd)


def test_resolvable_needs_atoms_within_half_an_sd() -> None:
    from simulator.allocation.deconvolve import MAX_SPACING, resolvable

    x = np.array([0.0, (MAX_ATOMS - 1) * MAX_SPACING * 0.1])   # exactly at the limit for 0.1
    assert resolvable(x, 0.1) and not resolvable(x, 0.099)
    assert resolvable(np.full(5, 3.0), 1e-6)   # one atom is exact
