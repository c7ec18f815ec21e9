"""The embedded default pool: synthetic rollouts calibrated to real THIP figures.

Generative model, per benchmark b (figures from :data:`simulator.pools.embedded.calibration.REAL`):

1. Each query has a latent difficulty ``d ~ N(0, 1)``.
2. Its log-length location is ``mu = logmean_b + sb * (RHO * d + sqrt(1 - RHO^2) * e)``,
   so harder queries think longer (``sb`` is the real between-query spread with the
   within-query noise of the real K removed).
3. Its solvability logit is ``a_b - SLOPE * d``; ``a_b`` is solved so the expected
   accuracy of uncapped rollouts matches the real one.
4. Each of K = 8 rollouts first "loops to the cap" with probability
   ``q = cap_fraction_b * exp(CAP_TILT * d - CAP_TILT^2 / 2)`` (harder queries loop more;
   the mean is the real cap fraction). A looping rollout has length = the query's cap
   ``MAX_MODEL_LEN - prompt_tokens`` and is correct with the solved rate that matches the
   real accuracy of capped rollouts (a boxed answer followed by a loop).
5. Otherwise its length is ``exp(mu + sw * eps)`` (``sw`` the real within-query spread)
   and it is correct with probability ``sigmoid(a_b - SLOPE * d - GAMMA * eps)``: longer
   rollouts of the same query are a little less often right.
6. math500 queries get MATH levels 1-5 by ranking a noisy copy of ``d`` into the real
   level shares. Text is a bag of generated words (see :mod:`simulator.pools.embedded.text`)
   whose topic, wording and length carry a weak difficulty signal.

Everything is drawn from named generators of :func:`simulator.seeds.rng_for`, so the
same seed gives an identical pool, and takes well under a second.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from simulator.pools.embedded.calibration import BENCHMARKS, MAX_MODEL_LEN, REAL, REAL_GREEDY
from simulator.pools.embedded.text import query_texts
from simulator.pools.pool import Pool
from simulator.pools.stats import Figures
from simulator.seeds import rng_for

__all__ = ["CAP_TILT", "GAMMA", "K", "LEVEL_NOISE", "RHO", "SLOPE", "default_pool",
           "greedy_pool"]

K = 8  #: rollouts per query
RHO = 0.7  #: correlation of difficulty with the log-length location
SLOPE = 4.0  #: solvability logit change per unit of difficulty (bimodal per-query accuracy)
GAMMA = 0.3  #: within-query logit penalty per within-query SD of ln(length)
CAP_TILT = 0.8  #: how much faster harder queries loop to the cap (log-odds-like tilt)
LEVEL_NOISE = 1.4  #: SD of the noise added to d before ranking into MATH levels
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(16)
_GH_W = _GH_W / _GH_W.sum()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _solve_shift(target: float, base: np.ndarray, weight: np.ndarray, within: float) -> float:
    """Shift ``a`` with ``sum(w * E_eps sigmoid(a + base - within * eps)) / sum(w) = target``.

    E over ``eps ~ N(0, 1)`` uses 16-point Gauss-Hermite quadrature; bisection on
    [-30, 30] (the mean is increasing in ``a``), 60 iterations.
    """
    target = float(np.clip(target, 1e-4, 1 - 1e-4))
    x = base[:, None] - within * _GH_X[None, :]
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        mean = float((weight * (_sigmoid(mid + x) @ _GH_W)).sum() / weight.sum())
        lo, hi = (mid, hi) if mean < target else (lo, mid)
    return 0.5 * (lo + hi)


def _levels(d: np.ndarray, fractions: tuple[float, ...], rng: np.random.Generator) -> np.ndarray:
    """MATH levels 1..5: ranks of ``d + noise`` cut at the real level shares."""
    score = d + LEVEL_NOISE * rng.standard_normal(d.size)
    rank = np.argsort(np.argsort(score, kind="stable"), kind="stable") / d.size
    edges = np.cumsum(fractions)[:-1] / sum(fractions)
    return np.searchsorted(edges, rank, side="right").astype(np.int64) + 1


def _benchmark(name: str, fig: Figures, seed: int, k: int = K, shape: Figures | None = None,
               stream: str = "synthetic") -> pl.DataFrame:
    """One benchmark's queries (``fig.queries`` rows) as a pool frame.

    Args:
        fig: the figures accuracy, cap fraction, cap accuracy and mean log-length are
            calibrated to.
        k: rollouts per query.
        shape: the figures the length spreads come from (between- and within-query
            SD need K > 1 real rollouts); ``fig`` itself when None.
        stream: the name of the rollouts' random stream (the queries themselves, their
            difficulty, text and levels, always come from the default pool's streams).
    """
    shape = fig if shape is None else shape
    rng = rng_for(seed, "synthetic", name, "latent")
    n = fig.queries
    d = rng.standard_normal(n)
    k_real = shape.rollouts / shape.queries
    sb = float(np.sqrt(max(shape.logsd_between**2 - shape.logsd_within**2 / k_real, 0.01)))
    mu = fig.logmean + sb * (RHO * d + np.sqrt(1 - RHO**2) * rng.standard_normal(n))
    q = np.minimum(fig.cap_fraction * np.exp(CAP_TILT * d - CAP_TILT**2 / 2), 0.9)
    base = -SLOPE * d
    a = _solve_shift((fig.accuracy - fig.cap_fraction * fig.cap_correct)
                     / (1 - fig.cap_fraction), base, 1 - q, GAMMA)
    c = _solve_shift(fig.cap_correct, a + base, q, 0.0)
    level = _levels(d, shape.level_fraction, rng) if shape.level_fraction else None
    text, prompt = query_texts(name, d, shape.prompt_mean,
                               rng_for(seed, "synthetic", name, "text"))
    cap = MAX_MODEL_LEN - prompt

    r = rng_for(seed, stream, name, "rollouts")
    eps = r.standard_normal((n, k))
    loops = r.random((n, k)) < q[:, None]
    natural = np.rint(np.exp(mu[:, None] + shape.logsd_within * eps)).astype(np.int64)
    length = np.clip(natural, 1, cap[:, None])
    at_cap = loops | (length >= cap[:, None])
    length = np.where(at_cap, cap[:, None], length)
    p = np.where(at_cap, _sigmoid(c + a + base)[:, None],
                 _sigmoid(a + base[:, None] - GAMMA * eps))
    correct = r.random((n, k)) < p
    return pl.DataFrame({
        "id": [f"{name}-{i + 1:04d}" for i in range(n)],
        "benchmark": [name] * n,
        "text": text,
        "level": level,
        "prompt_tokens": prompt,
        "max_tokens": cap,
        "lengths": length.tolist(),
        "correct": correct.tolist(),
    }, schema_overrides={"level": pl.Int64})


def default_pool(seed: int = 0) -> Pool:
    """The synthetic default pool: 500 math500, 272 minerva_math, 30 + 30 AIME queries.

    Args:
        seed: the scenario seed; the same seed gives an identical pool.

    Returns:
        A validated :class:`Pool` with K = 8 rollouts per query (lengths in tokens,
        capped at ``16384 - prompt_tokens`` like the real collection).
    """
    frames = [_benchmark(b, REAL[b], seed) for b in BENCHMARKS]
    return Pool.from_frame(pl.concat(frames, how="vertical_relaxed"), source="default pool")


def greedy_pool(seed: int = 0) -> Pool:
    """``default-greedy``: the default pool's queries with one (greedy-like) rollout each.

    The same ids, text, levels, difficulties and log-length locations as
    :func:`default_pool` with the same seed; one rollout per query (K = 1) calibrated
    to the real greedy-proxy figures :data:`calibration.REAL_GREEDY` (accuracy, cap
    fraction and accuracy, mean log-length of the first real rollout per problem), with
    the length spreads of the full real data (:data:`calibration.REAL`).
    """
    frames = [_benchmark(b, REAL_GREEDY[b], seed, k=1, shape=REAL[b], stream="synthetic-greedy")
              for b in BENCHMARKS]
    return Pool.from_frame(pl.concat(frames, how="vertical_relaxed"),
                           source="default-greedy pool")
