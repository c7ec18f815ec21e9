"""``clearsim pool import``, ``inspect`` and ``fit`` (:mod:`simulator.cli.pool_fit`): build,
summarise and fit rollout pools."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from simulator.cli._args import name, output_file, positive_int, seed
from simulator.cli.names import POOL_BUDGETS

#: the readers of simulator.pools.importer.FORMATS (spelt here so --help loads no polars;
#: tests/test_pool_formats_cli.py checks they agree)
FORMATS = ("auto", "generic", "thip", "lm-eval", "openai")

IMPORT_HELP = """\
Read one or more sources and write one validated pool. Rows with the same id, also
across files, become the K rollouts of one query. The benchmark is the row's own, else
--benchmark, else the format's metadata (THIP config.json, lm-eval file name), else
'unknown'. Ids are kept unless they collide across benchmarks (then prefixed
'benchmark/id', with a note). Choices made on their own are printed as notes on stderr.

formats (--format; 'auto' sniffs each file):
  generic  CSV/JSONL/Parquet, one row per rollout: id [problem_id, query_id,
           question_id, idx], length [response_tokens, response_length,
           completion_tokens, output_tokens, tokens], correct [is_correct], optional
           benchmark [dataset, task], text [problem, question], level, prompt_tokens
           [prompt_length], max_tokens, finish_reason, response text [output,
           completion, generation] (counted with --tokenizer); or a pool Parquet
  thip     THIP generation.jsonl: one line per problem, lists response_length,
           correct, finish_reason; config.json beside it names the dataset and cap
  lm-eval  lm-evaluation-harness samples_<task>_<time>.jsonl: doc_id, resps, a 0/1
           metric (--metric, default exact_match or acc); lengths via --tokenizer
  openai   OpenAI responses or Batch API lines: usage.completion_tokens,
           choices[0].finish_reason, plus a 'correct' field per line
"""

IMPORT_EXAMPLES = """\
examples, one per file shape:
  generic, a table with lengths (aliases such as question_id, completion_tokens):
    clearsim pool import rollouts.csv -o pool.parquet --benchmark gsm8k
  generic, response text only ({id, question, response, correct}):
    clearsim pool import answers.jsonl -o pool.parquet --tokenizer tokenizer.json
  thip, a folder of eval_results/<policy>/<dataset>/generation.jsonl:
    clearsim pool import ../shared/data/rollouts/thip-qwen7b-rl/raw -o thip.parquet
  lm-eval, samples from --log_samples:
    clearsim pool import samples_gsm8k_2024-05-01T12-00-00.jsonl -o pool.parquet \\
      --format lm-eval --tokenizer tokenizer.json --metric exact_match
  openai, responses with usage and a grade:
    clearsim pool import responses.jsonl -o pool.parquet --format openai \\
      --map id=custom_id,correct=grade.ok
  re-cap the default pool at 4096 tokens ("what if we cap at 4k?"):
    clearsim pool import default -o capped.parquet --max-tokens 4096
"""


def register(sub: Any) -> None:
    """Add the ``pool`` command with its ``import`` and ``inspect`` subcommands."""
    p = sub.add_parser(
        "pool",
        help="import rollout pools and summarise them",
        description="A pool holds queries with K cached rollouts each (lengths in tokens "
        "and grades). 'import' builds a pool Parquet from real rollouts; 'inspect' prints "
        "its counts, accuracy and accuracy-at-budget curve.",
        epilog="examples:\n  clearsim pool inspect                      # the embedded "
        "synthetic pool\n  clearsim pool import rollouts.csv -o my.parquet\n"
        "  clearsim pool inspect my.parquet",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmds = p.add_subparsers(dest="pool_command", metavar="SUBCOMMAND",
                            parser_class=type(p))
    cmds.required = True

    imp = cmds.add_parser(
        "import",
        help="build a pool Parquet from rollouts: tables, THIP, lm-eval, OpenAI JSONL",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=IMPORT_HELP,
        epilog=IMPORT_EXAMPLES,
    )
    imp.add_argument("sources", nargs="+", metavar="SRC",
                     help="a file (.csv, .jsonl, .parquet), a directory, or 'default' "
                     "(the embedded pool, e.g. to re-cap it)")
    imp.add_argument("-o", "--out", dest="output", required=True, metavar="POOL.parquet",
                     help="the pool file to write (atomically)")
    imp.add_argument("--output", dest="output", help=argparse.SUPPRESS)  # old spelling
    imp.add_argument("--format", default="auto", choices=FORMATS, dest="fmt",
                     help="reader; 'auto' sniffs each file and says what it chose on "
                     "stderr; default: %(default)s")
    imp.add_argument("--map", action="append", metavar="DST=SRC[,...]",
                     help="name the source of a field (id, benchmark, length, correct, "
                     "text, level, prompt_tokens, max_tokens, response, finish_reason); "
                     "dots walk nested keys, numbers index lists: "
                     "--map length=usage.completion_tokens,id=meta.qid")
    imp.add_argument("--tokenizer", metavar="tokenizer.json",
                     help="count tokens of the response text (column response/output/"
                     "completion, lm-eval resps, OpenAI message content) when there is no "
                     "length field; a Hugging Face tokenizer.json")
    imp.add_argument("--metric", metavar="NAME",
                     help="lm-eval: the 0/1 metric that grades a response; default: the "
                     "first of exact_match, acc on the line")
    imp.add_argument("--benchmark", metavar="NAME", type=name,
                     help="benchmark of rows whose file names none (a benchmark column or "
                     "field wins); without either: 'unknown'")
    imp.add_argument("--max-tokens", type=positive_int, metavar="N",
                     help="the cap L_max in tokens: fills rows without one and re-caps rows "
                     "with a larger one (longer rollouts become cut at N and wrong); "
                     "default: the row's, THIP config.json, else the longest length")
    imp.set_defaults(func=run_import)

    ins = cmds.add_parser(
        "inspect",
        help="summarise a pool: counts, accuracy, lengths, accuracy-at-budget",
        description="Print per-benchmark counts, expected accuracy at the collection cap, "
        "solvable fraction, rollout length quantiles and the accuracy-at-budget curve "
        f"(mean A_i(t) for t = {', '.join(str(b) for b in POOL_BUDGETS)} tokens).",
        epilog="examples:\n  clearsim pool inspect\n  clearsim pool inspect my.parquet "
        "--json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ins.add_argument("pool", nargs="?", default="default", metavar="POOL",
                     help="a pool Parquet file or 'default' (the embedded synthetic "
                     "pool); default: %(default)s")
    ins.add_argument("--seed", type=seed, default=0,
                     help="seed of the default pool; default: %(default)s")
    ins.add_argument("--json", action="store_true", help="print the summary as JSON")
    ins.set_defaults(func=run_inspect)

    from simulator.cli import pool_fit

    pool_fit.register(cmds)


def run_import(args: argparse.Namespace) -> int:
    """Import, validate and write the pool; print a one-line confirmation."""
    from simulator.pools.importer import import_pool
    from simulator.pools.pool import save_pool

    output_file(args.output, "-o", "pool.parquet")
    notes: list[str] = []
    pool = import_pool(args.sources, benchmark=args.benchmark, max_tokens=args.max_tokens,
                       fmt=args.fmt, mapping=args.map, tokenizer=args.tokenizer,
                       metric=args.metric, notes=notes)
    for line in notes:
        print(f"clearsim: note: {line}", file=sys.stderr)
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
