"""Capacity search: bisect a scenario parameter for the edge of the SLO-feasible region.

Like Vidur-Search for QPS: ``direction="max"`` finds the highest value (arrival rate)
whose run meets every SLO, ``"min"`` the lowest (token budget rate). Feasibility is
assumed monotone in the parameter. Every probe runs the same scenario seed, so probes
differ only by the parameter (common random numbers). ``"auto"`` infers the direction
from the two end probes.
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
           "default_bracket", "is_integer_field", "summary_metrics", "with_value"]

Direction = Literal["max", "min", "auto"]
RunFn = Callable[[Scenario], Mapping[str, Any]]


@dataclass(frozen=True)
class Probe:
    """One simulated value: its summary metrics and whether every SLO held."""

    value: float
    metrics: dict[str, Any]
    passed: bool
    missed: list[str]


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
    """

    param: str
    direction: str
    answer: float | None
    bracket: tuple[float, float] | None
    at_bound: bool
    probes: list[Probe] = field(default_factory=list)


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
                    report: Callable[[Probe], None] | None = None) -> CapacityResult:
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
    check_names(slos, summary_metrics(scenario, run))
    out = CapacityResult(param, direction, None, None, False)

    def probe(value: float) -> bool:
        v = int(round(value)) if integer else value
        metrics = dict(run(with_value(scenario, param, v)))
        missed = [str(s) for s in failed_slos(slos, metrics)]
        p = Probe(float(v), metrics, not missed, missed)
        out.probes.append(p)
        if report is not None:
            report(p)
        return p.passed

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
