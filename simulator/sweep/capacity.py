"""Capacity search: bisect a scenario parameter for the edge of the SLO-feasible region.

Like Vidur-Search for QPS: ``direction="max"`` finds the highest value (arrival rate)
whose run meets every SLO, ``"min"`` the lowest (token budget rate). Every probe runs
the same scenario seeds, so probes differ only by the parameter (common random
numbers). ``"auto"`` infers the direction from the two end probes.

Without a grid (``grid=0``) feasibility is assumed monotone and the range is bisected.
With ``grid=N`` the two ends and N-2 interior points (geometric when the range spans a
factor of 10 or more) are probed first; each maximal run of passing grid points is a
passing interval whose edges are then bisected. SLOs that pull apart (accuracy rises
with the budget, and so does the latency of long answers) pass on an interval only.

With ``seeds > 1`` each probe runs the scenario's seed and the next ``seeds - 1`` and
passes when the conservative end of each metric's 95% interval meets its SLO: the
lower confidence bound for ``>=``, the upper one for ``<=``.

When no value passes, the range where each SLO holds on its own is bisected as well
(``CapacityResult.held``), so a conflict is reported with both edges: e.g. on
balanced, ``accuracy>=0.5`` holds only above a budget rate of about 2500 tokens/s and
``latency_p95<=15`` (answered queries) only below about 950 (means; the conservative
bounds of 3 seeds narrow both ranges: edges about 5200 and 910).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator.errors import UserError
from simulator.scenario.models import Scenario
from simulator.sweep.grid import set_dotted
from simulator.sweep.slo import Slo, check_names, failed_slos

__all__ = ["CapacityResult", "Probe", "capacity_search", "current_value",
           "default_bracket", "grid_values", "is_integer_field", "summary_metrics",
           "with_value"]

Direction = Literal["max", "min", "auto"]
RunFn = Callable[[Scenario], Mapping[str, Any]]


@dataclass(frozen=True)
class Probe:
    """One simulated value: its summary metrics and whether every SLO held."""

    value: float
    metrics: dict[str, Any]
    passed: bool
    missed: list[str]
    half_widths: dict[str, float] = field(default_factory=dict)
    """95% t half-width of each SLO metric over the seeds (empty with one seed)."""


@dataclass
class CapacityResult:
    """The search outcome.

    Attributes:
        param: the dotted scenario path searched.
        direction: ``max`` or ``min`` (resolved when ``auto``).
        answer: the best value found meeting every SLO, or None when none in range did.
        bracket: (last passing, first failing) values around the edge, when both known.
        at_bound: the answer is an end of the range (the edge may lie beyond it).
        probes: every probe in the order run.
        intervals: with a grid, each passing interval (lowest, highest passing value).
        held: with a grid and no passing value, per SLO (its text) the range where it
            held on its own, edges bisected (None: it held nowhere probed).
    """

    param: str
    direction: str
    answer: float | None
    bracket: tuple[float, float] | None
    at_bound: bool
    probes: list[Probe] = field(default_factory=list)
    intervals: list[tuple[float, float]] = field(default_factory=list)
    held: dict[str, tuple[float, float] | None] = field(default_factory=dict)


def grid_values(lo: float, hi: float, n: int, integer: bool = False) -> list[float]:
    """``n`` points from ``lo`` to ``hi``: geometric when ``hi / lo >= 10``, else even."""
    import numpy as np

    pts = np.geomspace(lo, hi, n) if lo > 0 and hi / lo >= 10 else np.linspace(lo, hi, n)
    values = [float(v) for v in pts]
    values[0], values[-1] = lo, hi
    if integer:
        values = [float(int(round(v))) for v in values]
    return list(dict.fromkeys(values))


def _replicated(run: RunFn, seeds: int, slos: Sequence[Slo]
                ) -> Callable[[Scenario], tuple[dict[str, Any], dict[str, Any],
                                                dict[str, float]]]:
    """A probe function: (mean metrics, conservative bounds the SLOs are checked on,
    95% half-widths of the SLO metrics)."""
    import numpy as np

    from simulator.experiments.intervals import t_half_width

    def go(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any], dict[str, float]]:
        if seeds <= 1:
            m = dict(run(scenario))
            return m, m, {}
        runs = [dict(run(scenario.model_copy(update={"seed": scenario.seed + k})))
                for k in range(seeds)]
        mean: dict[str, Any] = {}
        for key, value in runs[0].items():
            vals = [r.get(key) for r in runs]
            nums = [v for v in vals if isinstance(v, int | float) and not isinstance(v, bool)]
            mean[key] = float(np.mean(nums)) if len(nums) == len(vals) else (
                None if isinstance(value, int | float) or value is None else value)
        bound = dict(mean)
        halves: dict[str, float] = {}
        for slo in slos:
            vals = [r.get(slo.metric) for r in runs]
            if any(v is None for v in vals):
                bound[slo.metric] = None
                continue
            x = np.array(vals, dtype=np.float64)
            half = float(t_half_width(np.array(x.std(ddof=1)), np.array(x.size)))
            halves[slo.metric] = half
            bound[slo.metric] = x.mean() - half if slo.op in (">=", ">") else x.mean() + half
        return mean, bound, halves

    return go


def summary_metrics(scenario: Scenario, run: RunFn) -> list[str]:
    """The numeric summary metrics of ``scenario``, from a one-query dry run."""
    from simulator.scenario.io import parse_scenario
    from simulator.sweep.kind_scenario import DROPPED

    raw = scenario.model_dump(mode="json")
    raw.update(n_queries=1, duration=None)
    summary = run(parse_scenario(raw))
    return [k for k, v in summary.items() if k not in DROPPED and not isinstance(v, bool)
            and (v is None or isinstance(v, int | float))]


def current_value(scenario: Scenario, param: str) -> Any:
    """The scenario's value at the dotted path ``param``.

    Raises:
        UserError: no such field.
    """
    node: Any = scenario.model_dump(mode="json")
    for part in param.split("."):
        if not isinstance(node, dict) or part not in node:
            raise UserError(f"--param {param}: no such scenario field")
        node = node[part]
    return node


def is_integer_field(scenario: Scenario, param: str) -> bool:
    """True when the scenario holds a whole number (not a float) at ``param``."""
    value = current_value(scenario, param)
    return isinstance(value, int) and not isinstance(value, bool)


def default_bracket(scenario: Scenario, param: str) -> tuple[float, float]:
    """(base / 10, base * 10) around the scenario's value of ``param`` (whole numbers for
    an integer field).

    Raises:
        UserError: the path does not exist or does not hold a positive number.
    """
    node = current_value(scenario, param)
    if isinstance(node, bool) or not isinstance(node, int | float) or node <= 0:
        raise UserError(f"--param {param}: the scenario's value {node!r} is not a positive "
                        "number; give --lo and --hi")
    if isinstance(node, int):
        return float(max(1, node // 10)), float(node * 10)
    return node / 10.0, node * 10.0


def with_value(scenario: Scenario, param: str, value: float) -> Scenario:
    """``scenario`` with ``param`` set to ``value`` (validated; UserError names the path)."""
    from simulator.scenario.io import parse_scenario

    return parse_scenario(set_dotted(scenario.model_dump(mode="json"), param, value))


def capacity_search(scenario: Scenario, param: str, slos: Sequence[Slo], lo: float,
                    hi: float, run: RunFn, tol: float | None = None, max_probes: int = 20,
                    direction: Direction = "auto", integer: bool = False,
                    report: Callable[[Probe], None] | None = None, grid: int = 0,
                    seeds: int = 1) -> CapacityResult:
    """Bisect ``param`` in [lo, hi] for the highest (``max``) or lowest (``min``) value
    meeting every SLO.

    Args:
        scenario: the base scenario (its seed is used for every probe).
        param: dotted scenario path, e.g. ``arrivals.rate`` (queries/s).
        slos: the objectives.
        lo, hi: the search range (lo < hi).
        run: simulates a scenario and returns its summary.
        tol: stop when the bracket is this narrow (default (hi - lo) / 256).
        max_probes: at most this many simulations (>= 2).
        direction: ``max``, ``min`` or ``auto`` (from the end probes; when both ends
            pass, ``min`` for a parameter named like a budget, else ``max``).
        integer: probe whole numbers only (e.g. ``gpu.max_seqs``).
        report: called with each probe as it finishes.
        grid: probe this many points first and bisect the edges of every passing
            interval (0: plain bisection, monotone feasibility assumed).
        seeds: replications per probe; SLOs are checked on the conservative end of
            each metric's 95% interval (see the module docstring).

    Raises:
        UserError: a bad range, path or value, an SLO naming an unknown metric, or an
            explicit ``direction`` that the two end probes contradict.
    """
    if not lo < hi:
        raise UserError(f"--lo must be < --hi (got {lo:g} and {hi:g})")
    if max_probes < 2:
        raise UserError("--max-probes must be >= 2 (the two ends of the range)")
    tol = (hi - lo) / 256.0 if tol is None else tol
    if not tol > 0:
        raise UserError(f"--tol must be > 0, got {tol:g}")
    tol = max(tol, 1.0) if integer else tol
    for option, value in (("--lo", lo), ("--hi", hi)):
        try:
            with_value(scenario, param, int(value) if integer else value)
        except UserError as exc:
            raise UserError(f"{option} {value:g}: {exc}") from None
    if grid and grid < 3:
        raise UserError(f"--grid must be 0 (bisection only) or >= 3, got {grid}")
    if seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {seeds}")
    check_names(slos, summary_metrics(scenario, run))
    out = CapacityResult(param, direction, None, None, False)
    measure = _replicated(run, seeds, slos)

    def probe(value: float) -> bool:
        v = int(round(value)) if integer else value
        metrics, bounds, halves = measure(with_value(scenario, param, v))
        missed = [str(s) for s in failed_slos(slos, bounds)]
        p = Probe(float(v), metrics, not missed, missed, halves)
        out.probes.append(p)
        if report is not None:
            report(p)
        return p.passed

    if grid:
        _grid_search(out, probe, lo, hi, tol, max_probes, grid, integer, param)
        if not out.intervals:
            _held_alone(out, probe, [str(s) for s in slos], tol, max_probes, integer)
        return out
    lo_ok, hi_ok = probe(lo), probe(hi)
    if direction == "auto":
        if lo_ok != hi_ok:
            direction = "max" if lo_ok else "min"
        else:
            direction = "min" if "budget" in param else "max"
    out.direction = direction
    good, bad = (lo, hi) if direction == "max" else (hi, lo)
    good_ok, bad_ok = (lo_ok, hi_ok) if direction == "max" else (hi_ok, lo_ok)
    if bad_ok and not good_ok:  # feasibility runs the other way: the answer is not None
        other = "min" if direction == "max" else "max"
        raise UserError(f"--direction {direction}: {param} = {bad:g} meets the SLOs but "
                        f"{good:g} does not, so feasibility runs the other way; use "
                        f"--direction {other} or auto")
    if not good_ok:
        return out  # nothing in range meets the SLOs (given monotone feasibility)
    if bad_ok:
        out.answer, out.at_bound = bad, True
        return out
    while abs(bad - good) > tol and len(out.probes) < max_probes:
        mid = (good + bad) / 2.0
        if integer:
            mid = float(int(round(mid)))
            if mid in (good, bad):
                break
        if probe(mid):
            good = mid
        else:
            bad = mid
    out.answer, out.bracket = good, (good, bad)
    return out


def _edge(probe: Callable[[float], bool], good: float, bad: float, tol: float,
          budget: Callable[[], bool], integer: bool) -> float:
    """Bisect between a passing ``good`` and a failing ``bad``; the last passing value."""
    while abs(bad - good) > tol and budget():
        mid = (good + bad) / 2.0
        if integer:
            mid = float(int(round(mid)))
            if mid in (good, bad):
                break
        if probe(mid):
            good = mid
        else:
            bad = mid
    return good


def _held_alone(out: CapacityResult, probe: Callable[[float], bool], slos: list[str],
                tol: float, max_probes: int, integer: bool) -> None:
    """Nothing passed: per SLO, the range where it held on its own, each inner edge
    bisected on that SLO alone (its feasibility assumed monotone; with several runs of
    holding probes, the outermost span is reported)."""
    def budget() -> bool:
        return len(out.probes) < max_probes

    for slo in slos:
        def holds(value: float, slo: str = slo) -> bool:
            probe(value)
            return slo not in out.probes[-1].missed

        values = sorted({p.value for p in out.probes})
        ok = {p.value: slo not in p.missed for p in out.probes}
        good = [v for v in values if ok[v]]
        if not good:
            out.held[slo] = None
            continue
        i, j = values.index(good[0]), values.index(good[-1])
        low = good[0] if i == 0 else _edge(holds, good[0], values[i - 1], tol, budget,
                                           integer)
        high = good[-1] if j == len(values) - 1 else _edge(holds, good[-1], values[j + 1],
                                                           tol, budget, integer)
        out.held[slo] = (low, high)


def _conflicts(out: CapacityResult, probe: Callable[[float], bool], tol: float,
               max_probes: int, integer: bool) -> None:
    """Where no grid point passes but neighbours miss disjoint SLOs (one fails from below,
    the other from above), bisect the gap on which SLO fails: a narrow passing interval
    between grid points is found (each SLO's feasibility assumed monotone)."""
    if any(p.passed for p in out.probes):
        return
    by_value = {p.value: set(p.missed) for p in out.probes}
    values = sorted(by_value)
    for a, b in zip(values, values[1:], strict=False):
        left, right = by_value[a], by_value[b]
        if not left or not right or left & right:
            continue
        while abs(b - a) > tol and len(out.probes) < max_probes:
            mid = (a + b) / 2.0
            if integer:
                mid = float(int(round(mid)))
                if mid in (a, b):
                    break
            if probe(mid):
                return
            missed = set(out.probes[-1].missed)
            if missed & left:
                a = mid
            elif missed & right:
                b = mid
            else:
                break


def _grid_search(out: CapacityResult, probe: Callable[[float], bool], lo: float, hi: float,
                 tol: float, max_probes: int, grid: int, integer: bool,
                 param: str) -> CapacityResult:
    """Grid scan, then bisect both edges of every passing interval (module docstring)."""
    points = grid_values(lo, hi, grid, integer)
    passed = {lo: probe(lo), hi: probe(hi)}  # the ends first, as without a grid
    for v in points[1:-1]:
        if len(out.probes) >= max_probes:
            break
        passed[v] = probe(v)
    if out.direction == "auto":
        lo_ok, hi_ok = passed[lo], passed[hi]
        out.direction = ("max" if lo_ok else "min") if lo_ok != hi_ok else (
            "min" if "budget" in param else "max")
    _conflicts(out, probe, tol, max_probes, integer)
    passed = {p.value: p.passed for p in out.probes}
    values = sorted(passed)
    runs: list[list[float]] = []
    for i, v in enumerate(values):
        if passed[v]:
            if i and passed[values[i - 1]]:
                runs[-1].append(v)
            else:
                runs.append([v])

    def budget() -> bool:
        return len(out.probes) < max_probes

    for run_ in runs:
        first, last = run_[0], run_[-1]
        i, j = values.index(first), values.index(last)
        low = first if i == 0 else _edge(probe, first, values[i - 1], tol, budget, integer)
        high = last if j == len(values) - 1 else _edge(probe, last, values[j + 1], tol,
                                                       budget, integer)
        out.intervals.append((low, high))
    if not out.intervals:
        return out
    if out.direction == "min":
        low = out.intervals[0][0]
        out.answer, out.at_bound = low, low == lo
        below = [p.value for p in out.probes if not p.passed and p.value < low]
        out.bracket = (low, max(below)) if below else None
    else:
        high = out.intervals[-1][1]
        out.answer, out.at_bound = high, high == hi
        above = [p.value for p in out.probes if not p.passed and p.value > high]
        out.bracket = (high, min(above)) if above else None
    return out
