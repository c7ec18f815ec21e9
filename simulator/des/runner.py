"""Wiring: scenario -> pool + predictor -> processes -> records -> summary.

:func:`run` is the Python API (frames in memory); :func:`run_to_dir` streams the query
rows to Parquet chunks in a staged folder and swaps it in atomically (CLI).
``policy`` / ``params`` replace the scenario's allocator policy, so several policies
can be run on one scenario with common random numbers: arrivals, query choice,
rollout draws and predictor noise depend only on the seed, never on the policy.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from predictors.base import drawn_pool, make_predictor
from simulator.atomic import atomic_write_text, staged_dir
from simulator.des.allocator import Allocator
from simulator.des.bank import TokenBank
from simulator.des.engine import Engine
from simulator.des.kvlog import KvLevels
from simulator.des.ledger import Ledger, PoolView
from simulator.des.online import CountingBank, OnlineHook
from simulator.des.open_ticks import OpenTicks
from simulator.des.pacing import Pacer
from simulator.des.records import (
    GPU_REPLICA_SCHEMA,
    MemorySink,
    Occupancy,
    ParquetSink,
    Sink,
    Spool,
)
from simulator.des.source import QuerySource
from simulator.des.streams import MultiSource
from simulator.errors import UserError
from simulator.metrics import by_group, summarize
from simulator.policies import AllocationInput, get_policy
from simulator.policies.online import online_state
from simulator.pools.pool import Pool
from simulator.pools.source import resolve_pool
from simulator.scenario.models import Scenario
from simulator.seeds import rng_for
from simulator.serving import FluidGpu, GpuSpec, PatienceDraws, Router
from simulator.version import __version__

__all__ = ["RunResult", "run", "run_to_dir", "with_policy"]


@dataclass
class RunResult:
    """A finished run: the resolved scenario, its summary and its tables.

    ``queries`` is read from ``out_dir`` on first access when the run streamed to disk.
    """

    scenario: Scenario
    summary: dict[str, Any]
    ticks: pl.DataFrame
    gpu: pl.DataFrame
    out_dir: Path | None = None
    _queries: pl.DataFrame | None = field(default=None, repr=False)
    kv: pl.DataFrame | None = None
    """KV held per replica and window (``kv.parquet``); None without a KV pool."""

    @property
    def queries(self) -> pl.DataFrame:
        """One row per arrival (``queries.parquet`` schema)."""
        if self._queries is None:
            assert self.out_dir is not None
            self._queries = pl.read_parquet(self.out_dir / "queries.parquet")
        return self._queries


def with_policy(scenario: Scenario, policy: str | None = None,
                params: Mapping[str, Any] | None = None) -> Scenario:
    """``scenario`` with its allocator policy (and params) replaced and validated."""
    if policy is None and params is None:
        return scenario
    alloc = scenario.allocator.model_dump()
    if policy is not None:
        alloc["policy"] = policy
    if params is not None:
        alloc["params"] = dict(params)
    data = scenario.model_dump()
    data["allocator"] = alloc
    from simulator.scenario.io import parse_scenario

    return parse_scenario(data)


def _pool(scenario: Scenario) -> Pool:
    try:
        return resolve_pool(scenario.pool.source, seed=scenario.pool.seed)
    except UserError as exc:
        raise UserError(f"pool.source: {exc}") from None


def _policy(scenario: Scenario) -> Any:
    if scenario.allocator.unlimited:
        return None
    fn = get_policy(scenario.allocator.policy)
    try:  # fail on bad parameters before simulating, naming the YAML path
        fn(AllocationInput(np.array([100.0, 200.0]), 300.0, true_tau=np.array([1.0, 2.0])),
           scenario.allocator.params)
    except (ValueError, TypeError) as exc:
        raise UserError(f"allocator.params: {exc}") from None
    return fn


def simulate(scenario: Scenario, sink: Sink, *, pool: Pool | None = None,
             trace: list[tuple[str, float]] | None = None,
             progress: bool = False) -> tuple[float, dict[str, Any]]:
    """Run the event loop, streaming records to ``sink``.

    Returns:
        ``(sim_seconds, info)``: the time of the last event (s) and run facts.
    """
    pool = _pool(scenario) if pool is None else pool
    policy = _policy(scenario)
    try:
        predictor = make_predictor(scenario.predictor.kind, **scenario.predictor.params)
    except UserError as exc:
        raise UserError(f"predictor.params: {exc}") from None
    pool, drawn = drawn_pool(pool, predictor)
    a = scenario.allocator
    env = Engine(trace)
    view = PoolView.of(pool)
    source: QuerySource | MultiSource
    if scenario.streams is None:
        source = QuerySource(scenario, pool, view.tier, predictor)
    else:
        source = MultiSource(scenario, pool, view.tier, predictor, view.prompt_tokens)
        source.start(env)
    rate = None if isinstance(a.budget_rate, str) else float(a.budget_rate)
    state = None if policy is None else online_state(a.policy, a.params)
    period = a.period
    bank: TokenBank
    if state is None:
        bank = TokenBank(rate, a.window, a.initial_fill)
        pacer = None if rate is None else Pacer(a.tick_budget, rate, a.window, a.period,
                                                bank.capacity)
    else:  # decide at each arrival, against the free bank (simulator/des/online.py)
        bank = CountingBank(rate, a.window, a.initial_fill)
        policy, period, pacer = OnlineHook(state, env, bank, a.window), 0.0, None
    spec = scenario.gpu
    ledger = Ledger(source.blocks, view, bank, sink,
                    None if scenario.streams is None else [s.name for s in scenario.streams],
                    extended=spec.extended, replicas=spec.replicas > 1)
    ticks = Spool("ticks", sink)
    gpu, recorders = _gpus(env, spec, scenario.output.gpu_window, sink, ledger)
    bar = _bar(scenario) if progress else None
    patience = (None if scenario.patience is None
                else PatienceDraws(scenario.patience, rng_for(scenario.seed, "patience")))
    tick_progress = (None if bar is None else
                     (lambda t: bar.update(_progress(scenario, source, t) - bar.n)))
    allocator: Allocator | OpenTicks
    if (period == 0 and policy is None and patience is None and scenario.gpu.deadline
            is None and trace is None and isinstance(source, QuerySource)):
        # every query admitted with its L_max at its arrival: decided a block at a time
        allocator = OpenTicks(env, source, gpu, view, ticks,
                              (scenario.gpu.p0, scenario.gpu.p1), tick_progress)
    else:
        allocator = Allocator(env, period, source, bank, gpu, ledger, view, policy,
                              a.params, ticks, (scenario.gpu.p0, scenario.gpu.p1),
                              progress=tick_progress, pacer=pacer, patience=patience,
                              deadline=scenario.gpu.deadline)
    allocator.start()
    env.run()
    end = float(env.now)
    gpu.close(end)
    for rec in recorders:
        rec.finish(end)
    ticks.flush()
    ledger.flush(final=True)
    if bar is not None:
        bar.close()
    info: dict[str, Any] = {"ticks": allocator.n_ticks,
                            "mean_in_system": sum(r.total_area for r in recorders
                                                  if isinstance(r, Occupancy)) / end
                            if end > 0 else 0.0,
                            **drawn}
    kvs = [r for r in recorders if isinstance(r, KvLevels)]
    if kvs and end > 0:  # KV utilisation: time-weighted mean and peak, fractions of the pool
        means = [k.total / (end * k.capacity) for k in kvs]
        info["kv_utilisation_mean"] = sum(means) / len(means)
        info["kv_utilisation_peak"] = max(k.peak / k.capacity for k in kvs)
        if len(kvs) > 1:
            info["kv_utilisation_by_replica"] = means
    notes = list(source.notes)
    if gpu.never_fit:
        notes.append(_never_fit_note(gpu.never_fit, scenario.gpu))
    if notes:
        info["notes"] = notes
    return end, info


def _never_fit_note(n: int, spec: GpuSpec) -> str:
    """The note for requests that expired at admission, larger than KV memory."""
    need = ("prompt + cap" if spec.admission == "reserve-cap"
            else f"prompt + output tokens within {1 - spec.watermark:.0%} of the pool")
    return (f"{n:,} requests could never fit in KV memory and expired at admission "
            f"(gpu.kv_tokens {spec.kv_tokens:,} tokens; each needs {need}); raise "
            "gpu.kv_tokens or pick a preset with more memory")


def _gpus(env: Engine, spec: GpuSpec, width: float, sink: Sink, ledger: Ledger
          ) -> tuple[FluidGpu | Router, list[Occupancy]]:
    """The GPU (one replica) or a router over ``spec.replicas`` replicas, and the
    recorders to finish: per replica its GPU levels (``gpu`` table; a ``replica``
    column when several) and, with a KV pool, its KV held (``kv`` table)."""
    several = spec.replicas > 1
    gpus: list[FluidGpu] = []
    recorders: list[Occupancy] = []
    for r in range(spec.replicas):
        spool = Spool("gpu", sink, schema=GPU_REPLICA_SCHEMA) if several else Spool("gpu", sink)
        key = (r,) if several else ()
        occ = (Occupancy(width, spool, key) if spec.kv_tokens is None
               else KvLevels(width, spool, key, float(spec.kv_tokens), r,
                             spec.admission == "on-demand", Spool("kv", sink)))
        recorders.append(occ)
        g = FluidGpu(env, spec, occ, ledger)
        if isinstance(occ, KvLevels):
            occ.gpu = g
        gpus.append(g)
    if not several:
        return gpus[0], recorders
    return Router(gpus, spec.router, ledger.routed, spec.admission == "reserve-cap"), recorders


def _bar(scenario: Scenario) -> Any:
    from tqdm import tqdm

    total = scenario.duration if scenario.duration is not None else scenario.n_queries
    unit = "sim-s" if scenario.duration is not None else "queries"
    return tqdm(total=total, unit=unit, disable=not sys.stderr.isatty(), leave=False,
                mininterval=0.5, desc=scenario.name)


def _progress(scenario: Scenario, source: QuerySource | MultiSource, t: float) -> float:
    if scenario.duration is not None:
        return min(t, scenario.duration)
    return float(source.n_arrivals)


def _summary(scenario: Scenario, queries: pl.DataFrame | pl.LazyFrame, sim_seconds: float,
             info: dict[str, Any], wall: float) -> dict[str, Any]:
    out = summarize(queries, sim_seconds, scenario.output.slo)
    if scenario.streams is not None:
        out["by_stream"] = by_group(queries, "stream", [s.name for s in scenario.streams],
                                    sim_seconds, scenario.output.slo)
    if scenario.gpu.replicas > 1:  # queries routed to each replica (never-routed: none)
        out["by_replica"] = by_group(queries.lazy().with_columns(
            pl.col("replica").cast(pl.String)), "replica",
            [str(r) for r in range(scenario.gpu.replicas)], sim_seconds, scenario.output.slo)
    out.update(info)
    out["wall_seconds"] = wall
    out["queries_per_wall_second"] = out["arrivals"] / wall if wall > 0 else None
    out.update({"scenario": scenario.name, "policy": scenario.allocator.policy,
                "seed": scenario.seed, "clearsim_version": __version__})
    return out


def run(scenario: Scenario, policy: str | None = None,
        params: Mapping[str, Any] | None = None, *, pool: Pool | None = None,
        trace: list[tuple[str, float]] | None = None) -> RunResult:
    """Simulate ``scenario`` in memory (optionally with another ``policy``/``params``).

    Args:
        scenario: a validated scenario.
        policy: replaces ``allocator.policy`` (common random numbers across policies).
        params: replaces ``allocator.params``.
        pool: a pool to use instead of resolving ``pool.source``.
        trace: a list that receives ``(event name, time)`` for every engine step.
    """
    scenario = with_policy(scenario, policy, params)
    t0 = time.perf_counter()
    sink = MemorySink()
    end, info = simulate(scenario, sink, pool=pool, trace=trace)
    queries = sink.frame("queries")
    summary = _summary(scenario, queries, end, info, time.perf_counter() - t0)
    kv = sink.frame("kv") if scenario.gpu.kv_tokens is not None else None
    return RunResult(scenario, summary, sink.frame("ticks"), sink.frame("gpu"),
                     _queries=queries, kv=kv)


def run_to_dir(scenario: Scenario, out: str | Path, *, force: bool = False,
               policy: str | None = None, params: Mapping[str, Any] | None = None,
               pool: Pool | None = None, progress: bool = False) -> RunResult:
    """Simulate and write queries/ticks/gpu (and kv, with a KV pool) Parquet, the resolved
    scenario and summary.

    The folder is staged beside ``out`` and swapped in only when complete.

    Raises:
        UserError: ``out`` is non-empty without ``force``, or a bad scenario.
    """
    import json

    from simulator.scenario.io import dump_scenario

    scenario = with_policy(scenario, policy, params)
    dest = Path(out)
    with staged_dir(dest, force=force) as stage:
        t0 = time.perf_counter()
        sink = ParquetSink(stage)
        end, info = simulate(scenario, sink, pool=pool, progress=progress)
        for name in ("queries", "ticks", "gpu") + (("kv",) if scenario.gpu.kv_tokens
                                                   is not None else ()):
            sink.finish(name)
        sink.close()
        summary = _summary(scenario, pl.scan_parquet(stage / "queries.parquet"), end, info,
                           time.perf_counter() - t0)
        atomic_write_text(dump_scenario(scenario), stage / "scenario.resolved.yaml")
        atomic_write_text(json.dumps(summary, indent=2) + "\n", stage / "summary.json")
        ticks = pl.read_parquet(stage / "ticks.parquet")
        gpu = pl.read_parquet(stage / "gpu.parquet")
        kv = (pl.read_parquet(stage / "kv.parquet") if scenario.gpu.kv_tokens is not None
              else None)
    return RunResult(scenario, summary, ticks, gpu, out_dir=dest, kv=kv)
