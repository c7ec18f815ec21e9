"""``clearsim capacity``: the highest load (or lowest budget) meeting a set of SLOs."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from simulator.cli._args import finite, positive_int

EXAMPLE = """\
examples:
  clearsim capacity scenarios/balanced.yaml --slo "latency_p95<=20,accuracy>=0.3" \\
      --param arrivals.rate --lo 2 --hi 40
  clearsim capacity scenarios/balanced.yaml --slo "accuracy>=0.45" \\
      --param allocator.budget_rate --lo 100 --hi 20000 --direction min
  clearsim capacity scenarios/balanced.yaml --slo "accuracy>=0.5,latency_p95<=15" \\
      --param allocator.budget_rate --lo 200 --hi 8000 --direction min

Each probe simulates the scenario with PARAM set on --seeds seeds (the scenario's seed
and the next ones: common random numbers across probes) and passes when the
conservative end of each metric's 95% interval meets its SLO. A coarse --grid scan
comes first, so SLOs that pass only on an interval (accuracy and latency both rise
with the budget) are found; the edges of each passing interval are then bisected. SLO metrics are
the keys of the run's summary.json (latency in s, rates per arrival): latency_p95 is
over answered queries (arrival to last token), time_to_outcome_p95 over all arrivals.
When no value meets every SLO, the range where each holds alone is bisected and
printed (the SLOs conflict). With a fixed budget_rate, a lower arrival rate means more tokens per query and so longer answers:
latency can rise as the rate falls, so pick --lo where the SLOs hold.
"""


def register(sub: Any) -> None:
    """Add the ``capacity`` subcommand."""
    p = sub.add_parser(
        "capacity", help="bisect a scenario parameter for the highest arrival rate (or "
        "lowest budget) that meets the SLOs",
        description="Search PARAM in [--lo, --hi] for the highest value (direction max, "
        "e.g. arrivals.rate) or the lowest (direction min, e.g. allocator.budget_rate) "
        "whose runs meet every SLO: a coarse grid scan, then bisection of the edges of "
        "every passing interval; prints each probe and the passing interval(s).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", metavar="SCENARIO.yaml", help="base scenario file")
    p.add_argument("--slo", required=True, metavar="'METRIC<=X,METRIC>=Y'",
                   help="comma-separated objectives over summary metrics, e.g. "
                   "'latency_p95<=30,accuracy>=0.5'")
    p.add_argument("--param", required=True, metavar="KEY.PATH",
                   help="the scenario field to search, e.g. arrivals.rate")
    p.add_argument("--lo", type=finite, help="lower end (default: the scenario's value / 10)")
    p.add_argument("--hi", type=finite, help="upper end (default: the scenario's value * 10)")
    p.add_argument("--tol", type=finite, help="stop when the bracket is this narrow "
                   "(default: (hi - lo) / 256)")
    p.add_argument("--grid", type=int, default=9, metavar="N",
                   help="probe N points of the range first (geometric when it spans 10x "
                   "or more); 0: plain bisection assuming monotone feasibility; "
                   "default: %(default)s")
    p.add_argument("--seeds", type=positive_int, default=3,
                   help="replications per probe; default: %(default)s")
    p.add_argument("--max-probes", type=positive_int, default=24,
                   help="at most this many simulations; default: %(default)s")
    p.add_argument("--direction", choices=("auto", "max", "min"), default="auto",
                   help="max: highest passing value; min: lowest; auto: from the two end "
                   "probes (default)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE", help="override a scenario field, repeatable")
    p.add_argument("--json", action="store_true", help="print probes and answer as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the search; exit 0 with an answer, 1 when nothing in range meets the SLOs."""
    from simulator.des.runner import run as simulate
    from simulator.pools.source import resolve_pool
    from simulator.scenario.io import load_scenario
    from simulator.sweep.capacity import capacity_search, default_bracket, is_integer_field
    from simulator.sweep.slo import parse_slos

    slos = parse_slos(args.slo)
    scenario = load_scenario(args.scenario, args.overrides)
    lo, hi = args.lo, args.hi
    if lo is None or hi is None:
        d_lo, d_hi = default_bracket(scenario, args.param)
        lo, hi = d_lo if lo is None else lo, d_hi if hi is None else hi
    integer = (is_integer_field(scenario, args.param) and float(lo).is_integer()
               and float(hi).is_integer())
    pool = resolve_pool(scenario.pool.source, seed=scenario.pool.seed)
    names = [s.metric for s in slos]
    tol = args.tol if args.tol is not None else (hi - lo) / 256.0
    digits = max(0, math.ceil(-math.log10(tol))) if tol > 0 and not integer else 0

    def _val(v: float) -> str:
        return f"{v:.{digits}f}"

    widths = [max(18 if args.seeds > 1 else 10, len(n)) for n in names]

    def show(p: Any) -> None:
        if args.json:
            return
        if not res_probes:
            head = f"{'probe':>5}  {args.param:>14}  " + "  ".join(
                f"{n:>{w}}" for n, w in zip(names, widths, strict=True))
            sys.stdout.write(f"{head}  result\n{'-' * (len(head) + 8)}\n")
        cells = "  ".join(f"{_fmt(p.metrics.get(n), p.half_widths.get(n)):>{w}}"
                          for n, w in zip(names, widths, strict=True))
        verdict = "pass" if p.passed else "miss " + ", ".join(p.missed)
        sys.stdout.write(f"{len(res_probes) + 1:>5}  {_val(p.value):>14}  {cells}  "
                         f"{verdict}\n")
        res_probes.append(p)
        sys.stdout.flush()

    res_probes: list[Any] = []
    res = capacity_search(scenario, args.param, slos, lo, hi,
                          lambda s: simulate(s, pool=pool).summary, tol=args.tol,
                          max_probes=args.max_probes, direction=args.direction,
                          integer=integer, report=show, grid=args.grid, seeds=args.seeds)
    what = "highest" if res.direction == "max" else "lowest"
    slo_text = ", ".join(str(s) for s in slos)
    spans = ", ".join(f"[{_val(a)}, {_val(b)}]" for a, b in res.intervals)
    if res.answer is None:
        line = (f"no value of {args.param} in [{_val(lo)}, {_val(hi)}] meets {slo_text} "
                f"(direction {res.direction})")
        if res.held:
            line += _conflict(res, args.param, _val)
        else:
            held = []
            for slo in slos:
                ok = [p.value for p in res.probes if str(slo) not in p.missed]
                held.append(f"{slo} held at {_val(min(ok))}-{_val(max(ok))}" if ok
                            else f"{slo} never held")
            line += "\nprobed alone: " + "; ".join(held)
    elif res.at_bound:
        line = (f"{args.param} = {_val(res.answer)} meets {slo_text} at the end of the range; "
                f"the {what} passing value may lie beyond it (widen --lo/--hi)")
    else:
        assert res.bracket is not None
        line = (f"{args.param} = {_val(res.answer)}: the {what} value meeting {slo_text} "
                f"(edge between {_val(min(res.bracket))} and {_val(max(res.bracket))}, "
                f"{len(res.probes)} probes)")
    if len(res.intervals) > 1 or (res.intervals and res.answer is not None
                                  and not res.at_bound):
        line = (f"passing interval(s) of {args.param}: {spans} (seeds: {args.seeds})\n"
                + line)
    if args.json:
        json.dump({"param": res.param, "direction": res.direction, "answer": res.answer,
                   "bracket": res.bracket, "at_bound": res.at_bound,
                   "intervals": res.intervals, "held": res.held, "seeds": args.seeds, "slos": [str(s) for s in slos],
                   "probes": [{"value": p.value, "passed": p.passed, "missed": p.missed,
                               "metrics": p.metrics, "half_widths": p.half_widths}
                              for p in res.probes]},
                  sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(f"\n{line}\n")
    return 0 if res.answer is not None else 1


def _conflict(res: Any, param: str, val: Any) -> str:
    """Lines naming where each SLO held on its own and the gap between them."""
    lines = []
    for slo, span in res.held.items():
        lines.append(f"  {slo} holds for {param} in [{val(span[0])}, {val(span[1])}]"
                     if span else f"  {slo} holds nowhere in the range")
    spans = [s for s in res.held.values() if s]
    if len(spans) == len(res.held) and len(spans) > 1:
        low, high = min(s[1] for s in spans), max(s[0] for s in spans)
        if low < high:
            lines.append(f"  the SLOs conflict: no value meets all of them; the gap is "
                         f"({val(low)}, {val(high)})")
    return "\nwhere each SLO holds alone (edges bisected, conservative 95% bound):\n" + \
        "\n".join(lines)


def _fmt(value: Any, half: float | None = None) -> str:
    """``value`` to 4 significant digits, or ``mean ± half`` to the half-width's
    precision (two significant digits of the half-width)."""
    if value is None:
        return "n/a"
    if not isinstance(value, float):
        return str(value)
    if half is None or not math.isfinite(half):
        return f"{value:.4g}"
    if half <= 0:
        return f"{value:.4g} ± 0"
    digits = max(0, 1 - math.floor(math.log10(half)))
    return f"{value:.{digits}f} ± {half:.{digits}f}"
