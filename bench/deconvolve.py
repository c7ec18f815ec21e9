"""Empirical-Bayes deconvolution (simulator/allocation/deconvolve.py): speed and threshold error.

For each noise SD, on balanced batches of 500 default-pool queries under noisy-oracle
noise (seeds 0-4), prints the time of one prior fit and one posterior, and the RMS error
of ln T against the true ln tau: raw, after the posterior with the shipped early-stopped
EM (at most MAX_ITER iterations), and with EM run 20,000 iterations (near the exact
NPMLE).

Usage: python bench/deconvolve.py [--sds 0.1,0.3,0.6,1.0] [--seeds 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import simulator.allocation.deconvolve as dec
from predictors.base import make_predictor
from simulator.pools.source import resolve_pool
from simulator.seeds import rng_for
from simulator.traffic.streams import sample_stream


def _rmse(xs: list[np.ndarray], truths: list[np.ndarray], sd: float) -> float:
    err = []
    for x, truth in zip(xs, truths, strict=True):
        mean, _ = dec.posterior(dec.fit_prior(x, sd), x, sd)
        err.append(np.mean((mean - truth) ** 2))
    return float(np.sqrt(np.mean(err)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sds", default="0.1,0.3,0.6,1.0")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    pool = resolve_pool("default")
    print(f"{'sd':>4} {'fit ms':>7} {'post ms':>8} {'rmse raw':>9} "
          f"{'shipped':>8} {'20k iter':>9}")
    shipped = (dec.MAX_ITER, dec.TOL)
    for sd in (float(v) for v in args.sds.split(",")):
        model = make_predictor("noisy-oracle", sigma=sd)
        xs, truths = [], []
        for seed in range(args.seeds):
            idx = sample_stream(pool, "balanced", 500, rng_for(seed, "stream"))
            pred = model.predict(pool, idx, rng_for(seed, "predictor"))
            xs.append(np.log(pred.thresholds))
            truths.append(np.log(pool.tau[idx]))
        start = time.perf_counter()
        prior = dec.fit_prior(xs[0], sd)
        fit_ms = 1e3 * (time.perf_counter() - start)
        start = time.perf_counter()
        dec.posterior(prior, xs[0], sd)
        post_ms = 1e3 * (time.perf_counter() - start)
        raw = float(np.sqrt(np.mean([np.mean((x - t) ** 2) for x, t in zip(xs, truths,
                                                                            strict=True)])))
        dec.MAX_ITER, dec.TOL = shipped
        early = _rmse(xs, truths, sd)
        dec.MAX_ITER, dec.TOL = 20_000, 0.0
        full = _rmse(xs, truths, sd)
        dec.MAX_ITER, dec.TOL = shipped
        print(f"{sd:>4g} {fit_ms:>7.1f} {post_ms:>8.2f} {raw:>9.3f} {early:>8.3f} {full:>9.3f}")


if __name__ == "__main__":
    main()
