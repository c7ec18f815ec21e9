"""``clearsim run`` (simulate a scenario over time) and ``clearsim schema``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from simulator.cli._args import add_training_flag, fmt_metric, positive_int, training_overrides

EXAMPLE = """\
examples:
  clearsim run scenarios/balanced.yaml
  clearsim run scenarios/balanced.yaml --out out/bal-uniform --set allocator.policy=uniform
  clearsim run scenarios/burst.yaml --set allocator.budget_rate=unlimited --force
  clearsim run scenarios/balanced.yaml --seeds 5 --out out/bal5   # mean and 95% interval
  clearsim run scenarios/balanced.yaml --set allocator.period=0.00005 \\
      --set limits.max_ticks=20000000     # a big run: raise its limit (docs/reliability.md)
  clearsim run scenarios/reasoning-h100-memory.yaml --set gpu.replicas=2 \\
      --set gpu.router=least-kv           # two H100 replicas, KV-aware routing

outputs (in --out DIR):
  queries.parquet         one row per arrival: cap, tokens, outcome, latency, ...
  ticks.parquet           one row per allocator tick: bank, free tokens, lambda*, ...
  gpu.parquet             time-weighted GPU occupancy per window (and replica)
  kv.parquet              with a KV pool: KV memory held per replica and window
  scenario.resolved.yaml  the scenario with every default filled in
  summary.json            accuracy, abandonment, tokens/query, latency p50/p95/p99, ...
with --seeds N > 1, DIR holds the layout of 'clearsim compare' for the one policy:
  <policy>/ and seeds/<seed>/<policy>/ run folders, comparison.json, comparison.csv
"""


def register(sub: Any) -> None:
    """Add the ``run`` and ``schema`` subcommands."""
    p = sub.add_parser(
        "run", help="simulate a scenario over time (arrivals, allocator ticks, GPU)",
        description="Simulate a scenario YAML with the discrete-event simulator: queries "
        "arrive, a periodic allocator shares a rolling token budget among them with the "
        "chosen policy, and a continuous-batching GPU generates the granted tokens. "
        "Writes the results into a folder, which is replaced only when the run is "
        "complete.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file "
                   "(see 'clearsim schema' and the files in scenarios/)")
    p.add_argument("-o", "--out", metavar="DIR", help="output folder (default: the "
                   "scenario's output.dir, else out/<scenario file name>)")
    p.add_argument("--seeds", type=positive_int, default=1,
                   help="replications (the scenario's seed and the next N-1); with N > 1 "
                   "prints each metric's mean and 95%% interval; default: %(default)s")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE", help="override a scenario field, repeatable; "
                   "VALUE is YAML, list items are indexed with [N] (e.g. --set "
                   "allocator.budget_rate=500 --set stream.schedule[1].mix=u-shaped); "
                   "relative paths are from the working directory")
    p.add_argument("--force", action="store_true",
                   help="replace DIR if it exists and is not empty")
    p.add_argument("--json", action="store_true", help="print summary.json to stdout")
    add_training_flag(p)
    p.set_defaults(func=_run)
    s = sub.add_parser("schema", help="print the JSON Schema of scenario files",
                       description="Print the JSON Schema of scenario YAML files "
                       "(for editor completion and validation).",
                       epilog="examples:\n  clearsim schema > scenario.schema.json\n"
                       "  # VS Code (YAML extension): \"yaml.schemas\": "
                       "{\"scenario.schema.json\": \"scenarios/*.yaml\"}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.set_defaults(func=_schema)


def _run(args: argparse.Namespace) -> int:
    from simulator.des.runner import run_to_dir
    from simulator.scenario.io import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    if extra := training_overrides(args, scenario):
        scenario = load_scenario(args.scenario, [*args.overrides, *extra])
    out = Path(args.out or scenario.output.dir or Path("out") / Path(args.scenario).stem)
    if args.seeds > 1:
        return _replicated(args, scenario, out)
    result = run_to_dir(scenario, out, force=args.force, progress=True)
    s = result.summary
    for note in s.get("notes", []):
        sys.stderr.write(f"clearsim: note: {note}\n")
    if args.json:
        sys.stdout.write(json.dumps(s, indent=2) + "\n")
    else:
        timed_out = (f"timed out {fmt_metric(s['timed_out_rate'], '.3f')}, "
                     if s.get("timed_out_rate") else "")
        sys.stdout.write(
            f"{out}: {s['arrivals']} arrivals over {s['sim_seconds']:.1f} s, "
            f"policy {s['policy']}: accuracy {fmt_metric(s['accuracy'], '.3f')}, abandoned "
            f"{fmt_metric(s['abandonment_rate'], '.3f')}, expired {fmt_metric(s['expiry_rate'], '.3f')}, "
            f"{timed_out}{fmt_metric(s['tokens_per_query'], '.0f')} tokens/query, "
            f"latency p50 {fmt_metric(s['latency_p50'], '.2f', ' s')} "
            f"({s['wall_seconds']:.2f} s wall)\n")
        for name, b in s.get("by_stream", {}).items():
            sys.stdout.write(
                f"  stream {name}: {b['arrivals']} arrivals, accuracy "
                f"{fmt_metric(b['accuracy'], '.3f')}, abandoned "
                f"{fmt_metric(b['abandonment_rate'], '.3f')}, "
                f"{fmt_metric(b['tokens_per_query'], '.0f')} tokens/query, latency p50 "
                f"{fmt_metric(b['latency_p50'], '.2f', ' s')}\n")
        if s.get("queries_drawn"):
            sys.stdout.write(f"  queries drawn: {s['queries_drawn']} ("
                             f"{s.get('held_out_queries', s.get('pool_queries'))} of "
                             f"{s.get('pool_queries')} in the pool; the learned model's "
                             "training split is in its file)\n")
    return 0


def _replicated(args: argparse.Namespace, scenario: Any, out: Path) -> int:
    """``--seeds N``: the scenario's policy over N seeds; mean and 95% interval."""
    from simulator.comparison import compare_to_dir

    policy = scenario.allocator.policy
    result = compare_to_dir(scenario, out, [policy], seeds=args.seeds, force=args.force,
                            bar=True)
    if args.json:
        from simulator.comparison.outputs import comparison_dict

        sys.stdout.write(json.dumps(comparison_dict(result), indent=1) + "\n")
        return 0
    sys.stdout.write(f"{out}: policy {policy}, {args.seeds} seeds "
                     f"({result.seeds[0]}-{result.seeds[-1]}); mean [95% interval]\n")
    for m in result.metrics:
        row = result.row(policy, m.key)
        if row is None or row.stats.mean is None:
            continue
        st = row.stats
        ci = ("" if st.ci_low is None else
              f" [{st.ci_low:{m.fmt}}, {st.ci_high:{m.fmt}}]")
        sys.stdout.write(f"  {m.label}: {st.mean:{m.fmt}}{ci}\n")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from simulator.scenario.io import scenario_schema

    sys.stdout.write(json.dumps(scenario_schema(), indent=2) + "\n")
    return 0
