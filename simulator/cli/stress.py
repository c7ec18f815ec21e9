"""``clearsim stress-noise``: sweep predictor noise and compare policies over seeds."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulator.cli._args import (
    add_batch_options,
    check_policy_params,
    key_values,
    name_list,
    number_list,
    output_dir,
    policy_params,
    positive_int,
    stream,
)
from simulator.cli.names import NOISE_KIND_NAMES
from simulator.errors import UserError

if TYPE_CHECKING:
    import polars as pl

DEFAULT_POLICIES = "uniform,clear,clear-calibrated"
DEFAULT_SIGMAS = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0"


def signed_list(text: str) -> list[float]:
    """argparse type: comma-separated finite numbers, negatives allowed (bias levels)."""
    return number_list(text)


def register(sub: Any) -> None:
    """Add the ``stress-noise`` subcommand."""
    p = sub.add_parser(
        "stress-noise",
        help="sweep predictor noise: accuracy of each policy vs noise level, over seeds",
        description="For each seed, sample one stream of N queries; for each noise level, "
        "predict thresholds with the noisy oracle of --noise-kind; every policy allocates "
        "B = budget * N from the same prediction (common random numbers). Writes "
        "DIR/stress.parquet (one row per policy, sigma, budget, seed) and prints the mean "
        "and a 95% Student-t interval over seeds.",
        epilog="example: 'clearsim stress-noise --budgets 256 --seeds 10 --compare "
        "clear-calibrated,clear --out out/stress'",
    )
    add_batch_options(p, "256", DEFAULT_POLICIES)
    p.add_argument("--sigmas", type=signed_list, default=DEFAULT_SIGMAS,
                   help="noise levels, comma-separated (meaning per --noise-kind: sigma, "
                   "signed log-bias, swapped fraction, mean sigma); default: 0,0.1,...,1.0")
    p.add_argument("--noise-kind", default="lognormal", choices=NOISE_KIND_NAMES,
                   metavar="KIND", help="noise model: %(choices)s; default: %(default)s")
    p.add_argument("--predictor-param", action="append", metavar="NAME=VALUE",
                   help="extra predictor setting, repeatable (e.g. sigma=0.3 with "
                   "--noise-kind bias, slope=2 with difficulty)")
    p.add_argument("--seeds", type=positive_int, default=10,
                   help="number of seeds (0..N-1); default: %(default)s")
    p.add_argument("--compare", metavar="A,B", type=name_list,
                   help="also print the paired per-seed difference A - B")
    p.add_argument("-o", "--out", required=True, metavar="DIR",
                   help="output directory (stress.parquet is written atomically)")
    p.add_argument("--force", action="store_true",
                   help="replace DIR/stress.parquet if it exists")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the sweep, write the Parquet table and print the summary."""
    from tqdm import tqdm

    from simulator.atomic import atomic_write_parquet
    from simulator.experiments.frontier import check_batch_memory
    from simulator.experiments.stress import (
        paired_difference,
        predictor_settings,
        run_stress,
        summarise,
    )
    from simulator.pools.source import resolve_pool

    mix = stream(args.stream)
    params = policy_params(args.param)
    check_policy_params(args.policies, params)
    output_dir(args.out, "--out")
    target = Path(args.out) / "stress.parquet"
    if target.exists() and not args.force:
        raise UserError(f"--out {args.out}: {target} exists; use --force to replace it "
                        "or choose another folder")
    if args.compare is not None and len(args.compare) != 2:
        raise UserError("--compare needs exactly two policies, e.g. clear-calibrated,clear")
    extra = key_values(args.predictor_param, "--predictor-param")
    for s in args.sigmas:   # validate every level before any work
        predictor_settings(args.noise_kind, s, extra)
    pool = resolve_pool(args.pool)
    check_batch_memory(pool, args.n, args.max_memory)
    cells = args.seeds * len(args.sigmas)
    with tqdm(total=cells, desc="stress-noise", unit="cell",
              disable=not sys.stderr.isatty()) as bar:
        frame = run_stress(pool, mix, args.n, args.budgets, args.sigmas,
                           args.policies, range(args.seeds), args.noise_kind,
                           params, extra, progress=bar.update, stream_name=args.stream)
    path = atomic_write_parquet(frame, target)
    summary = summarise(frame)
    diff = paired_difference(frame, *args.compare) if args.compare else None
    if args.json:
        out = {"file": str(path), "interval": "95% Student-t over seeds",
               "summary": _records(summary),
               "paired": _records(diff) if diff is not None else None}
        json.dump(out, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print(format_summary(summary, args.seeds))
    if diff is not None:
        print()
        print(format_summary(diff, args.seeds, title="paired difference"))
    print(f"\nwrote {path}")
    return 0


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, NaN as null: JSON has no NaN, and one seed gives no interval."""
    return [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            for row in frame.to_dicts()]


def format_summary(summary: pl.DataFrame, seeds: int, title: str = "accuracy") -> str:
    """Rows = noise level, columns = policy: 'mean ±half' (95% t-interval)."""
    import polars as pl

    lines: list[str] = []
    policies = list(dict.fromkeys(summary["policy"].to_list()))
    for b in sorted(set(summary["budget"].to_list())):
        sub = summary.filter(pl.col("budget") == b)
        kind, stream = sub["noise_kind"][0], sub["stream"][0]
        w = max([22] + [len(p) + 2 for p in policies])
        head = f"{'sigma':>7}" + "".join(f"{p:>{w}}" for p in policies)
        lines += [f"{title}, mean ±95% t-interval over {seeds} seeds; noise={kind}, "
                  f"stream={stream}, budget={b:g} tokens/query", head, "-" * len(head)]
        for s in sorted(set(sub["sigma"].to_list())):
            cells = []
            for p in policies:
                r = sub.filter((pl.col("sigma") == s) & (pl.col("policy") == p))
                half = r["half"][0] if r.height else None
                pm = "n/a    " if half is None or half != half else f"{half:<7.4f}"  # 1 seed
                cells.append(f"{r['mean'][0]:>{w - 9}.4f} ±{pm}" if r.height else " " * w)
            lines.append(f"{s:>7g}" + "".join(cells))
        lines.append("")
    return "\n".join(lines).rstrip()
