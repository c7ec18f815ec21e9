"""How much can any threshold-based policy gain over CLEAR under noisy-oracle noise?

For each sigma, compares on the same stream samples and the same predictor noise
(10 seeds, balanced stream, 256 tokens/query on the default pool):

* clear and clear-calibrated (the registered policies, default parameters, so
  clear-calibrated deconvolves T), and clear-calibrated with ``shrink: false``;
* two empirical-Bayes ceilings. Each query's expected S-curve given its prediction T is
  E[A(t) | T] = sum_j w_j A_j(t), with w_j proportional to phi((ln T - ln tau_j) / sigma)
  over the whole pool, allocated by greedy filling of the curves' concave envelopes.
  They know the noise model and every pool query's truth, so they are optimistic
  bounds, not deployable policies:

  - ``phi-ceiling``: A_j(t) = q_j Phi((ln t - ln tau_j) / w), clear-calibrated's own
    utility with each query's true plateau q_j, tau_j and the pool's within spread w:
    the best any policy of that utility form could do;
  - ``bayes-ceiling``: A_j the true replay curves.

Prints the mean accuracy and the paired difference to clear with its 95% t-interval.
Usage: python bench/calibrated_ceiling.py [--sigmas 0.3,0.6] [--seeds 10] [--first-seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats
from scipy.special import ndtr

from predictors.base import make_predictor
from predictors.noise import within_spread
from simulator.experiments.frontier import score_batch
from simulator.policies.oracle import greedy_fill, hull_segments
from simulator.pools.source import resolve_pool
from simulator.seeds import rng_for
from simulator.traffic.streams import sample_stream


def hull_greedy(curves: np.ndarray, grid: np.ndarray, budget: float) -> np.ndarray:
    """Caps (tokens) filling each row's concave envelope on ``grid``, best slope first."""
    segs = [seg for i, row in enumerate(curves) for seg in hull_segments(grid, row, i)]
    return greedy_fill(segs, len(curves), budget)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sigmas", default="0.3,0.6")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds run from here (pick other seeds than the acceptance's 0-9 "
                         "to check a finding out of sample)")
    ap.add_argument("--mean-budget", type=float, default=256.0)
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    pool = resolve_pool("default")
    grid = np.unique(np.round(np.geomspace(16, float(pool.max_tokens.max()), 120)))
    curves_all = np.stack([pool.accuracy_at(np.full(len(pool), g)) for g in grid], axis=1)
    ln_tau = np.log(pool.tau)
    plateau = (pool.correct & pool.valid).sum(axis=1) / pool.n_rollouts
    phi_all = plateau[:, None] * ndtr((np.log(grid)[None, :] - ln_tau[:, None])
                                      / within_spread(pool))
    budget = args.mean_budget * args.n
    tq = stats.t.ppf(0.975, args.seeds - 1)
    print(f"seeds {args.first_seed}..{args.first_seed + args.seeds - 1}")
    print(f"{'sigma':>5} {'policy':<17} {'accuracy':>8} {'minus clear':>12} {'95% +-':>8}")
    for sigma in (float(s) for s in args.sigmas.split(",")):
        model = make_predictor("noisy-oracle", sigma=sigma)
        acc: dict[str, list[float]] = {k: [] for k in (
            "clear", "clear-calibrated", "calibrated-no-eb", "phi-ceiling", "bayes-ceiling")}
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            idx = sample_stream(pool, "balanced", args.n, rng_for(seed, "stream"))
            batch = pool.subset(idx)
            pred = model.predict(pool, idx, rng_for(seed, "predictor"))
            for name in ("clear", "clear-calibrated"):
                acc[name].append(score_batch(batch, pred, budget, name).accuracy)
            acc["calibrated-no-eb"].append(score_batch(batch, pred, budget, "clear-calibrated",
                                                       {"shrink": False}).accuracy)
            w = np.exp(-0.5 * ((np.log(pred.thresholds)[:, None] - ln_tau[None, :])
                               / max(sigma, 1e-3)) ** 2)
            w /= w.sum(axis=1, keepdims=True)
            for name, curves in (("phi-ceiling", phi_all), ("bayes-ceiling", curves_all)):
                caps = hull_greedy(w @ curves, grid, budget)
                acc[name].append(float(batch.accuracy_at(caps).mean()))
        base = np.array(acc["clear"])
        for name, vals in acc.items():
            d = np.array(vals) - base
            half = tq * d.std(ddof=1) / np.sqrt(args.seeds)
            print(f"{sigma:>5g} {name:<17} {np.mean(vals):>8.4f} {d.mean():>+12.4f} {half:>8.4f}")


if __name__ == "__main__":
    main()
