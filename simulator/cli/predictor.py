"""``clearsim predictor train|evaluate``: the learned threshold predictor.

torch is imported only when one of these commands runs, never when the CLI starts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from simulator.cli._args import fraction, output_file, positive_int, seed

EXAMPLE = """\
examples:
  clearsim pool import ../shared/data/rollouts/thip-qwen7b-rl/raw/*/MATH -o m500.parquet
  clearsim predictor train --pool m500.parquet --out m500.pt
  clearsim predictor evaluate --pool m500.parquet --model m500.pt
  clearsim frontier --pool m500.parquet --predictor learned \\
      --predictor-param model=m500.pt --held-out
"""

METRICS = (("r2", "R^2 of held-out ln(length)"),
           ("mae", "MAE of ln(length) (ln tokens)"),
           ("spread_sd", "SD of ln-length residuals"),
           ("spread", "robust spread s (1.4826 MAD), used by clear-calibrated"),
           ("auc", "AUC of the solvability head"),
           ("queries", "held-out queries"),
           ("rollouts", "held-out rollouts"))


def register(sub: Any) -> None:
    """Add ``predictor train`` and ``predictor evaluate``."""
    p = sub.add_parser("predictor", help="train or evaluate the learned threshold predictor",
                       description="A small torch MLP regressing ln(length) of every "
                       "rollout (MSE) from hashed text n-grams, benchmark, level and "
                       "prompt tokens, with a solvability head. See docs/predictors.md.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="predictor_command", metavar="ACTION")
    cmds.required = True
    t = cmds.add_parser("train", help="train on a pool and save MODEL.pt",
                        description="Hold out a seeded share of queries, train on the "
                        "rest, validate on the held-out ones and save the model with its "
                        "feature config and held-out figures. The model file records the "
                        "split (the training query ids); simulations with the model draw "
                        "only the held-out queries unless told otherwise.",
                        epilog="examples:\n  clearsim predictor train --out default.pt"
                        "          # the embedded pool\n  clearsim predictor train --pool "
                        "my.parquet --out my.pt --epochs 50 --seed 1",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--pool", default="default",
                   help="'default', 'default-greedy' or a pool Parquet file; default: %(default)s")
    t.add_argument("-o", "--out", required=True, metavar="MODEL.pt",
                   help="model file to write")
    t.add_argument("--epochs", type=positive_int, default=30, help="default: %(default)s")
    t.add_argument("--seed", type=seed, default=0, help="split and training seed; "
                   "default: %(default)s")
    t.add_argument("--test-frac", type=fraction, default=0.2,
                   help="share of queries held out; default: %(default)s")
    t.add_argument("--json", action="store_true", help="print the figures as JSON")
    t.set_defaults(func=run_train)
    e = cmds.add_parser("evaluate", help="held-out figures of MODEL.pt on a pool",
                        description="Evaluate on the pool's queries that were not used "
                        "for training (the held-out split of the training pool, or every "
                        "query of another pool).",
                        epilog="examples:\n  clearsim predictor evaluate --model default.pt"
                        "\n  clearsim predictor evaluate --pool other.parquet --model "
                        "default.pt --json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--pool", default="default",
                   help="'default', 'default-greedy' or a pool Parquet file; default: %(default)s")
    e.add_argument("--model", required=True, metavar="MODEL.pt", help="model file to read")
    e.add_argument("--json", action="store_true", help="print the figures as JSON")
    e.set_defaults(func=run_evaluate)


def _print(metrics: dict[str, float], as_json: bool, header: str) -> None:
    if as_json:
        clean = {k: (None if isinstance(v, float) and math.isnan(v) else v)
                 for k, v in metrics.items()}
        json.dump(clean, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    print(header)
    for key, label in METRICS:
        v = metrics[key]
        print(f"  {label:<56} {v:>10.0f}" if key in ("queries", "rollouts")
              else f"  {label:<56} {v:>10.4f}")


def run_train(args: argparse.Namespace) -> int:
    """Train, save and print the held-out figures."""
    output_file(args.out, "--out", "model.pt")  # before torch loads
    from predictors.learned_model import save_model
    from predictors.learned_train import train
    from simulator.pools.source import resolve_pool

    pool = resolve_pool(args.pool)
    model = train(pool, epochs=args.epochs, seed=args.seed, test_frac=args.test_frac)
    path = save_model(model, args.out)
    _print(model.metrics, args.json, f"trained {path} on {args.pool} "
           f"(seed {args.seed}, {args.epochs} epochs); held-out figures:")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """Load a model and print its figures on the pool's unseen queries."""
    from pathlib import Path

    from simulator.errors import UserError

    if not Path(args.model).is_file():  # before torch loads, so a typo fails at once
        raise UserError(f"{args.model}: model file not found; create it with "
                        "'clearsim predictor train --pool P --out MODEL.pt'")
    from predictors.learned_features import check_pool
    from predictors.learned_model import load_model
    from predictors.learned_train import evaluate
    from simulator.pools.source import resolve_pool

    model = load_model(args.model)
    pool = resolve_pool(args.pool)
    check_pool(model.features, pool, args.model)  # names the model file in the error
    _print(evaluate(model, pool), args.json, f"{args.model} on {args.pool} (unseen queries):")
    return 0
