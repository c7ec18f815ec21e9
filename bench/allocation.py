"""The allocation acceptance figures of issue 13: waste at sigma 0, ample budgets, the
Bayes ceiling, and the policy ranking on greedy (K = 1) pools.

Usage (from the repo root; THIP is ``clearsim pool import
../shared/data/rollouts/thip-qwen7b-rl/raw -o /tmp/alloc/thip.parquet``)::

    .venv/bin/python bench/allocation.py [--thip /tmp/alloc/thip.parquet] [--parts exact,ample,ceiling,rank]

Parts (each prints one table; policies are scored with
:func:`simulator.experiments.frontier.score_batch` on the same stream samples and
predictor noise as ``clearsim frontier --seed S``):

* ``exact``: sigma 0, 256 tokens/query, every stream, seeds 0-9: the recommended policy
  against the oracle on a K = 1 re-sample of the default pool (first rollout per query,
  re-collected at 1024 tokens), with the estimate of the best correctness-blind policy
  (:func:`blind_bound`), and against clear-cutoff on the default and THIP pools.
* ``ample``: 1024 and 2048 tokens/query, sigma 0.3, every stream, default and THIP,
  seeds 0-9: the recommended policy minus uniform (paired mean and 95% t half-width),
  uniform's own seed-to-seed 95% half-width, abandonment, the share of queries that fit
  at their predicted T, and the bayes-ceiling.
* ``ceiling``: 256 tokens/query, sigma 0.3, balanced, default pool, seeds 0-9: the
  recommended policy against ``bench/calibrated_ceiling.py``'s bayes-ceiling and uniform.
* ``rank``: Kendall tau between the policy rankings on ``default-greedy`` and on a K = 1
  re-sample of THIP (first rollout per query), every budget 64-2048, sigma 0 and 0.3,
  every stream (mean accuracy over the seeds), and the same over the pairs that seed
  noise resolves (:func:`kendall_resolved`).

Every table has a pass column (or line) for its acceptance item.
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


def blind_bound(pool: Pool, batch: Pool, thresholds: np.ndarray, budget: float,
                bins: int = 20) -> float:
    """An estimate of what a policy blind to correctness can reach with exact T (K = 1).

    Such a policy knows, at best, p(T) = P(correct | T): here the share of correct
    rollouts in the pool's bin of ln tau (``bins`` quantile bins, fitted in sample).
    Its expected accuracy is then at most the LP relaxation of the knapsack
    max sum_i p_i x_i s.t. sum_i T_i x_i <= B, 0 <= x_i <= 1 (greedy by p/T, the last
    item fractional), divided by n. It is an expectation under the binned p, not a
    bound on one batch's realisation (a batch can beat it by luck).
    """
    edges = np.quantile(np.log(pool.tau), np.linspace(0.0, 1.0, bins + 1))
    which = np.clip(np.searchsorted(edges, np.log(pool.tau), side="right") - 1, 0, bins - 1)
    hit = pool.accuracy_at(np.asarray(pool.max_tokens, dtype=np.float64))
    p_bin = np.array([hit[which == k].mean() if (which == k).any() else 0.0
                      for k in range(bins)])
    b_which = np.clip(np.searchsorted(edges, np.log(thresholds), side="right") - 1, 0,
                      bins - 1)
    p = p_bin[b_which]
    order = np.argsort(-p / thresholds, kind="stable")
    cum = np.cumsum(thresholds[order])
    full = cum <= budget
    total = float(p[order][full].sum())
    k = int(full.sum())
    if k < order.size:
        prev = float(cum[k - 1]) if k else 0.0
        total += float(p[order][k]) * (budget - prev) / float(thresholds[order][k])
    return total / thresholds.size


def part_exact(pools: dict[str, Pool]) -> None:
    k1 = recap(first_rollout(pools["default"]), 1024)
    print("## (a) sigma 0, 256 tokens/query, seeds 0-9 (mean accuracy)")
    print("targets: K=1 row: shadow-price / oracle >= 0.95; every row: shadow-price minus "
          "clear-cutoff >= -0.01")
    print("| pool | stream | shadow-price | oracle | ratio | blind estimate / oracle | "
          "clear-cutoff | minus cutoff | clear | pass |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    pol = {k: POLICIES[k] for k in ("shadow-price", "oracle", "clear-cutoff", "clear")}
    model = make_predictor("noisy-oracle", sigma=0.0)
    for name, pool in (("default K=1 @1024", k1), *pools.items()):
        for stream in MIXES:
            s = scores(pool, stream, 0.0, [256.0], pol)
            m = {k: float(s[(k, 256.0)][:, 0].mean()) for k in pol}
            ratio = m["shadow-price"] / m["oracle"]
            behind = m["shadow-price"] - m["clear-cutoff"]
            ok = behind >= -0.01
            bound = ""
            if pool is k1:
                ok = ok and ratio >= 0.95
                vals = []
                for seed in SEEDS:
                    idx = sample_stream(pool, stream, 500, rng_for(seed, "stream"))
                    pred = model.predict(pool, idx, rng_for(seed, "predictor"))
                    vals.append(blind_bound(pool, pool.subset(idx), pred.thresholds,
                                            256.0 * 500))
                bound = f"{float(np.mean(vals)) / m['oracle']:.3f}"
            print(f"| {name} | {stream} | {m['shadow-price']:.4f} | {m['oracle']:.4f} | "
                  f"{ratio:.3f} | {bound} | {m['clear-cutoff']:.4f} | "
                  f"{behind:+.4f} | {m['clear']:.4f} | {'yes' if ok else 'NO'} |")


def fit_share(thresholds: np.ndarray, budget: float) -> float:
    """Share of queries in the shortest-first prefix whose predicted T sum to <= B: a
    policy that funds a query only at or above its T abandons at least 1 minus this."""
    return float(np.mean(np.cumsum(np.sort(thresholds)) <= budget))


def part_ample(pools: dict[str, Pool]) -> None:
    print("## (b) sigma 0.3, seeds 0-9: shadow-price minus uniform")
    print("targets: diff >= -(uniform seed 95% +-); abandonment at 2048 < 0.05. "
          "'fit at T' is the share of queries whose predicted T fit under B shortest "
          "first; 'bayes' is bench/calibrated_ceiling.py's bayes-ceiling (accuracy / "
          "abandonment)")
    print("| pool | stream | budget | shadow-price | uniform | diff | diff 95% +- | "
          "uniform seed 95% +- | abandonment | fit at T | clear | clear abandonment | "
          "bayes | pass |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    pol = {k: POLICIES[k] for k in ("shadow-price", "uniform", "clear")}
    model = make_predictor("noisy-oracle", sigma=0.3)
    for name, pool in pools.items():
        grid, curves = pool_curves(pool)
        for stream in MIXES:
            s = scores(pool, stream, 0.3, [1024.0, 2048.0], pol)
            extra: dict[float, list[tuple[float, float, float]]] = {1024.0: [], 2048.0: []}
            for seed in SEEDS:
                idx = sample_stream(pool, stream, 500, rng_for(seed, "stream"))
                batch = pool.subset(idx)
                pred = model.predict(pool, idx, rng_for(seed, "predictor"))
                for b in extra:
                    caps = bayes_caps(pool, grid, curves, pred.thresholds, 0.3, b * 500)
                    extra[b].append((fit_share(pred.thresholds, b * 500),
                                     float(batch.accuracy_at(caps).mean()),
                                     float((caps <= 0).mean())))
            for b in (1024.0, 2048.0):
                sp, un, cl = s[("shadow-price", b)], s[("uniform", b)], s[("clear", b)]
                d = sp[:, 0] - un[:, 0]
                fit, bay, bay_ab = np.mean(extra[b], axis=0)
                ok = d.mean() >= -half(un[:, 0]) and (b < 2048 or sp[:, 1].mean() < 0.05)
                print(f"| {name} | {stream} | {b:g} | {sp[:, 0].mean():.4f} | "
                      f"{un[:, 0].mean():.4f} | {d.mean():+.4f} | {half(d):.4f} | "
                      f"{half(un[:, 0]):.4f} | {sp[:, 1].mean():.3f} | {fit:.3f} | "
                      f"{cl[:, 0].mean():.4f} | {cl[:, 1].mean():.3f} | "
                      f"{bay:.4f} / {bay_ab:.3f} | {'yes' if ok else 'NO'} |")


def pool_curves(pool: Pool) -> tuple[np.ndarray, np.ndarray]:
    """The bayes-ceiling's grid and every pool query's replay curve on it."""
    grid = np.unique(np.round(np.geomspace(16, float(pool.max_tokens.max()), 120)))
    return grid, np.stack([pool.accuracy_at(np.full(len(pool), g)) for g in grid], axis=1)


def bayes_caps(pool: Pool, grid: np.ndarray, curves: np.ndarray, thresholds: np.ndarray,
               sigma: float, budget: float) -> np.ndarray:
    """bench/calibrated_ceiling.py's bayes-ceiling caps for one batch's predictions."""
    w = np.exp(-0.5 * ((np.log(thresholds)[:, None] - np.log(pool.tau)[None, :])
                       / max(sigma, 1e-3)) ** 2)
    w /= w.sum(axis=1, keepdims=True)
    return hull_greedy(w @ curves, grid, budget)


def part_ceiling(pool: Pool) -> None:
    """The bayes-ceiling exactly as bench/calibrated_ceiling.py computes it."""
    grid, curves = pool_curves(pool)
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
        caps = bayes_caps(pool, grid, curves, pred.thresholds, 0.3, 256.0 * 500)
        acc["bayes-ceiling"].append(float(batch.accuracy_at(caps).mean()))
    ceil = np.array(acc["bayes-ceiling"])
    print("## (c) 256 tokens/query, sigma 0.3, balanced, default pool, seeds 0-9")
    print("| policy | accuracy | minus bayes-ceiling | 95% +- | x uniform |")
    print("|---|---:|---:|---:|---:|")
    uni = float(np.mean(acc["uniform"]))
    for k, v in acc.items():
        d = np.array(v) - ceil
        print(f"| {k} | {np.mean(v):.4f} | {d.mean():+.4f} | {half(d):.4f} | "
              f"{np.mean(v) / uni:.3f} |")
    gap = float(np.mean(acc["shadow-price"]) - ceil.mean())
    times = float(np.mean(acc["shadow-price"])) / uni
    print(f"targets: within 0.005 of the bayes-ceiling ({gap:+.4f}: "
          f"{'yes' if abs(gap) <= 0.005 else 'NO'}), >= 3x uniform ({times:.3f}x: "
          f"{'yes' if times >= 3.0 else 'NO'})")


def kendall(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall tau-b of two score lists (ties count as in scipy)."""
    return float(stats.kendalltau(a, b).statistic)


