"""Replicated policy comparisons: N seeds with common random numbers, per-metric means
and 95% intervals, paired differences to a reference policy, outputs others can read.

Sits above :mod:`simulator.des` (it runs the engine) and below :mod:`simulator.sweep`
and the CLI. See docs/comparison.md.
"""

from simulator.comparison.metrics import METRICS, Metric
from simulator.comparison.replicate import (
    DEFAULT_POLICIES,
    compare,
    compare_to_dir,
    replication_seeds,
)
from simulator.comparison.result import Comparison

__all__ = ["DEFAULT_POLICIES", "METRICS", "Comparison", "Metric", "compare",
           "compare_to_dir", "replication_seeds"]
