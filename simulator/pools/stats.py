"""Summary figures of rollout data: accuracy, length quantiles, cap mass, S-curves.

One home for the numbers that both ``clearsim pool inspect`` prints and the synthetic
calibration (``bench/calibrate.py``, :mod:`simulator.pools.embedded.calibration`) compares. Every
function works on flat per-rollout arrays, so a real CSV and a :class:`Pool` give
directly comparable figures. Lengths are in generated tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from simulator.pools.pool import Pool

__all__ = [
    "BUDGETS",
    "LENGTH_BINS",
    "QUANTILES",
    "Figures",
    "Rollouts",
    "figures",
    "rollouts_of",
    "summary",
]

QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
#: Edges (tokens) of the accuracy-by-length bins; the last bin holds capped rollouts.
LENGTH_BINS: tuple[int, ...] = (0, 256, 512, 1024, 2048)
#: Budgets (tokens) of the accuracy-at-budget curve: 64 .. 16384, doubling.
BUDGETS: tuple[int, ...] = tuple(64 * 2**i for i in range(9))


@dataclass(frozen=True)
class Rollouts:
    """Flat per-rollout arrays (all of length R).

    Attributes:
        query: (R,) query index or id per rollout (groups rollouts into queries).
        length: (R,) generated tokens.
        correct: (R,) bool grade.
        at_cap: (R,) bool, the rollout was cut at the collection cap.
        level: (R,) int difficulty level, 0 where unknown.
        prompt: (R,) prompt tokens of the rollout's query, 0 where unknown.
    """

    query: np.ndarray
    length: np.ndarray
    correct: np.ndarray
    at_cap: np.ndarray
    level: np.ndarray
    prompt: np.ndarray


@dataclass(frozen=True)
class Figures:
    """Calibration figures of one benchmark (see :func:`figures`)."""

    queries: int
    rollouts: int
    accuracy: float
    logmean: float
    prompt_mean: float
    quantiles: tuple[float, ...]
    cap_fraction: float
    cap_correct: float
    le_256: float
    correct_le_256: float
    bin_accuracy: tuple[float, ...]
    logsd_between: float
    logsd_within: float
    level_fraction: tuple[float, ...]
    level_accuracy: tuple[float, ...]


def rollouts_of(pool: Pool, mask: np.ndarray | None = None) -> Rollouts:
    """Flatten (a row subset of) a pool into :class:`Rollouts`.

    A rollout is "at cap" when its length equals its query's ``max_tokens``.
    """
    rows = np.arange(len(pool)) if mask is None else np.flatnonzero(mask)
    valid = pool.valid[rows]
    q = np.broadcast_to(rows[:, None], valid.shape)[valid]
    length = pool.lengths[rows][valid]
    level = pool.frame["level"].fill_null(0).to_numpy().astype(np.int64)[rows]
    return Rollouts(
        query=q,
        length=length,
        correct=pool.correct[rows][valid],
        at_cap=length >= np.broadcast_to(pool.max_tokens[rows][:, None], valid.shape)[valid],
        level=np.broadcast_to(level[:, None], valid.shape)[valid],
        prompt=np.broadcast_to(pool.prompt_tokens[rows][:, None], valid.shape)[valid],
    )


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


def _log_sds(r: Rollouts) -> tuple[float, float]:
    """SD of per-query mean ln(length) (between) and pooled within-query SD, uncapped."""
    keep = ~r.at_cap
    z, q = np.log(r.length[keep].astype(np.float64)), r.query[keep]
    _, inv, cnt = np.unique(q, return_inverse=True, return_counts=True)
    mean = np.bincount(inv, weights=z) / cnt
    dev2 = np.bincount(inv, weights=(z - mean[inv]) ** 2)
    multi = cnt > 1
    within = np.sqrt(dev2[multi].sum() / (cnt[multi] - 1).sum()) if multi.any() else float("nan")
    return float(mean.std(ddof=1)) if mean.size > 1 else 0.0, float(within)


def figures(r: Rollouts) -> Figures:
    """The calibration figures of one benchmark's rollouts.

    ``logmean`` is the mean ln(length) of uncapped rollouts; ``logsd_*`` split their
    spread into between-query and within-query parts; ``cap_correct`` is the accuracy
    of capped rollouts; ``le_256`` / ``correct_le_256`` the fraction of rollouts of at
    most 256 tokens (and correct).

    ``bin_accuracy`` is the accuracy of uncapped rollouts in each LENGTH_BINS bin (the
    last bin is open-ended), then of capped ones. ``level_*`` cover levels 1-5 (empty
    when no level is known).
    """
    length = r.length.astype(np.float64)
    edges = np.asarray(LENGTH_BINS[1:], dtype=np.float64)
    b = np.where(r.at_cap, len(LENGTH_BINS), np.searchsorted(edges, length, side="left"))
    bins = tuple(_mean(r.correct[b == i]) for i in range(len(LENGTH_BINS) + 1))
    between, within = _log_sds(r)
    has_level = (r.level > 0).any()
    levels = range(1, 6) if has_level else range(0)
    return Figures(
        queries=int(np.unique(r.query).size),
        rollouts=int(r.length.size),
        accuracy=_mean(r.correct),
        logmean=_mean(np.log(length[~r.at_cap])),
        prompt_mean=_mean(r.prompt.astype(np.float64)),
        quantiles=tuple(float(v) for v in np.quantile(length, QUANTILES)),
        cap_fraction=_mean(r.at_cap),
        cap_correct=_mean(r.correct[r.at_cap]),
        le_256=_mean(length <= 256),
        correct_le_256=_mean(r.correct & (length <= 256)),
        bin_accuracy=bins,
        logsd_between=between,
        logsd_within=within,
        level_fraction=tuple(_mean(r.level == v) for v in levels),
        level_accuracy=tuple(_mean(r.correct[r.level == v]) for v in levels),
    )


def _group_summary(pool: Pool, mask: np.ndarray) -> dict[str, object]:
    """Summary of the queries in ``mask`` (see :func:`summary`)."""
    sub = pool.subset(np.flatnonzero(mask))
    r = rollouts_of(sub)
    full = sub.accuracy_at(sub.max_tokens.astype(np.float64))
    curve = {str(b): float(sub.accuracy_at(np.full(len(sub), float(b))).mean())
             for b in BUDGETS}
    return {
        "queries": len(sub),
        "rollouts": int(r.length.size),
        "accuracy": float(full.mean()),
        "solvable": float(sub.solvable.mean()),
        "cap_fraction": float(r.at_cap.mean()),
        "length_quantiles": {f"p{round(q * 100)}": float(v) for q, v in
                             zip(QUANTILES, np.quantile(r.length, QUANTILES), strict=True)},
        "tau_median": float(np.median(sub.tau[sub.solvable])) if sub.solvable.any() else None,
        "accuracy_at_budget": curve,
    }


def summary(pool: Pool) -> dict[str, object]:
    """A JSON-ready summary of a pool: totals plus one block per benchmark and ``all``.

    Each block has queries, rollouts, expected accuracy at the collection cap (mean of
    A_i(max_tokens)), solvable fraction, capped-rollout fraction, rollout length
    quantiles (tokens), the median oracle threshold of solvable queries (tokens) and the
    accuracy-at-budget curve: mean A_i(t) for t in :data:`BUDGETS` (tokens per query).
    """
    k = pool.n_rollouts
    names = sorted(set(pool.benchmarks.tolist()))
    groups = {b: _group_summary(pool, pool.benchmarks == b) for b in names}
    groups["all"] = _group_summary(pool, np.ones(len(pool), dtype=bool))
    return {
        "queries": len(pool),
        "rollouts": int(k.sum()),
        "k_min": int(k.min()),
        "k_max": int(k.max()),
        "levels_known": int(pool.frame["level"].is_not_null().sum()),
        "text_known": int(pool.frame["text"].is_not_null().sum()),
        "benchmarks": groups,
    }