def resolved_signs(runs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Pairwise order of the policies: +-1 where the paired seed differences' 95%
    interval excludes 0, 0 (a tie) where it does not."""
    names = list(runs)
    out = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            d = runs[a] - runs[b]
            if i < j and abs(d.mean()) > (half(d) if d.std() > 0 else 0.0):
                out[i, j] = np.sign(d.mean())
    return out


def kendall_resolved(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
    """tau-b over the pairs that both pools order beyond seed noise (1.0 if none)."""
    sa, sb = resolved_signs(a), resolved_signs(b)
    na, nb = float(np.abs(sa).sum()), float(np.abs(sb).sum())
    return float((sa * sb).sum() / np.sqrt(na * nb)) if na and nb else 1.0


def part_rank(thip: Pool, seeds: Sequence[int]) -> None:
    greedy = resolve_pool("default-greedy")
    thip1 = first_rollout(thip)
    budgets = [64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0]
    names = [k for k in POLICIES if k != "oracle"]
    pol = {k: POLICIES[k] for k in names}
    print(f"## (d) Kendall tau of policy rankings, default-greedy vs THIP first rollout, "
          f"seeds {seeds[0]}-{seeds[-1]}; policies: {', '.join(names)}")
    print("each cell: tau-b of the mean accuracies (resolved: tau-b over the pairs whose "
          "paired 95% interval excludes 0 on their pool, the rest counted as ties)")
    print("| sigma | stream | " + " | ".join(f"{b:g}" for b in budgets) + " |")
    print("|---|---|" + "---:|" * len(budgets))
    low, low_r = 1.0, 1.0
    for sigma in (0.0, 0.3):
        for stream in MIXES:
            sg = scores(greedy, stream, sigma, budgets, pol, seeds)
            st = scores(thip1, stream, sigma, budgets, pol, seeds)
            cells = []
            for b in budgets:
                t = kendall([sg[(k, b)][:, 0].mean() for k in names],
                            [st[(k, b)][:, 0].mean() for k in names])
                r = kendall_resolved({k: sg[(k, b)][:, 0] for k in names},
                                     {k: st[(k, b)][:, 0] for k in names})
                low, low_r = min(low, t), min(low_r, r)
                cells.append(f"{t:.2f} ({r:.2f})")
            print(f"| {sigma:g} | {stream} | " + " | ".join(cells) + " |")
    print(f"lowest tau: {low:.2f} (target >= 0.8: {'yes' if low >= 0.8 else 'NO'}); "
          f"lowest resolved tau: {low_r:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--thip", default="/tmp/alloc/thip.parquet",
                    help="the THIP pool Parquet (its rows are skipped when it is absent)")
    ap.add_argument("--parts", default="exact,ample,ceiling,rank")
    ap.add_argument("--rank-seeds", type=int, default=5)
    args = ap.parse_args()
    pools = {"default": resolve_pool("default")}
    if Path(args.thip).is_file():
        pools["thip"] = load_pool(args.thip)
    else:
        print(f"note: no THIP pool at {args.thip}: its rows and part rank are skipped")
    parts = args.parts.split(",")
    if "exact" in parts:
        part_exact(pools)
    if "ample" in parts:
        part_ample(pools)
    if "ceiling" in parts:
        part_ceiling(pools["default"])
    if "rank" in parts and "thip" in pools:
        part_rank(pools["thip"], list(range(args.rank_seeds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
