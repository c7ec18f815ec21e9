"""``clearsim compare``: every policy on one scenario (common random numbers), one report."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from simulator.cli._args import fmt_metric, name_list, output_dir, policy_params
from simulator.errors import UserError

DEFAULT_POLICIES = "uniform,tale,clear,clear-calibrated,oracle"

EXAMPLE = """\
examples:
  clearsim compare scenarios/balanced.yaml
  clearsim compare scenarios/balanced.yaml --policies uniform,clear --out out/cmp
  clearsim compare scenarios/balanced.yaml --set allocator.budget_rate=400 --force

outputs (in --out DIR):
  <policy>/       one run folder per policy (see 'clearsim run --help')
  report.html     the comparison report, offline; report-*.png beside it
"""


def register(sub: Any) -> None:
    """Add the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare", help="run several policies on one scenario and write one report",
        description="Run every policy on the same scenario with common random numbers "
        "(the same arrivals, queries, rollout draws and predictor noise), write one run "
        "folder per policy, then one offline HTML report comparing them.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", metavar="SCENARIO.yaml", help="scenario file")
    p.add_argument("--policies", type=name_list, default=name_list(DEFAULT_POLICIES),
                   help=f"comma-separated policies; default: {DEFAULT_POLICIES}")
    p.add_argument("--out", metavar="DIR", help="output folder (default: "
                   "out/<scenario file name>-compare)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="KEY.PATH=VALUE", help="override a scenario field, repeatable "
                   "(VALUE is YAML), applied before the policy is swapped in")
    p.add_argument("--param", action="append", metavar="POLICY.PARAM=VALUE",
                   help="policy parameter, repeatable (e.g. clear.kappa=2); a policy "
                   "without any keeps the scenario's params only if it is the "
                   "scenario's own policy")
    p.add_argument("--force", action="store_true",
                   help="replace existing run folders in DIR")
    p.add_argument("--no-png", action="store_true", help="skip the report's PNG files")
    p.set_defaults(func=run)


def _check_outputs(out: Path, policies: list[str], force: bool) -> None:
    """Refuse before simulating anything if a run folder would be overwritten."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if force:
        return
    taken = [p for p in policies if (out / p).is_dir() and any((out / p).iterdir())]
    if taken:
        raise UserError(f"--out {out}: run folder(s) {', '.join(taken)} exist; "
                        "use --force to replace them")


def run(args: argparse.Namespace) -> int:
    """Run each policy, then build DIR/report.html and print its path."""
    from reports.build import build_report
    from simulator.des.runner import run_to_dir
    from simulator.policies import get_policy
    from simulator.pools.source import resolve_pool
    from simulator.scenario.io import load_scenario

    policies = list(dict.fromkeys(args.policies))
    for name in policies:
        get_policy(name)
    params = policy_params(args.param)
    unknown = sorted(set(params) - set(policies))
    if unknown:
        raise UserError(f"--param for {', '.join(unknown)}: not among --policies")
    scenario = load_scenario(args.scenario, args.overrides)
    out = Path(args.out or Path("out") / f"{Path(args.scenario).stem}-compare")
    output_dir(str(out), "--out")  # a file on the way is refused before any run
    _check_outputs(out, policies, args.force)
    try:
        pool = resolve_pool(scenario.pool.source, seed=scenario.pool.seed)
    except UserError as exc:
        raise UserError(f"pool.source: {exc}") from None
    run_dirs: list[Path] = []
    for i, policy in enumerate(policies, 1):
        own = scenario.allocator.params if policy == scenario.allocator.policy else {}
        sys.stderr.write(f"clearsim compare: [{i}/{len(policies)}] {policy} -> "
                         f"{out / policy}\n")
        t0 = time.perf_counter()
        result = run_to_dir(scenario, out / policy, force=args.force, policy=policy,
                            params=params.get(policy, own), pool=pool, progress=True)
        s = result.summary
        sys.stderr.write(f"  accuracy {fmt_metric(s['accuracy'], '.3f')}, abandoned "
                         f"{fmt_metric(s['abandonment_rate'], '.3f')}, "
                         f"{fmt_metric(s['tokens_per_query'], '.0f')} tokens/query "
                         f"({time.perf_counter() - t0:.1f} s)\n")
        run_dirs.append(out / policy)
    sys.stderr.write("clearsim compare: writing the report\n")
    built = build_report(run_dirs, out / "report.html", png=not args.no_png)
    sys.stderr.write(f"clearsim compare: {built.charts} charts, "
                     f"{built.html.stat().st_size / 1e6:.1f} MB, {built.seconds:.1f} s\n")
    print(f"report: {built.html}")
    return 0
