"""A finished comparison: per policy and metric the mean over seeds with its interval,
the paired difference (and ratio) to the reference policy, and one headline per policy.

A headline reads ``clear: 4.4x uniform's accuracy (95% CI 4.1x to 4.7x; ...); refuses
54% of queries; p95 time to outcome +6.2 s (95% CI ...)``. A difference whose interval
covers 0 is said to be unresolved rather than given a sign; upper-bound policies
(oracle) are marked so.

Built by :func:`build_comparison` from the per-run summaries; written by
:mod:`simulator.comparison.outputs`; read back by the report from ``comparison.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.comparison.metrics import Metric, present_metrics
from simulator.comparison.stats import LEVEL, Interval, interval, paired, ratio

__all__ = ["UPPER_BOUNDS", "Comparison", "PolicyRow", "build_comparison", "headline",
           "is_upper_bound"]

#: Policies that know what no deployment can (the true thresholds, the outcome).
UPPER_BOUNDS = ("oracle", "hindsight")


def is_upper_bound(policy: str) -> bool:
    """True for a policy whose figures are an upper bound (it sees the truth)."""
    return policy in UPPER_BOUNDS or policy.startswith(("oracle-", "hindsight-"))


@dataclass(frozen=True)
class PolicyRow:
    """One policy x metric: the per-seed values, their interval, the paired difference
    to the reference and the ratio to it (None where undefined)."""

    policy: str
    metric: str
    values: list[float | None]
    stats: Interval
    diff: Interval | None
    ratio: Interval | None


@dataclass
class Comparison:
    """Everything ``comparison.json`` holds (see docs/comparison.md).

    Attributes:
        scenario: :func:`simulator.comparison.describe.scenario_facts`.
        description: the scenario in one sentence.
        policies: policy names in run order.
        params: policy -> its parameters.
        reference: the policy differences are taken against.
        seeds: the replication seeds (common random numbers across policies).
        metrics: the reported metrics (those some run has).
        rows: one per policy x metric.
        headlines: policy -> one sentence against the reference.
        fingerprint: of the resolved scenario, policies, seeds and input files.
        runs: policy -> seed -> run folder (relative to the output folder), if written.
    """

    scenario: dict[str, Any]
    description: str
    policies: list[str]
    params: dict[str, dict[str, Any]]
    reference: str
    seeds: list[int]
    metrics: list[Metric]
    rows: list[PolicyRow]
    headlines: dict[str, str]
    fingerprint: str
    level: float = LEVEL
    runs: dict[str, dict[str, str]] = field(default_factory=dict)

    def row(self, policy: str, metric: str) -> PolicyRow | None:
        """The row of ``policy`` x ``metric``, if that metric is reported."""
        return next((r for r in self.rows if r.policy == policy and r.metric == metric),
                    None)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value)


def build_comparison(summaries: Mapping[str, Sequence[Mapping[str, Any]]], *,
                     scenario: dict[str, Any], description: str,
                     params: Mapping[str, Mapping[str, Any]], reference: str,
                     seeds: Sequence[int], fingerprint: str,
                     runs: Mapping[str, Mapping[str, str]] | None = None) -> Comparison:
    """Aggregate ``summaries`` (policy -> one summary per seed, in ``seeds`` order)."""
    policies = list(summaries)
    metrics = present_metrics([s for per in summaries.values() for s in per])
    rows: list[PolicyRow] = []
    for policy in policies:
        for m in metrics:
            values = [_num(s.get(m.key)) for s in summaries[policy]]
            ref = [_num(s.get(m.key)) for s in summaries[reference]]
            own = policy == reference
            rows.append(PolicyRow(policy, m.key, values, interval(values),
                                  None if own else paired(values, ref),
                                  None if own else ratio(values, ref)))
    out = Comparison(scenario, description, policies,
                     {p: dict(params.get(p, {})) for p in policies}, reference, list(seeds),
                     metrics, rows, {}, fingerprint,
                     runs={p: dict(v) for p, v in (runs or {}).items()})
    out.headlines = {p: headline(out, p) for p in policies}
    return out


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
    sees = "the whole run's outcomes, offline" if policy.startswith("hindsight") \
        else "the true thresholds"
    name = f"{policy} (upper bound: sees {sees})" if is_upper_bound(policy) else policy
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
