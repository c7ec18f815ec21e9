"""Sensitivity of CLEAR to the adaptive-beta constant kappa (beta = kappa / mean budget).

Prints clear's accuracy (and uniform's, for scale) on one stream sample for each kappa
and mean budget, averaged over seeds. Usage:

    python bench/kappa.py [--pool default] [--kappas 0.25,0.5,1,2,4] [--seeds 5]
"""

from __future__ import annotations

import argparse

import numpy as np

from predictors.base import make_predictor
from simulator.experiments.frontier import score_batch
from simulator.pools.source import resolve_pool
from simulator.seeds import rng_for
from simulator.traffic.streams import sample_stream


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pool", default="default")
    ap.add_argument("--stream", default="balanced")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--kappas", default="0.25,0.5,1,2,4")
    ap.add_argument("--budgets", default="64,128,256,512,1024,2048")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    pool = resolve_pool(args.pool)
    kappas = [float(k) for k in args.kappas.split(",")]
    budgets = [float(b) for b in args.budgets.split(",")]
    pred_model = make_predictor("noisy-oracle", sigma=args.noise)
    acc = np.zeros((len(kappas) + 1, len(budgets)))
    for seed in range(args.seeds):
        index = sample_stream(pool, args.stream, args.n, rng_for(seed, "stream"))
        batch = pool.subset(index)
        pred = pred_model.predict(pool, index, rng_for(seed, "predictor"))
        for j, b in enumerate(budgets):
            acc[0, j] += score_batch(batch, pred, b * args.n, "uniform").accuracy
            for i, k in enumerate(kappas):
                acc[i + 1, j] += score_batch(batch, pred, b * args.n, "clear",
                                             {"kappa": k}).accuracy
    acc /= args.seeds
    print(f"accuracy, pool={args.pool} stream={args.stream} n={args.n} "
          f"noise={args.noise} seeds={args.seeds}")
    print(f"{'':<14}" + "".join(f"{b:>8g}" for b in budgets))
    print(f"{'uniform':<14}" + "".join(f"{v:>8.3f}" for v in acc[0]))
    for i, k in enumerate(kappas):
        print(f"{'clear k=' + format(k, 'g'):<14}" + "".join(f"{v:>8.3f}" for v in acc[i + 1]))


if __name__ == "__main__":
    main()
