"""Run every policy on every replication seed, with common random numbers per seed.

Seed ``s`` of a replication is the scenario with ``seed: s``; the seeds are the
scenario's own seed and the next ``n - 1`` integers. On one seed every policy sees the
same arrivals, queries, rollout draws and predictor noise (they depend only on the
seed), so per-seed differences between policies come from the policies alone.

:func:`compare` runs in memory (Python API); :func:`compare_to_dir` writes one run
folder per policy and seed, resumably, then ``comparison.json``/``.csv`` last:

- ``DIR/<policy>/``: the scenario's own seed (the same folders as before replications);
- ``DIR/seeds/<seed>/<policy>/``: every further seed;
- ``DIR/compare-manifest.json``: the fingerprint ``--resume`` checks;
- ``DIR/hindsight/hindsight.json`` (and per seed): with ``hindsight`` among the
  policies, the offline optimum solved on that seed's first run (a uniform run in
  ``hindsight/uniform-run/`` when no other policy is compared);
  :mod:`simulator.des.hindsight`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from simulator.comparison.describe import describe, scenario_facts
from simulator.comparison.metrics import query_metrics
from simulator.comparison.result import Comparison, build_comparison
from simulator.comparison.resume import check_manifest, fingerprint, finished, write_manifest
from simulator.des.hindsight import HINDSIGHT, hindsight_summary
from simulator.errors import UserError
from simulator.pools.pool import Pool
from simulator.scenario.models import Scenario

__all__ = ["DEFAULT_POLICIES", "Progress", "compare", "compare_to_dir", "pick_reference",
           "policy_params", "replication_seeds", "run_path"]

DEFAULT_POLICIES = ("uniform", "tale", "clear", "clear-calibrated", "oracle")
OUTPUT_FILES = ("comparison.json", "comparison.csv", "report.html")

#: progress(index from 1, total, policy, seed, summary, seconds, kept from a resume)
Progress = Callable[[int, int, str, int, Mapping[str, Any], float, bool], None]


def replication_seeds(scenario: Scenario, n: int) -> list[int]:
    """The scenario's seed and the next ``n - 1``.

    Raises:
        UserError: ``n < 1``.
    """
    if n < 1:
        raise UserError(f"--seeds must be >= 1, got {n}")
    return [scenario.seed + k for k in range(n)]


def pick_reference(policies: Sequence[str], reference: str | None) -> str:
    """``reference`` if among ``policies``; by default uniform, else the first policy.

    Raises:
        UserError: an explicit reference that is not run.
    """
    if reference is None:
        return "uniform" if "uniform" in policies else policies[0]
    if reference not in policies:
        raise UserError(f"--reference {reference}: not among --policies "
                        f"({', '.join(policies)}); add it there or pick one of them")
    return reference


def policy_params(scenario: Scenario, policies: Sequence[str],
                  params: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Each policy's parameters: given ones, else the scenario's own for its own policy."""
    given = params or {}
    own = scenario.allocator.policy
    return {p: dict(given[p]) if p in given else
            (dict(scenario.allocator.params) if p == own else {}) for p in policies}


def run_path(policy: str, seed: int, first: int) -> str:
    """The run folder of ``policy`` on ``seed``, relative to the output folder."""
    return policy if seed == first else f"seeds/{seed}/{policy}"


def _seeded(scenario: Scenario, seed: int) -> Scenario:
    return scenario if seed == scenario.seed else scenario.model_copy(update={"seed": seed})


def _resolve_pool(scenario: Scenario, pool: Pool | None) -> Pool:
    from simulator.pools.source import resolve_pool

    if pool is not None:
        return pool
    try:
        return resolve_pool(scenario.pool.source, seed=scenario.pool.seed)
    except UserError as exc:
        raise UserError(f"pool.source: {exc}") from None


def _with_queries(summary: Mapping[str, Any], queries: pl.DataFrame | pl.LazyFrame,
                  slo: float | None) -> dict[str, Any]:
    """The run summary plus the figures it lacks (time to outcome, SLO share)."""
    return {**query_metrics(queries, slo), **summary}


