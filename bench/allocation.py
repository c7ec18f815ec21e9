"""The allocation acceptance figures of issue 13: waste at sigma 0, ample budgets, the
Bayes ceiling, and the policy ranking on greedy (K = 1) pools.

Usage (from the repo root; THIP is ``clearsim pool import
../shared/data/rollouts/thip-qwen7b-rl/raw -o /tmp/alloc/thip.parquet``)::

    .venv/bin/python bench/allocation.py --thip /tmp/alloc/thip.parquet [--parts exact,ample,ceiling,rank]

Parts (each prints one table; policies are scored with
:func:`simulator.experiments.frontier.score_batch` on the same stream samples and
predictor noise as ``clearsim frontier --seed S``):

* ``exact``: sigma 0, 256 tokens/query, every stream, seeds 0-9: the recommended policy
  against the oracle on a K = 1 re-sample of the default pool (first rollout per query,
  re-collected at 1024 tokens), and against clear-cutoff on the default and THIP pools.
* ``ample``: 1024 and 2048 tokens/query, sigma 0.3, every stream, default and THIP,
  seeds 0-9: the recommended policy minus uniform (paired mean and 95% t half-width),
  uniform's own seed-to-seed 95% half-width, and abandonment.
* ``ceiling``: 256 tokens/query, sigma 0.3, balanced, default pool, seeds 0-9: the
  recommended policy against ``bench/calibrated_ceiling.py``'s bayes-ceiling and uniform.
* ``rank``: Kendall tau between the policy rankings on ``default-greedy`` and on a K = 1
  re-sample of THIP (first rollout per query), every budget 64-2048, sigma 0 and 0.3,
  every stream (mean accuracy over the seeds).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibrated_ceiling import hull_greedy  # noqa: E402

from predictors.base import make_predictor  # noqa: E402
from simulator.experiments.frontier import score_batch  # noqa: E402
from simulator.pools.derive import first_rollout, recap  # noqa: E402
from simulator.pools.pool import Pool, load_pool  # noqa: E402
from simulator.pools.source import resolve_pool  # noqa: E402
from simulator.seeds import rng_for  # noqa: E402
from simulator.traffic.streams import MIXES, sample_stream  # noqa: E402

RECOMMENDED: tuple[str, dict[str, Any]] = ("shadow-price", {})
POLICIES: dict[str, tuple[str, dict[str, Any]]] = {
    "uniform": ("uniform", {}),
    "tale": ("tale", {}),
    "clear-heuristic": ("clear-heuristic", {}),
    "clear-cutoff": ("clear-cutoff", {}),
    "clear": ("clear", {}),
    "clear-integral": ("clear-integral", {}),
    "clear-calibrated": ("clear-calibrated", {}),
    "shadow-price": RECOMMENDED,
    "oracle": ("oracle", {}),
}
SEEDS = range(10)


def scores(pool: Pool, stream: str, sigma: float, budgets: Sequence[float],
           policies: Mapping[str, tuple[str, dict[str, Any]]], seeds: Sequence[int] = SEEDS,
           n: int = 500) -> dict[tuple[str, float], np.ndarray]:
    """(label, budget) -> (seeds, 2) array of (accuracy, abandonment)."""
    model = make_predictor("noisy-oracle", sigma=sigma)
    out: dict[tuple[str, float], list[tuple[float, float]]] = {}
    for seed in seeds:
        idx = sample_stream(pool, stream, n, rng_for(seed, "stream"))
        batch = pool.subset(idx)
        pred = model.predict(pool, idx, rng_for(seed, "predictor"))
        for label, (name, params) in policies.items():
            for b in budgets:
                s = score_batch(batch, pred, b * n, name, params)
                out.setdefault((label, b), []).append((s.accuracy, s.abandonment_rate))
    return {k: np.array(v) for k, v in out.items()}


def half(x: np.ndarray) -> float:
    """95% Student-t half-width of the mean of ``x``."""
    return float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))


def part_exact(pools: dict[str, Pool]) -> None:
    k1 = recap(first_rollout(pools["default"]), 1024)
    print("## sigma 0, 256 tokens/query, seeds 0-9 (mean accuracy)")
    print("| pool | stream | shadow-price | oracle | ratio | clear-cutoff | minus cutoff | clear |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    pol = {k: POLICIES[k] for k in ("shadow-price", "oracle", "clear-cutoff", "clear")}
    for name, pool in (("default K=1 @1024", k1), *pools.items()):
        for stream in MIXES:
            s = scores(pool, stream, 0.0, [256.0], pol)
            m = {k: float(s[(k, 256.0)][:, 0].mean()) for k in pol}
            print(f"| {name} | {stream} | {m['shadow-price']:.4f} | {m['oracle']:.4f} | "
                  f"{m['shadow-price'] / m['oracle']:.3f} | {m['clear-cutoff']:.4f} | "
                  f"{m['shadow-price'] - m['clear-cutoff']:+.4f} | {m['clear']:.4f} |")


def part_ample(pools: dict[str, Pool]) -> None:
    print("## sigma 0.3, seeds 0-9: shadow-price minus uniform")
    print("| pool | stream | budget | shadow-price | uniform | diff | diff 95% +- | "
          "uniform seed 95% +- | abandonment | clear | clear abandonment |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    pol = {k: POLICIES[k] for k in ("shadow-price", "uniform", "clear")}
    for name, pool in pools.items():
        for stream in MIXES:
            s = scores(pool, stream, 0.3, [1024.0, 2048.0], pol)
            for b in (1024.0, 2048.0):
                sp, un, cl = s[("shadow-price", b)], s[("uniform", b)], s[("clear", b)]
                d = sp[:, 0] - un[:, 0]
                print(f"| {name} | {stream} | {b:g} | {sp[:, 0].mean():.4f} | "
                      f"{un[:, 0].mean():.4f} | {d.mean():+.4f} | {half(d):.4f} | "
                      f"{half(un[:, 0]):.4f} | {sp[:, 1].mean():.3f} | {cl[:, 0].mean():.4f} | "
                      f"{cl[:, 1].mean():.3f} |")


def part_ceiling(pool: Pool) -> None:
    """The bayes-ceiling exactly as bench/calibrated_ceiling.py computes it."""
    grid = np.unique(np.round(np.geomspace(16, float(pool.max_tokens.max()), 120)))
    curves = np.stack([pool.accuracy_at(np.full(len(pool), g)) for g in grid], axis=1)
    ln_tau = np.log(pool.tau)
    model = make_predictor("noisy-oracle", sigma=0.3)
    acc: dict[str, list[float]] = {"shadow-price": [], "clear-calibrated": [], "uniform": [],
                                   "clear": [], "bayes-ceiling": []}
    for seed in SEEDS:
        idx = sample_stream(pool, "balanced", 500, rng_for(seed, "stream"))
        batch = pool.subset(idx)
        pred = model.predict(pool, idx, rng_for(seed, "predictor"))
        for k in ("shadow-price", "clear-calibrated", "uniform", "clear"):
            name, params = POLICIES[k]
            acc[k].append(score_batch(batch, pred, 256.0 * 500, name, params).accuracy)
        w = np.exp(-0.5 * ((np.log(pred.thresholds)[:, None] - ln_tau[None, :]) / 0.3) ** 2)
        w /= w.sum(axis=1, keepdims=True)
        acc["bayes-ceiling"].append(float(batch.accuracy_at(
            hull_greedy(w @ curves, grid, 256.0 * 500)).mean()))
    ceil = np.array(acc["bayes-ceiling"])
    print("## 256 tokens/query, sigma 0.3, balanced, default pool, seeds 0-9")
    print("| policy | accuracy | minus bayes-ceiling | 95% +- | x uniform |")
    print("|---|---:|---:|---:|---:|")
    uni = float(np.mean(acc["uniform"]))
    for k, v in acc.items():
        d = np.array(v) - ceil
        print(f"| {k} | {np.mean(v):.4f} | {d.mean():+.4f} | {half(d):.4f} | "
              f"{np.mean(v) / uni:.2f} |")


def kendall(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall tau-b of two score lists (ties count as in scipy)."""
    return float(stats.kendalltau(a, b).statistic)


