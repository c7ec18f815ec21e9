"""One sentence per policy against the reference, with 95% intervals.

``clear: 4.4x uniform's accuracy (95% CI 4.1x-4.7x); refuses 54% of queries; p95 time
to outcome +6.2 s (95% CI +5.9 to +6.5 s)``. A difference whose interval covers 0 is
said to be unresolved rather than given a sign. Upper-bound policies (oracle) are
marked so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.comparison.stats import Interval

if TYPE_CHECKING:
    from simulator.comparison.result import Comparison

__all__ = ["headline"]


def _ci(iv: Interval, fmt: str, unit: str = "", sign: bool = True) -> str:
    if iv.ci_low is None or iv.ci_high is None:
        return "one seed: no interval"
    s = "+" if sign else ""
    return f"95% CI {iv.ci_low:{s}{fmt}}{unit} to {iv.ci_high:{s}{fmt}}{unit}"


def _accuracy(c: Comparison, policy: str) -> str | None:
    row = c.row(policy, "accuracy")
    if row is None or row.diff is None or row.diff.mean is None:
        return None
    ref = c.reference
    if row.diff.excludes_zero is False:
        return (f"accuracy not resolved from {ref}'s (difference {row.diff.mean:+.3f}, "
                f"{_ci(row.diff, '.3f')})")
    if row.ratio is not None and row.ratio.mean is not None:
        r = row.ratio
        ci = ("one seed: no interval" if r.ci_low is None or r.ci_high is None
              else f"95% CI {r.ci_low:.2f}x to {r.ci_high:.2f}x")
        return (f"{r.mean:.2f}x {ref}'s accuracy ({ci}; difference {row.diff.mean:+.3f}, "
                f"{_ci(row.diff, '.3f')})")
    return f"accuracy {row.diff.mean:+.3f} against {ref} ({_ci(row.diff, '.3f')})"


def _share(c: Comparison, policy: str, key: str, verb: str) -> str | None:
    row = c.row(policy, key)
    if row is None or row.stats.mean is None or row.stats.mean < 0.005:
        return None
    return f"{verb} {row.stats.mean:.0%} of queries"


def _seconds(c: Comparison, policy: str, key: str, what: str) -> str | None:
    row = c.row(policy, key)
    if row is None or row.diff is None or row.diff.mean is None:
        return None
    if row.diff.excludes_zero is False or abs(row.diff.mean) < 0.05:
        return None
    return f"{what} {row.diff.mean:+.1f} s ({_ci(row.diff, '.1f', ' s')})"


def _tokens(c: Comparison, policy: str) -> str | None:
    row = c.row(policy, "tokens_per_query")
    ref = c.row(c.reference, "tokens_per_query")
    if row is None or row.diff is None or row.diff.mean is None or ref is None \
            or not ref.stats.mean or abs(row.diff.mean) < 0.05 * ref.stats.mean:
        return None
    return f"tokens/query {row.diff.mean:+,.0f} ({_ci(row.diff, ',.0f')})"


def headline(c: Comparison, policy: str) -> str:
    """The headline of ``policy`` (the reference gets its own figures)."""
    from simulator.comparison.result import is_upper_bound

    name = f"{policy} (upper bound: sees the true thresholds)" if is_upper_bound(policy) \
        else policy
    if policy == c.reference:
        acc = c.row(policy, "accuracy")
        if acc is None or acc.stats.mean is None:
            return f"{name}: the reference; no arrivals"
        return (f"{name}: the reference; accuracy {acc.stats.mean:.3f} "
                f"({_ci(acc.stats, '.3f', sign=False)})")
    parts = [p for p in (
        _accuracy(c, policy),
        _share(c, policy, "abandonment_rate", "refuses"),
        _share(c, policy, "timed_out_rate", "times out"),
        _tokens(c, policy),
        _seconds(c, policy, "time_to_outcome_p95", "p95 time to outcome"),
        _seconds(c, policy, "latency_p95", "p95 latency of answered queries"),
    ) if p]
    return f"{name}: " + ("; ".join(parts) if parts else "no figures (no arrivals)")
