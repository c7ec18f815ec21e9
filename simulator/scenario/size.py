"""The size of a scenario run, estimated before it starts, against its limits.

A run's work grows with its arrivals, its allocator ticks and its GPU windows. Each is
estimated from the scenario alone (no I/O):

* horizon H: ``duration``, or ``n_queries`` over the mean arrival rate;
* arrivals: ``n_queries``, or the integrated arrival rate over ``duration``;
* allocator ticks: H / ``allocator.period`` (every arrival when the period is 0, or
  for an online policy, which decides at each arrival);
* GPU windows: H / ``output.gpu_window``.

An estimate above its limit (``limits.max_arrivals``, ``limits.max_ticks``,
``limits.max_gpu_windows``; 10 million each by default) is refused when the scenario
is validated, with the estimate and the fix. A legitimately big run raises the limit in
the scenario (``limits: {max_ticks: 50000000}``) or with ``--set limits.max_ticks=50000000``.
Trace arrivals are bounded by their file and are not estimated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, Field

from simulator.checks import Count, StrictModel, check_size

__all__ = ["DEFAULT_LIMIT", "LimitSpec", "check_run_size", "estimate"]

DEFAULT_LIMIT = 10_000_000


class LimitSpec(StrictModel):
    """Run-size limits, checked before a run starts (see :mod:`simulator.scenario.size`)."""

    model_config = ConfigDict(frozen=True)

    max_arrivals: Count = Field(default=DEFAULT_LIMIT, description="most arrivals a run "
                                "may have (estimated from the rate and duration)")
    max_ticks: Count = Field(default=DEFAULT_LIMIT, description="most allocator ticks a "
                             "run may have (horizon / allocator.period)")
    max_gpu_windows: Count = Field(default=DEFAULT_LIMIT, description="most gpu.parquet "
                                   "windows a run may have (horizon / output.gpu_window)")


def _lambda(arrivals: Any, t: float) -> float:
    """Expected arrivals in [0, t)."""
    if arrivals.kind in ("poisson", "gamma"):
        return float(arrivals.rate) * t
    times = np.array([p.time for p in arrivals.schedule] + [np.inf])
    rates = np.array([p.rate for p in arrivals.schedule])
    spans = np.clip(np.minimum(times[1:], t) - times[:-1], 0.0, None)
    return float((spans * rates).sum())


def _time_of(arrivals: Any, n: float) -> float:
    """When the n-th arrival is expected (inf if the rate dies out first)."""
    if arrivals.kind in ("poisson", "gamma"):
        return n / float(arrivals.rate)
    points = arrivals.schedule
    for i, p in enumerate(points):
        end = points[i + 1].time if i + 1 < len(points) else np.inf
        seg = p.rate * (end - p.time) if p.rate > 0 else 0.0
        if seg >= n:
            return float(p.time + n / p.rate)
        n -= seg
    return float(points[-1].time)  # the last rate is 0: arrivals stop there


def estimate(scenario: Any) -> dict[str, float] | None:
    """Estimated ``horizon`` (s), ``arrivals``, ``ticks`` and ``gpu_windows`` of a run,
    or None for trace arrivals (bounded by their file)."""
    specs = ([scenario.arrivals] if scenario.streams is None
             else [s.arrivals for s in scenario.streams])
    specs = [a for a in specs if a.kind != "trace"]  # a trace is bounded by its file
    if not specs or (scenario.duration is None) == (scenario.n_queries is None):
        return None
    if scenario.duration is not None:
        horizon = float(scenario.duration)
        count = sum(_lambda(a, horizon) for a in specs)
    else:  # several streams reach n_queries together no later than any one alone
        count = float(scenario.n_queries)
        horizon = min(_time_of(a, count) for a in specs)
    from simulator.policies.online import ONLINE  # decided at each arrival: period 0

    period = float(scenario.allocator.period)
    online = scenario.allocator.policy in ONLINE
    ticks = count if period == 0 or online else horizon / period
    return {"horizon": horizon, "arrivals": count, "ticks": ticks,
            "gpu_windows": horizon / float(scenario.output.gpu_window)}


def check_run_size(scenario: Any) -> None:
    """Refuse a scenario whose estimated size exceeds its ``limits``.

    Raises:
        UserError: "this run would need about N allocator ticks (...)" with the fields to
            change and the limit to raise.
    """
    est = estimate(scenario)
    if est is None:
        return
    lim: LimitSpec = scenario.limits
    span = (f"duration {scenario.duration:g} s" if scenario.duration is not None
            else f"n_queries {scenario.n_queries} at the arrival rate")
    check_size(est["arrivals"], lim.max_arrivals,
               f"arrivals ({span})",
               "lower the rate, duration or n_queries, or raise limits.max_arrivals "
               "(e.g. --set limits.max_arrivals=N)")
    if scenario.allocator.period > 0:
        check_size(est["ticks"], lim.max_ticks,
                   f"allocator ticks (a horizon of {est['horizon']:.3g} s / "
                   f"allocator.period {scenario.allocator.period:g} s)",
                   "use a longer allocator.period or a shorter run, or raise "
                   "limits.max_ticks (e.g. --set limits.max_ticks=N)")
    check_size(est["gpu_windows"], lim.max_gpu_windows,
               f"GPU windows (a horizon of {est['horizon']:.3g} s / output.gpu_window "
               f"{scenario.output.gpu_window:g} s)",
               "use a wider output.gpu_window, or raise limits.max_gpu_windows "
               "(e.g. --set limits.max_gpu_windows=N)")