def _hindsight_to_dir(scenario: Scenario, run_dir: Path, dest: Path,
                      paths: Mapping[tuple[str, int], str], real: Sequence[str], seed: int,
                      pool: Pool) -> dict[str, Any]:
    """Solve the hindsight bound on a finished run of this seed (a uniform run in
    ``run_dir`` when no other policy is compared) and write its ``summary.json``."""
    import json

    from simulator.atomic import atomic_write_text
    from simulator.des.runner import run_to_dir

    if real:
        src = dest / paths[(real[0], seed)]
        base = json.loads((src / "summary.json").read_text(encoding="utf-8"))
    else:
        src = run_dir / "uniform-run"
        base = run_to_dir(scenario, src, force=True, policy="uniform", params={},
                          pool=pool).summary
    queries = pl.read_parquet(src / "queries.parquet",
                              columns=["pool_index", "rollout", "arrival_time"])
    summary = hindsight_summary(scenario, queries, pool, base)
    if (run_dir / "summary.json").is_file():   # a run of an older compare: replaced
        (run_dir / "summary.json").unlink()
    run_dir.mkdir(parents=True, exist_ok=True)
    # hindsight.json, not summary.json: the folder is no run (the report skips it)
    atomic_write_text(json.dumps(summary, indent=2) + "\n", run_dir / "hindsight.json")
    return summary


def _finish(scenario: Scenario, policies: list[str], params: dict[str, dict[str, Any]],
            reference: str, seeds: list[int], pool: Pool,
            summaries: dict[str, list[dict[str, Any]]], digest: str,
            runs: dict[str, dict[str, str]] | None = None) -> Comparison:
    first = summaries[policies[0]][0]
    span = first.get("last_arrival") or first.get("sim_seconds")  # (not the drain)
    measured = first["arrivals"] / span if span else None
    held = None
    if "queries_drawn" in first:
        held = {"include_training": first["queries_drawn"] != "held-out",
                "held_out_queries": first.get("held_out_queries"),
                "pool_queries": first.get("pool_queries")}
    facts = scenario_facts(scenario, seeds, first.get("held_out_queries", len(pool)),
                           measured, held)
    return build_comparison(summaries, scenario=facts, description=describe(facts),
                            params=params, reference=reference, seeds=seeds,
                            fingerprint=digest, runs=runs)


def compare(scenario: Scenario, policies: Sequence[str] = DEFAULT_POLICIES, *,
            seeds: int = 1, reference: str | None = None,
            params: Mapping[str, Mapping[str, Any]] | None = None,
            pool: Pool | None = None) -> Comparison:
    """Run ``policies`` on ``seeds`` replications in memory and compare them.

    Args:
        scenario: the base scenario (its seed is the first replication).
        policies: policy names (common random numbers across them on each seed).
        seeds: number of replications.
        reference: the policy differences are taken against (default uniform if run,
            else the first policy).
        params: policy -> parameters (default: the scenario's own for its own policy).
        pool: a pool instead of resolving ``pool.source``.
    """
    from simulator.des.runner import run

    names = list(dict.fromkeys(policies))
    ref = pick_reference(names, reference)
    seed_list = replication_seeds(scenario, seeds)
    pp = policy_params(scenario, names, params)
    pool = _resolve_pool(scenario, pool)
    summaries: dict[str, list[dict[str, Any]]] = {p: [] for p in names}
    for seed in seed_list:
        base = None
        for p in names:
            if p == HINDSIGHT:
                continue
            res = run(_seeded(scenario, seed), p, pp[p], pool=pool)
            base = base or res
            summaries[p].append(_with_queries(res.summary, res.queries,
                                              scenario.output.slo))
        if HINDSIGHT in summaries:
            base = base or run(_seeded(scenario, seed), "uniform", {}, pool=pool)
            summaries[HINDSIGHT].append(hindsight_summary(
                _seeded(scenario, seed), base.queries, pool, base.summary))
    return _finish(scenario, names, pp, ref, seed_list, pool, summaries,
                   fingerprint(scenario, names, pp, seed_list))


