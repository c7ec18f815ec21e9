"""``clearsim pool fit``: fit utility forms to a pool's accuracy-vs-cap curves.

Groups: each benchmark, each difficulty tier (quartiles of ln tau, as the streams use),
the whole pool, and (when K > 1) single queries, whose fits are summarised by the
median RMSE. The maths is :mod:`simulator.allocation.fit`; docs/utility-fit.md has the
method and its caveats.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any

from simulator.cli._args import output_file, seed
from simulator.cli.names import FORM_NAMES as FORMS
from simulator.cli.names import TIER_NAMES
from simulator.errors import UserError

if TYPE_CHECKING:  # the work imports numpy, polars and scipy inside (a fast --help)
    import numpy as np
    import polars as pl

    from simulator.allocation.fit import FitResult
    from simulator.pools.pool import Pool

__all__ = ["curve_schema", "fit_pool", "register"]


def curve_schema() -> dict[str, pl.DataType]:
    """The curves frame's polars schema (built on call: polars loads with the work)."""
    import polars as pl

    return {"fit_group": pl.String(), "form": pl.String(), "reading": pl.String(),
            "cap": pl.Float64(), "accuracy": pl.Float64()}


def register(cmds: Any) -> None:
    """Add ``fit`` to the ``pool`` subcommands (``cmds`` is pool's subparsers)."""
    p = cmds.add_parser(
        "fit",
        help="fit utility forms (surge, surge-integral, logistic, lognormal) to the "
        "pool's accuracy-vs-cap curves",
        description="Fit each form to the empirical accuracy-at-cap curve mean_i A_i(t), "
        "pooled per benchmark, per difficulty tier and over the pool, and per query when "
        "K > 1. Two readings: 'accuracy' (the form is A(t); least squares) and "
        "'density' (the form's derivative is the density of correct lengths, paper Fig. "
        "2; maximum likelihood; the surge's density reading gives the surge-integral "
        "curve). Prints RMSE, a binomial pseudo log-likelihood and AIC (the same "
        "rollouts are reused at every cap: compare forms, not absolute values) and the "
        "fitted parameters. See docs/utility-fit.md.",
        epilog="examples: 'clearsim pool fit', 'clearsim pool fit thip.parquet --forms "
        "surge,lognormal --json', 'clearsim pool fit default --max-cap 2048 --out "
        "fit.parquet' (then 'clearsim report fit.parquet')",
    )
    p.add_argument("pool", nargs="?", default="default", metavar="POOL",
                   help="a pool Parquet file or an embedded pool name; default: %(default)s")
    p.add_argument("--forms", default=",".join(FORMS),
                   help="comma-separated forms; default: %(default)s")
    p.add_argument("--max-cap", type=float, metavar="TOKENS",
                   help="fit caps up to this (default: just below each group's smallest "
                   "collection cap)")
    p.add_argument("--per-query", type=int, default=100, metavar="N",
                   help="fit at most N single queries with K > 1, evenly spaced (0: none); "
                   "default: %(default)s")
    p.add_argument("--seed", type=seed, default=0, help="seed of an embedded pool")
    p.add_argument("--json", action="store_true", help="print the fits as JSON")
    p.add_argument("--out", metavar="FIT.parquet",
                   help="also write the empirical and fitted curves (for 'clearsim report')")
    p.set_defaults(func=run)


def _forms(text: str) -> list[str]:
    names = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in names if f not in FORMS]
    if not names or bad:
        raise UserError(f"--forms: unknown form(s) {', '.join(bad) or '(none given)'}; "
                        f"valid: {', '.join(FORMS)}")
    return names


def _groups(pool: Pool) -> list[tuple[str, str, np.ndarray]]:
    """(kind, name, mask) for each benchmark, each tier and the whole pool."""
    import numpy as np

    from simulator.traffic.streams import tiers

    out = [("benchmark", b, pool.benchmarks == b) for b in sorted(set(pool.benchmarks))]
    tier = tiers(pool)
    out += [("tier", name, tier == k) for k, name in enumerate(TIER_NAMES) if (tier == k).any()]
    return [*out, ("all", "all", np.ones(len(pool), dtype=bool))]


def _grid(pool: Pool, mask: np.ndarray, max_cap: float | None) -> np.ndarray:
    from simulator.allocation.fit import cap_grid

    top = float(pool.max_tokens[mask].min()) - 1.0
    return cap_grid(top if max_cap is None else min(max_cap, top))


def _row(r: FitResult) -> dict[str, Any]:
    def num(v: float | None) -> float | None:
        return None if v is None or not math.isfinite(v) else round(float(v), 6)

    return {"form": r.form, "reading": r.reading, "curve_form": r.curve_form,
            "params": {k: float(f"{v:.6g}") for k, v in r.params.items()},
            "rmse": num(r.rmse), "loglik": num(r.loglik), "aic": num(r.aic),
            "loglik_lengths": num(r.loglik_lengths)}


