"""``clearsim frontier``: the paper's static batch experiment, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from simulator.cli._args import (
    add_batch_options,
    check_policy_params,
    finite,
    key_values,
    output_file,
    policy_params,
    seed,
    stream,
)
from simulator.errors import UserError

DEFAULT_POLICIES = "uniform,tale,clear-heuristic,clear-cutoff,clear,oracle"


def register(sub: Any) -> None:
    """Add the ``frontier`` subcommand."""
    p = sub.add_parser(
        "frontier",
        help="static batch frontier: accuracy of each policy at each mean budget",
        description="Sample one stream of N queries, predict thresholds once, and let "
        "every policy allocate B = mean_budget * N tokens. Accuracy is the expected "
        "accuracy over each query's rollouts. All policies see the same queries and "
        "the same predictor noise.",
        epilog="examples: 'clearsim frontier', 'clearsim frontier --pool thip.parquet "
        "--budgets 128,256 --out out/frontier.parquet', 'clearsim frontier --stream "
        "1,1,0,2 --param clear.kappa=2'",
    )
    add_batch_options(p, "64,128,256,512,1024,2048", DEFAULT_POLICIES)
    from simulator.cli.names import PREDICTOR_NAMES

    p.add_argument("--predictor", default="noisy-oracle",
                   help=f"threshold predictor kind, one of: {', '.join(PREDICTOR_NAMES)}; "
                   "default: %(default)s")
    p.add_argument("--noise", type=finite, default=0.3,
                   help="sigma of the noisy-oracle log-normal noise; default: %(default)s")
    p.add_argument("--predictor-param", action="append", metavar="NAME=VALUE",
                   help="predictor parameter, repeatable (e.g. model=model.pt for "
                   "--predictor learned)")
    p.add_argument("--held-out", action="store_true",
                   help="with --predictor learned: sample only queries the model was not "
                   "trained on (the default now; kept for old command lines)")
    p.add_argument("--include-training-queries", action="store_true",
                   help="with --predictor learned: sample the queries the model was "
                   "trained on too (optimistic: its predictions there are too good)")
    p.add_argument("--seed", type=seed, default=0, help="run seed; default: %(default)s")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of rows instead of a table")
    p.add_argument("-o", "--out", metavar="FILE.parquet", help="also write the rows as Parquet")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the frontier and print it."""
    from predictors.base import drawn_pool, make_predictor
    from simulator.atomic import atomic_write_parquet
    from simulator.experiments.frontier import check_batch_memory, run_frontier
    from simulator.pools.source import resolve_pool

    mix = stream(args.stream)
    params_by_policy = policy_params(args.param)
    check_policy_params(args.policies, params_by_policy)
    if args.out:
        output_file(args.out, "--out", "frontier.parquet")
    if args.noise < 0:
        raise UserError(f"--noise must be >= 0, got {args.noise}")
    params: dict[str, Any] = {"sigma": args.noise} if args.predictor == "noisy-oracle" else {}
    params.update(key_values(args.predictor_param, "--predictor-param"))
    predictor = make_predictor(args.predictor, **params)
    pool = resolve_pool(args.pool)
    check_batch_memory(pool, args.n, args.max_memory)
    held_out = getattr(predictor, "held_out", None)
    if held_out is None and (args.held_out or args.include_training_queries):
        flag = "--held-out" if args.held_out else "--include-training-queries"
        raise UserError(f"{flag} needs a trained predictor (learned), not "
                        f"{args.predictor!r}")
    if args.include_training_queries:
        predictor.include_training = True  # type: ignore[attr-defined]
    if held_out is not None:
        pool, drawn = drawn_pool(pool, predictor)
        print(f"clearsim frontier: drawing {drawn['queries_drawn']} queries "
              f"({len(pool)} of {drawn['pool_queries']})", file=sys.stderr)
    if held_out is not None and drawn["queries_drawn"] == "held-out" and args.n > len(pool):
            print(f"clearsim frontier: note: {len(pool)} held-out queries; each batch of "
                  f"--n {args.n} samples them with repeats (pass --n {len(pool)} or less "
                  "for distinct queries)", file=sys.stderr)
    frame = run_frontier(pool, mix, args.n, args.budgets, args.policies, predictor,
                         seed=args.seed, policy_params=params_by_policy,
                         stream_name=args.stream)
    if args.out:
        atomic_write_parquet(frame, args.out)
    if args.json:
        keys = ["policy", "stream", "mean_budget", "accuracy", "tokens_per_query",
                "abandonment_rate"]
        json.dump(frame.select(keys).to_dicts(), sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    print(format_table(frame))
    return 0


def format_table(frame: Any) -> str:
    """Accuracy per policy (rows) and budget (columns), plus tokens and abandonment."""
    budgets = sorted(set(frame["mean_budget"].to_list()))
    policies = list(dict.fromkeys(frame["policy"].to_list()))
    head = f"{'policy':<16}" + "".join(f"{b:>9g}" for b in budgets)
    lines = [f"accuracy by mean budget (tokens/query), stream={frame['stream'][0]}, "
             f"n={frame['n'][0]}, seed={frame['seed'][0]}", head, "-" * len(head)]
    for metric, fmt in (("accuracy", "{:>9.3f}"), ("tokens_per_query", "{:>9.0f}"),
                        ("abandonment_rate", "{:>9.2f}")):
        if metric != "accuracy":
            lines += ["", metric, "-" * len(head)]
        for pol in policies:
            sub = frame.filter(frame["policy"] == pol).sort("mean_budget")
            lines.append(f"{pol:<16}" + "".join(fmt.format(v) for v in sub[metric]))
    return "\n".join(lines)
