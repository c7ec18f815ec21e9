"""``clearsim compare``: every policy on one scenario over N seeds (common random numbers
per seed), with intervals, paired differences, one report and machine-readable files."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from simulator.cli._args import (
    add_training_flag,
    fmt_metric,
    name_list,
    output_dir,
    policy_params,
    positive_int,
    training_overrides,
)
from simulator.errors import UserError

DEFAULT_POLICIES = "uniform,tale,clear,clear-calibrated,oracle"
OUTPUTS = ("html", "json", "csv")

EXAMPLE = """\
examples:
  clearsim compare scenarios/balanced.yaml
  clearsim compare scenarios/balanced.yaml --policies uniform,clear --seeds 10 --out out/cmp
  clearsim compare scenarios/balanced.yaml --set allocator.budget_rate=400 --force
  clearsim compare scenarios/balanced.yaml --out out/cmp --resume   # after an interrupt
  clearsim compare scenarios/burst.yaml --policies clear,pacing,learned-price,oracle,hindsight

outputs (in --out DIR):
  <policy>/              the run of the scenario's own seed, per policy ('clearsim run')
  seeds/<seed>/<policy>/ the runs of the further seeds
  comparison.json        per policy x metric: mean, 95% interval, paired difference
                         and ratio to the reference (schema: docs/comparison.md)
  comparison.csv         the same, one row per policy x metric x statistic
  report.html            the report, offline; report-*.png beside it
  compare-manifest.json  the fingerprint --resume checks
"""


def outputs_list(text: str) -> tuple[str, ...]:
    """argparse type: ``"html,json"`` -> ("html", "json") (each one of OUTPUTS)."""
    names = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    bad = [n for n in names if n not in OUTPUTS]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of "
                                          f"{','.join(OUTPUTS)}, got {text!r}")
    return names


def register(sub: Any) -> None:
    """Add the ``compare`` subcommand."""
    from simulator.cli.names import POLICY_NAMES

    p = sub.add_parser(
        "compare", help="run several policies on one scenario over seeds; report, JSON, CSV",
        description="Run every policy on the same scenario over --seeds replications. On "
        "each seed every policy sees the same arrivals, queries, rollout draws and "
        "predictor noise (common random numbers). Writes one run folder per policy and "
        "seed, then the mean and 95% interval of every metric, the paired difference "
        "to --reference with its interval, an offline HTML report and JSON/CSV files.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file")
    p.add_argument("--policies", type=name_list, default=name_list(DEFAULT_POLICIES),
                   help=f"comma-separated policies, from: {', '.join(POLICY_NAMES)}, "
                   "and hindsight (the offline optimum of each run, an upper bound); "
                   f"default: {DEFAULT_POLICIES}")
    p.add_argument("--seeds", type=positive_int, default=5,
                   help="replications: the scenario's seed and the next N-1; "
                   "default: %(default)s")
    p.add_argument("--reference", metavar="POLICY", help="the policy differences are "
                   "taken against (default: uniform if run, else the first policy)")
    p.add_argument("-o", "--out", metavar="DIR", help="output folder (default: "
                   "out/<scenario file name>-compare)")
    p.add_argument("--outputs", type=outputs_list, default=OUTPUTS,
                   help="comma-separated files to write: html, json, csv; default: "
                   "html,json,csv")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE", help="override a scenario field, repeatable "
                   "(VALUE is YAML), applied before the policy is swapped in")
    p.add_argument("--param", action="append", metavar="POLICY.PARAM=VALUE",
                   help="policy parameter, repeatable (e.g. clear.kappa=2); a policy "
                   "without any keeps the scenario's params only if it is the "
                   "scenario's own policy")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--force", action="store_true",
                   help="replace existing run folders and outputs in DIR")
    g.add_argument("--resume", action="store_true",
                   help="keep the finished runs of an interrupted compare of the same "
                   "scenario, policies, seeds and input files (checked by fingerprint); "
                   "run the rest")
    p.add_argument("--no-png", action="store_true", help="skip the report's PNG files")
    add_training_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run each policy on each seed, write the outputs and print the report's path."""
    from simulator.comparison import compare_to_dir
    from simulator.policies import get_policy
    from simulator.scenario.io import load_scenario

    policies = list(dict.fromkeys(args.policies))
    for name in policies:
        if name != "hindsight":   # not a policy: solved offline on each seed's runs
            get_policy(name)
    params = policy_params(args.param)
    unknown = sorted(set(params) - set(policies))
    if unknown:
        raise UserError(f"--param for {', '.join(unknown)}: not among --policies")
    scenario = load_scenario(args.scenario, args.overrides)
    if extra := training_overrides(args, scenario):
        scenario = load_scenario(args.scenario, [*args.overrides, *extra])
    out = Path(args.out or Path("out") / f"{Path(args.scenario).stem}-compare")
    output_dir(str(out), "--out")  # a file on the way is refused before any run
    n_pol = len(policies)
    seen: set[str] = set()  # kinds of note of the runs, each printed once

    def progress(i: int, total: int, policy: str, seed: int, s: Any, seconds: float,
                 kept: bool) -> None:
        k = (i - 1) // n_pol + 1
        j = (i - 1) % n_pol + 1
        where = out / (policy if k == 1 else f"seeds/{seed}/{policy}")
        sys.stderr.write(f"clearsim compare: [{j}/{n_pol}] {policy} seed {seed} "
                         f"({k}/{args.seeds}) -> {where}{' (kept)' if kept else ''}\n"
                         f"  accuracy {fmt_metric(s.get('accuracy'), '.3f')}, abandoned "
                         f"{fmt_metric(s.get('abandonment_rate'), '.3f')}, "
                         f"{fmt_metric(s.get('tokens_per_query'), '.0f')} tokens/query "
                         f"({seconds:.1f} s)\n")
        for note in s.get("notes", []):
            kind = re.sub(r"\d[\d,.]*", "#", note)  # (the counts differ run to run)
            if kind not in seen:
                seen.add(kind)
                sys.stderr.write(f"clearsim compare: note ({policy}, seed {seed}; once for "
                                 f"all runs): {note}\n")

    result = compare_to_dir(scenario, out, policies, seeds=args.seeds,
                            reference=args.reference, params=params, force=args.force,
                            resume=args.resume, formats=args.outputs, progress=progress,
                            bar=True)
    sys.stderr.write(f"\n{result.description}\n")
    for line in result.headlines.values():
        sys.stderr.write(f"  {line}\n")
    if "html" in args.outputs:
        from reports.build import build_report

        sys.stderr.write("clearsim compare: writing the report\n")
        built = build_report([out], out / "report.html", png=not args.no_png)
        sys.stderr.write(f"clearsim compare: {built.charts} charts, "
                         f"{built.html.stat().st_size / 1e6:.1f} MB, {built.seconds:.1f} s\n")
        print(f"report: {built.html}")
    else:
        print(f"comparison: {out / 'comparison.json'}" if "json" in args.outputs
              else f"comparison: {out / 'comparison.csv'}")
    return 0