def part_rank(thip: Pool, seeds: Sequence[int]) -> None:
    greedy = resolve_pool("default-greedy")
    thip1 = first_rollout(thip)
    budgets = [64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0]
    names = [k for k in POLICIES if k != "oracle"]
    pol = {k: POLICIES[k] for k in names}
    print(f"## Kendall tau of policy rankings, default-greedy vs THIP first rollout, "
          f"seeds {seeds[0]}-{seeds[-1]}; policies: {', '.join(names)}")
    print("| sigma | stream | " + " | ".join(f"{b:g}" for b in budgets) + " |")
    print("|---|---|" + "---:|" * len(budgets))
    low = 1.0
    for sigma in (0.0, 0.3):
        for stream in MIXES:
            sg = scores(greedy, stream, sigma, budgets, pol, seeds)
            st = scores(thip1, stream, sigma, budgets, pol, seeds)
            taus = [kendall([sg[(k, b)][:, 0].mean() for k in names],
                            [st[(k, b)][:, 0].mean() for k in names]) for b in budgets]
            low = min(low, *taus)
            print(f"| {sigma:g} | {stream} | " + " | ".join(f"{t:.2f}" for t in taus) + " |")
    print(f"lowest tau: {low:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--thip", required=True, help="the THIP pool Parquet")
    ap.add_argument("--parts", default="exact,ample,ceiling,rank")
    ap.add_argument("--rank-seeds", type=int, default=5)
    args = ap.parse_args()
    pools = {"default": resolve_pool("default"), "thip": load_pool(args.thip)}
    parts = args.parts.split(",")
    if "exact" in parts:
        part_exact(pools)
    if "ample" in parts:
        part_ample(pools)
    if "ceiling" in parts:
        part_ceiling(pools["default"])
    if "rank" in parts:
        part_rank(pools["thip"], list(range(args.rank_seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
