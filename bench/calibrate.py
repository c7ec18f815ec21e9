"""Compute the calibration figures of the real THIP rollouts and compare the synthetic pool.

Usage (from the repo root)::

    .venv/bin/python bench/calibrate.py            # side-by-side table, real vs synthetic
    .venv/bin/python bench/calibrate.py --emit     # the REAL dict for simulator/pools/embedded/calibration.py
    .venv/bin/python bench/calibrate.py --markdown # the table as Markdown (docs/pools.md)
    .venv/bin/python bench/calibrate.py --greedy --emit      # REAL_GREEDY (first rollout per problem)
    .venv/bin/python bench/calibrate.py --greedy --markdown  # greedy table vs default-greedy

It reads ``../shared/data/rollouts/thip-qwen7b-rl/rollouts.csv`` (one row per response)
and never copies it: only aggregate figures leave this script. The synthetic side is
``simulator.pools.embedded.synthetic.default_pool(seed=0)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl

from simulator.pools.embedded.calibration import BENCHMARKS
from simulator.pools.stats import QUANTILES, Figures, Rollouts, figures, rollouts_of

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "rollouts" / "thip-qwen7b-rl"
if not DATA.is_dir():  # a worktree one level deeper than the shared folder
    DATA = ROOT.parents[1] / "shared" / "data" / "rollouts" / "thip-qwen7b-rl"


def real_rollouts(benchmark: str, csv: Path = DATA / "rollouts.csv", first: bool = False
                  ) -> Rollouts:
    """One benchmark's rollouts from the derived ``rollouts.csv``.

    With ``first``, only the first response per problem in file order (K = 1): the
    greedy-proxy figures of ``default-greedy`` (THIP sampled at temperature 0.6, so no
    real greedy decode exists; the first policy's answer stands in for one).
    """
    df = pl.read_csv(csv).filter(pl.col("benchmark") == benchmark)
    if first:
        df = df.unique(subset="problem_id", keep="first", maintain_order=True)
    level = df["level"].str.extract(r"(\d+)").cast(pl.Int64).fill_null(0).to_numpy()
    return Rollouts(
        query=df["problem_id"].to_numpy(),
        length=df["response_tokens"].to_numpy().astype(np.int64),
        correct=df["correct"].to_numpy().astype(bool),
        at_cap=(df["finish_reason"] == "length").to_numpy(),
        level=level.astype(np.int64),
        prompt=df["prompt_tokens"].to_numpy().astype(np.int64),
    )


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def emit(real: dict[str, Figures], name: str = "REAL") -> str:
    """Python source of the REAL (or REAL_GREEDY) constant for calibration.py."""
    lines = [f"{name}: dict[str, Figures] = {{"]
    for b, f in real.items():
        lines.append(f'    "{b}": Figures(')
        for name, v in vars(f).items():
            val = tuple(_r(x, 1 if name == "quantiles" else 4) for x in v) \
                if isinstance(v, tuple) else (v if isinstance(v, int) else _r(v))
            lines.append(f"        {name}={val!r},")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines).replace("nan", 'float("nan")')


def _cells(r: Figures, s: Figures) -> dict[str, str]:
    """'real / synthetic' strings of one benchmark, keyed by figure name."""
    def pair(a: float, b: float, fmt: str) -> str:
        return f"{a:{fmt}} / {b:{fmt}}"

    out = {"queries": f"{r.queries} / {s.queries}", "rollouts": f"{r.rollouts} / {s.rollouts}"}
    for name in ("accuracy", "cap_fraction", "cap_correct", "le_256", "correct_le_256",
                 "logmean", "logsd_between", "logsd_within"):
        out[name] = pair(getattr(r, name), getattr(s, name), ".3f")
    out["prompt_mean (tokens)"] = pair(r.prompt_mean, s.prompt_mean, ".0f")
    for q, rv, sv in zip(QUANTILES, r.quantiles, s.quantiles, strict=True):
        out[f"length q{round(q * 100)} (tokens)"] = pair(rv, sv, ".0f")
    bins = ("<256", "256-511", "512-1023", "1024-2047", ">=2048", "capped")
    for i, label in enumerate(bins):
        out[f"accuracy, length {label}"] = pair(r.bin_accuracy[i], s.bin_accuracy[i], ".2f")
    for i, (ra, sa) in enumerate(zip(r.level_accuracy, s.level_accuracy, strict=True)):
        out[f"accuracy, MATH level {i + 1}"] = pair(ra, sa, ".2f")
    return out


def table(real: dict[str, Figures], synth: dict[str, Figures], markdown: bool) -> str:
    """One row per figure, one 'real / synthetic' column per benchmark."""
    cells = {b: _cells(real[b], synth[b]) for b in real}
    names = list(dict.fromkeys(k for c in cells.values() for k in c))
    head = ["figure (real / synthetic)", *real]
    rows = [[n, *(cells[b].get(n, "") for b in real)] for n in names]
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|---" + "|---:" * len(real) + "|"]
        return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])
    w = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i])
                               for i, c in enumerate(x)) for x in [head, *rows])


def frontier_check(seed: int = 0) -> str:
    """Uniform accuracy at 256 tokens/query vs funding the shortest solvable queries.

    The second policy sorts solvable queries by true tau and funds each with
    ``c * tau`` tokens, shortest first, until the budget is spent; the best c in
    {1, 1.5, 2} is reported (an oracle-like bound the shadow-price policy approaches).
    """
    from simulator.pools.source import resolve_pool
    from simulator.seeds import rng_for
    from simulator.traffic.streams import sample_stream

    pool = resolve_pool("default", seed=seed)
    sub = pool.subset(sample_stream(pool, "balanced", 500, rng_for(seed, "calibrate")))
    budget = 256.0 * len(sub)
    uniform = float(sub.accuracy_at(np.full(len(sub), 256.0)).mean())
    tau = np.where(sub.solvable, sub.tau, np.inf)
    order = np.argsort(tau, kind="stable")
    best, best_c = 0.0, 1.0
    for c in (1.0, 1.5, 2.0):
        funded = order[np.cumsum(c * tau[order]) <= budget]
        caps = np.zeros(len(sub))
        caps[funded] = c * tau[funded]
        acc = float(sub.accuracy_at(caps).mean())
        best, best_c = (acc, c) if acc > best else (best, best_c)
    return (f"balanced stream n=500, mean budget 256: uniform {uniform:.4f}, "
            f"shortest-tau-first at {best_c:g}*tau {best:.4f} "
            f"(ratio {best / max(uniform, 1e-12):.2f})")


def main(argv: list[str] | None = None) -> int:
    """Print the emitted constants, the comparison table, or both."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--emit", action="store_true", help="print the REAL constant")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--greedy", action="store_true",
                    help="first rollout per problem, against the default-greedy pool")
    args = ap.parse_args(argv)
    if not (DATA / "rollouts.csv").is_file():
        sys.stderr.write(f"calibrate: {DATA} not found; it needs ../shared next to the repo\n")
        return 2
    real = {b: figures(real_rollouts(b, first=args.greedy)) for b in BENCHMARKS}
    if args.emit:
        print(emit(real, "REAL_GREEDY" if args.greedy else "REAL"))
        return 0
    from simulator.pools.embedded.synthetic import default_pool, greedy_pool

    pool = greedy_pool(seed=0) if args.greedy else default_pool(seed=0)
    synth = {b: figures(rollouts_of(pool, pool.benchmarks == b)) for b in BENCHMARKS}
    print(table(real, synth, args.markdown))
    if not args.greedy:
        print()
        print(frontier_check())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