def _refuse_existing(out: Path, paths: list[str]) -> None:
    taken = [p for p in paths if (out / p).is_dir() and any((out / p).iterdir())]
    taken += [f for f in OUTPUT_FILES if (out / f).exists()]
    if taken:
        shown = ", ".join(taken[:4]) + (f" and {len(taken) - 4} more" if len(taken) > 4 else "")
        raise UserError(f"--out {out}: {shown} exist; use --force to replace them or "
                        "--resume to finish an interrupted compare")


def compare_to_dir(scenario: Scenario, out: str | Path,
                   policies: Sequence[str] = DEFAULT_POLICIES, *, seeds: int = 1,
                   reference: str | None = None,
                   params: Mapping[str, Mapping[str, Any]] | None = None,
                   pool: Pool | None = None, force: bool = False, resume: bool = False,
                   formats: Sequence[str] = ("json", "csv"),
                   progress: Progress | None = None, bar: bool = False) -> Comparison:
    """Like :func:`compare`, writing every run folder and the outputs into ``out``.

    Everything is checked before the first run. With ``resume``, finished runs of the
    same fingerprint are kept and only the rest run; ``comparison.csv`` and
    ``comparison.json`` are written (atomically) after every run.

    Raises:
        UserError: ``out`` is a file; runs or outputs exist without ``force`` or
            ``resume``; ``resume`` on a folder of another fingerprint.
    """
    from simulator.comparison.outputs import write_outputs
    from simulator.des.runner import run_to_dir, with_policy
    from simulator.scenario.io import dump_scenario

    if force and resume:
        raise UserError("--force and --resume exclude each other: --force starts over, "
                        "--resume keeps the finished runs")
    dest = Path(out)
    if dest.exists() and not dest.is_dir():
        raise UserError(f"--out {dest}: exists and is not a folder")
    names = list(dict.fromkeys(policies))
    ref = pick_reference(names, reference)
    seed_list = replication_seeds(scenario, seeds)
    pp = policy_params(scenario, names, params)
    paths = {(p, s): run_path(p, s, seed_list[0]) for s in seed_list for p in names}
    digest = fingerprint(scenario, names, pp, seed_list)
    if resume:
        check_manifest(dest, digest)
    elif not force:
        _refuse_existing(dest, list(paths.values()))
    pool = _resolve_pool(scenario, pool)
    dest.mkdir(parents=True, exist_ok=True)
    write_manifest(dest, digest, names, seed_list)
    summaries: dict[str, list[dict[str, Any]]] = {p: [] for p in names}
    slo = scenario.output.slo
    real = [p for p in names if p != HINDSIGHT]
    order = [(s, p) for s in seed_list for p in real + ([HINDSIGHT] if real != names else [])]
    for i, (seed, p) in enumerate(order, 1):
        run_dir = dest / paths[(p, seed)]
        if p == HINDSIGHT:
            t0 = time.perf_counter()
            summary = _hindsight_to_dir(_seeded(scenario, seed), run_dir, dest, paths, real,
                                        seed, pool)
            summaries[p].append(summary)
            if progress is not None:
                progress(i, len(paths), p, seed, summary, time.perf_counter() - t0, False)
            continue
        sc = with_policy(_seeded(scenario, seed), p, pp[p])
        t0 = time.perf_counter()
        kept = resume and finished(run_dir, dump_scenario(sc))
        if kept:
            import json

            summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        else:
            summary = run_to_dir(sc, run_dir, force=force or resume, pool=pool,
                                 progress=bar).summary
        merged = _with_queries(summary, pl.scan_parquet(run_dir / "queries.parquet"), slo)
        summaries[p].append(merged)
        if progress is not None:
            progress(i, len(paths), p, seed, merged, time.perf_counter() - t0, kept)
    summaries = {p: summaries[p] for p in names}
    runs = {p: {str(s): paths[(p, s)] for s in seed_list} for p in names}
    result = _finish(scenario, names, pp, ref, seed_list, pool, summaries, digest, runs)
    write_outputs(result, dest, tuple(f for f in formats if f in ("json", "csv")))
    return result
