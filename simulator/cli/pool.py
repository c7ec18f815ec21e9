"""``clearsim pool import`` and ``clearsim pool inspect``: build and summarise rollout pools."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from simulator.cli._args import output_file, positive_int, seed
from simulator.pools.stats import BUDGETS


def register(sub: Any) -> None:
    """Add the ``pool`` command with its ``import`` and ``inspect`` subcommands."""
    p = sub.add_parser(
        "pool",
        help="import rollout pools and summarise them",
        description="A pool holds queries with K cached rollouts each (lengths in tokens "
        "and grades). 'import' builds a pool Parquet from real rollouts; 'inspect' prints "
        "its counts, accuracy and accuracy-at-budget curve.",
    )
    cmds = p.add_subparsers(dest="pool_command", metavar="SUBCOMMAND",
                            parser_class=type(p))
    cmds.required = True

    imp = cmds.add_parser(
        "import",
        help="build a pool Parquet from CSV/JSONL/Parquet rollouts or THIP generation.jsonl",
        description="Read one or more sources and write one validated pool. A source is "
        "a CSV, JSONL or Parquet table with one row per rollout (columns id, benchmark, "
        "length, correct, optional text, level, prompt_tokens, max_tokens; aliases "
        "problem_id, response_tokens, response_length, prompt_length, problem are "
        "accepted), a THIP generation.jsonl (one line per problem with lists), or a "
        "directory searched for generation.jsonl files. Rows with the same id, also "
        "across files, become the K rollouts of one query.",
        epilog="example: clearsim pool import ../shared/data/rollouts/thip-qwen7b-rl/raw "
        "-o thip.parquet",
    )
    imp.add_argument("sources", nargs="+", metavar="SRC",
                     help="a file (.csv, .jsonl, .parquet) or a directory")
    imp.add_argument("-o", "--output", required=True, metavar="POOL.parquet",
                     help="the pool file to write (atomically)")
    imp.add_argument("--benchmark", metavar="NAME",
                     help="benchmark name for every row (overrides the files)")
    imp.add_argument("--max-tokens", type=positive_int, metavar="N",
                     help="collection cap L_max in tokens for rows without one; default: "
                     "THIP config.json, else the largest length seen")
    imp.set_defaults(func=run_import)

    ins = cmds.add_parser(
        "inspect",
        help="summarise a pool: counts, accuracy, lengths, accuracy-at-budget",
        description="Print per-benchmark counts, expected accuracy at the collection cap, "
        "solvable fraction, rollout length quantiles and the accuracy-at-budget curve "
        f"(mean A_i(t) for t = {', '.join(str(b) for b in BUDGETS)} tokens).",
    )
    ins.add_argument("pool", nargs="?", default="default", metavar="POOL",
                     help="a pool Parquet file or 'default' (the embedded synthetic "
                     "pool); default: %(default)s")
    ins.add_argument("--seed", type=seed, default=0,
                     help="seed of the default pool; default: %(default)s")
    ins.add_argument("--json", action="store_true", help="print the summary as JSON")
    ins.set_defaults(func=run_inspect)


def run_import(args: argparse.Namespace) -> int:
    """Import, validate and write the pool; print a one-line confirmation."""
    from simulator.pools.importer import import_pool
    from simulator.pools.pool import save_pool

    output_file(args.output, "-o", "pool.parquet")
    pool = import_pool(args.sources, benchmark=args.benchmark, max_tokens=args.max_tokens)
    path = save_pool(pool, args.output)
    k = pool.n_rollouts
    names = sorted(set(pool.benchmarks.tolist()))
    print(f"wrote {path}: {len(pool)} queries, {int(k.sum())} rollouts, K {k.min()}-{k.max()}, "
          f"benchmarks {', '.join(names)}")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    """Print the pool summary as aligned tables or JSON."""
    from simulator.pools.source import resolve_pool
    from simulator.pools.stats import summary

    info = summary(resolve_pool(args.pool, seed=args.seed))
    if args.json:
        json.dump({"pool": args.pool, **info}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_summary(args.pool, info))
    return 0


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """Left-align the first column, right-align the rest."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                         for i, c in enumerate(r))

    return [line(head), "-" * len(line(head)), *(line(r) for r in rows)]


def format_summary(name: str, info: dict[str, Any]) -> str:
    """The human-readable form of :func:`simulator.pools.stats.summary`."""
    groups: dict[str, dict[str, Any]] = info["benchmarks"]
    out = [f"pool {name}: {info['queries']} queries, {info['rollouts']} rollouts, "
           f"K {info['k_min']}-{info['k_max']}, level known for {info['levels_known']}, "
           f"text for {info['text_known']}", ""]
    qnames = list(next(iter(groups.values()))["length_quantiles"])
    head = ["benchmark", "queries", "rollouts", "accuracy", "solvable", "capped",
            "tau p50", *[f"len {q}" for q in qnames]]
    rows = [[b, str(g["queries"]), str(g["rollouts"]), f"{g['accuracy']:.3f}",
             f"{g['solvable']:.3f}", f"{g['cap_fraction']:.3f}",
             "-" if g["tau_median"] is None else f"{g['tau_median']:.0f}",
             *[f"{v:.0f}" for v in g["length_quantiles"].values()]]
            for b, g in groups.items()]
    out += _table(head, rows)
    out += ["", "accuracy at budget t (tokens per query), mean A_i(t)"]
    budgets = list(next(iter(groups.values()))["accuracy_at_budget"])
    rows = [[b, *[f"{g['accuracy_at_budget'][t]:.3f}" for t in budgets]]
            for b, g in groups.items()]
    out += _table(["benchmark", *budgets], rows)
    return "\n".join(out)
