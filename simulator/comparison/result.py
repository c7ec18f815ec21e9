"""A finished comparison: per policy and metric the mean over seeds with its interval,
the paired difference (and ratio) to the reference policy, and one headline per policy.

Built by :func:`build_comparison` from the per-run summaries; written by
:mod:`simulator.comparison.outputs`; read back by the report from ``comparison.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from simulator.comparison.metrics import Metric, present_metrics
from simulator.comparison.stats import LEVEL, Interval, interval, paired, ratio

__all__ = ["UPPER_BOUNDS", "Comparison", "PolicyRow", "build_comparison", "is_upper_bound"]

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
    from simulator.comparison.headline import headline

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