def _per_query(pool: Pool, forms: list[str], limit: int, max_cap: float | None
               ) -> dict[str, Any]:
    import numpy as np

    from simulator.allocation.fit import curve_data, fit_accuracy

    good = pool.correct & pool.valid & (pool.lengths < pool.max_tokens[:, None])
    pick = np.flatnonzero((pool.n_rollouts > 1) & good.any(axis=1))
    if limit <= 0 or pick.size == 0:
        return {}
    pick = pick[np.unique(np.linspace(0, pick.size - 1, min(limit, pick.size)).astype(int))]
    rmse: dict[str, list[float]] = {f: [] for f in forms}
    for i in pick:
        m = np.zeros(len(pool), dtype=bool)
        m[i] = True
        data = curve_data(pool.lengths[m], pool.correct[m], pool.valid[m],
                          pool.max_tokens[m], _grid(pool, m, max_cap))
        for f in forms:
            rmse[f].append(fit_accuracy(f, data).rmse)
    return {"queries": int(pick.size), "reading": "accuracy",
            "rmse_median": {f: round(float(np.median(v)), 6) for f, v in rmse.items()},
            "rmse_mean": {f: round(float(np.mean(v)), 6) for f, v in rmse.items()}}


def fit_pool(pool: Pool, forms: list[str], max_cap: float | None = None, per_query: int = 100
             ) -> tuple[dict[str, Any], pl.DataFrame]:
    """The fits of every group (JSON-ready) and the curves frame (:func:`curve_schema`)."""
    import polars as pl

    from simulator.allocation.fit import READINGS, curve_data, fit_group

    groups, curves = [], []
    for kind, name, mask in _groups(pool):
        data = curve_data(pool.lengths[mask], pool.correct[mask], pool.valid[mask],
                          pool.max_tokens[mask], _grid(pool, mask, max_cap))
        fits = fit_group(data, forms, READINGS)
        groups.append({"kind": kind, "group": name, "queries": data.queries,
                       "rollouts": int(data.length.size),
                       "max_cap": float(data.grid[-1]),
                       "fits": [_row(r) for r in fits]})
        curves += [(name, "empirical", "data", float(c), float(a))
                   for c, a in zip(data.grid, data.accuracy, strict=True)]
        curves += [(name, r.form, r.reading, float(c), float(a)) for r in fits
                   for c, a in zip(data.grid, r.curve, strict=True)]
    info = {"queries": len(pool), "groups": groups,
            "per_query": _per_query(pool, forms, per_query, max_cap)}
    return info, pl.DataFrame(curves, schema=curve_schema(), orient="row")


def format_fits(name: str, info: dict[str, Any]) -> str:
    """One table per group: form, reading, RMSE, AIC and the parameters."""
    out = [f"pool {name}: {info['queries']} queries; RMSE of the fitted accuracy curve, "
           "binomial pseudo log-likelihood AIC (lower is better; compare within a group)"]
    for g in info["groups"]:
        head = "whole pool" if g["kind"] == "all" else f"{g['kind']} {g['group']}"
        out += ["", f"{head}: {g['queries']} queries, {g['rollouts']} "
                f"rollouts, caps 16..{g['max_cap']:.0f}",
                f"  {'form':<15}{'reading':<10}{'rmse':>8}{'aic':>12}  parameters"]
        for r in g["fits"]:
            params = ", ".join(f"{k}={v:.4g}" for k, v in r["params"].items())
            aic = "-" if r["aic"] is None else f"{r['aic']:.1f}"
            out.append(f"  {r['form']:<15}{r['reading']:<10}{r['rmse']:>8.4f}{aic:>12}  "
                       f"{params}")
    pq = info["per_query"]
    if pq:
        out += ["", f"single queries (K > 1), {pq['queries']} fitted, accuracy reading: "
                "median (mean) RMSE",
                *(f"  {f:<15}{v:.4f} ({pq['rmse_mean'][f]:.4f})"
                  for f, v in pq["rmse_median"].items())]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Fit and print (table or JSON); write the curves with --out."""
    forms = _forms(args.forms)
    if args.max_cap is not None and not (math.isfinite(args.max_cap) and args.max_cap > 32):
        raise UserError(f"--max-cap must be more than 32 tokens, got {args.max_cap}")
    if args.per_query < 0:
        raise UserError(f"--per-query must be >= 0, got {args.per_query}")
    if args.out:
        output_file(args.out, "--out", "fit.parquet")
    from simulator.atomic import atomic_write_parquet
    from simulator.pools.source import resolve_pool

    pool = resolve_pool(args.pool, seed=args.seed)
    info, curves = fit_pool(pool, forms, args.max_cap, args.per_query)
    if args.out:
        atomic_write_parquet(curves, args.out)
    if args.json:
        json.dump({"pool": args.pool, **info}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_fits(args.pool, info))
    return 0
