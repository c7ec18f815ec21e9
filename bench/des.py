"""Discrete-event simulator throughput: simulated queries per CPU-second and peak memory.

Each size runs in a fresh subprocess (so peak RSS is that run's own) through the same
path as ``clearsim run``: query rows stream to Parquet chunks in a staged folder. The
CPU time (``time.process_time``) covers the run itself (pool, simulation, Parquet),
not the interpreter's start and imports.

    .venv/bin/python bench/des.py                 # 1e4, 1e5, 1e6 arrivals
    .venv/bin/python bench/des.py --sizes 1e4,1e5 # quick
    .venv/bin/python bench/des.py --streams --sizes 1e6 [--baseline-repo ../main]
    .venv/bin/python bench/des.py --serving       # KV memory + s2 + patience off vs on
    .venv/bin/python bench/des.py --serving --workloads reasoning --sizes 1e6 --repeats 3
    .venv/bin/python bench/des.py --scenario scenarios/balanced.yaml  # the file itself
    .venv/bin/python bench/des.py --baseline-repo ../main --repeats 3  # speed-up vs main

``--streams`` runs, side by side at each size, the single-stream form, the same load
as one entry of ``streams:`` and as four streams (a quarter of the rate each), and
prints CPU seconds (``time.process_time``) and their ratios to the single-stream form
(or to ``--baseline-repo``'s single-stream form: another checkout, e.g. main, run by
the same script).

The workload is a bundled scenario (default ``scenarios/balanced.yaml``: clear on a
scarce budget, noisy-oracle predictor, one tick a second, a 256-slot GPU with
prefill) with its ``duration`` replaced by ``n_queries`` = each size. Target (issue
16): >= 50k simulated queries per CPU-second at 1e6 arrivals, peak RSS under 300 MB.

``--serving`` runs each size with KV memory, s2 and patience off and on, in three
workloads (``--workloads``), and prints the CPU-time ratio (issue 11's target: at most
1.5x at 1e6), the preemptions and timed-out rate of the on-run, the queries the
allocator funded (sent to the GPU) and those that took a GPU slot in each run, and
the CPU microseconds per funded query:

* ``short``: the default workload (below) at 100 queries/s on one H100 running
  Qwen2.5-7B (``gpu: {preset: h100-qwen2.5-7b}``: 256 slots, chunked prefill, 1.08M
  tokens of KV) against the same preset with ``s2: 0, kv_tokens: null`` and no
  patience; on adds patience lognormal, median 180 s, sigma 0.5 (as the bundled
  reasoning scenarios). About 200 tokens per query: the GPU keeps up and KV memory
  never fills (under 10% used), the cost of the bookkeeping alone.
* ``reasoning``: ``scenarios/reasoning-h100-memory.yaml`` as written (one H100 preset,
  1k-8k tokens per query, chunked prefill) against the same file with
  ``gpu.s2=0 gpu.kv_tokens=null patience=null``. Memory binds all the time: about 0.7
  preemptions per arrival (each one re-prefills and rejoins: more events than the
  off-run simulates) and about 14% time out.
* ``overloaded``: the default workload with a 60,000-token pool and patience
  exponential, mean 30 s: the GPU cannot keep up, about 80% time out, and as a timed-out
  query's unused cap returns to the bank the on-run funds about 1.7x the queries of
  the off-run (most give up in the queue): CPU per funded query is the fair figure.

The default workload decides about 200 queries per tick (rate 200/s, one tick a
second). ``--scenario FILE`` runs a scenario file as written instead (only
``duration`` replaced by ``n_queries``): ``scenarios/balanced.yaml`` has 4 arrivals a
second, so about 4 queries per tick, where the per-tick cost dominates.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


DEFAULT_GPU: dict[str, Any] = {"max_seqs": 1024, "s0": 0.01, "s1": 0.00001}
"""The default workload's GPU (made-up figures, timer prefill)."""

WORKLOADS: dict[str, dict[str, Any]] = {
    "short": {"rate": 100.0, "off": {"gpu": {"preset": "h100-qwen2.5-7b", "s2": 0,
                                             "kv_tokens": None}},
              "on": {"gpu": {"preset": "h100-qwen2.5-7b"},
                     "patience": {"kind": "lognormal", "median": 180.0, "sigma": 0.5}}},
    "reasoning": {"scenario": "scenarios/reasoning-h100-memory.yaml",
                  "off": ["gpu.s2=0", "gpu.kv_tokens=null", "patience=null"]},
    "overloaded": {"on": {"gpu": {**DEFAULT_GPU, "s2": 1.7e-8, "kv_tokens": 60000,
                                  "block_size": 16},
                          "patience": {"kind": "exponential", "mean": 30.0}}},
}
"""``--serving`` workloads (module docstring): the default workload with its ``rate``
(else ``--rate``) and the ``gpu`` and ``patience`` of the ``off`` and ``on`` runs
(default: :data:`DEFAULT_GPU`, no patience), or a scenario file as written and the
overrides that turn memory, s2 and patience off."""


def one(n: int, rate: float, policy: str, streams: int = 0,
        repo: Path = REPO, yaml_file: str | None = None, workload: str | None = None,
        on: bool = False) -> dict[str, float]:
    """Run ``n`` arrivals in this process; wall and CPU time and peak RSS.

    ``streams`` 0 is the single-stream form; k >= 1 gives ``streams:`` with k entries
    of rate / k each (the same total load). ``workload``: one of :data:`WORKLOADS`,
    with its serving-v2 settings ``on`` or off.
    """
    sys.path.insert(0, str(repo))
    from simulator.des.runner import run_to_dir
    from simulator.pools.source import resolve_pool
    from simulator.scenario.io import parse_scenario

    spec = WORKLOADS[workload] if workload is not None else {}
    rate = float(spec.get("rate", rate))
    load: dict[str, object] = {"stream": "balanced",
                               "arrivals": {"kind": "poisson", "rate": rate}}
    if streams:
        load = {"streams": [{"name": f"s{i}", "mix": "balanced",
                             "arrivals": {"kind": "poisson", "rate": rate / streams}}
                            for i in range(streams)]}
    if "scenario" in spec:
        yaml_file = str(repo / spec["scenario"])
    if yaml_file is not None:
        from simulator.scenario.io import load_scenario

        sc = load_scenario(yaml_file, [f"n_queries={n}", "duration=null"]
                           + ([] if on else list(spec.get("off", []))))
    else:
        sc = _generated(n, rate, policy, load, spec.get("on" if on else "off", {}),
                        parse_scenario)
    pool = resolve_pool(sc.pool if isinstance(sc.pool, str) else "default")
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_to_dir(sc, Path(tmp) / "out", pool=pool)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        funded, admitted = _counts(Path(tmp) / "out" / "queries.parquet")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"arrivals": n, "wall_s": wall, "cpu_s": cpu,
            "preemptions": res.summary.get("preemptions") or 0,
            "timed_out_rate": res.summary["timed_out_rate"], "funded": funded,
            "admitted": admitted,
            "queries_per_wall_s": n / wall,
            "peak_rss_mb": peak_mb, "accuracy": res.summary["accuracy"],
            "sim_seconds": res.summary["sim_seconds"]}


def _counts(queries: Path) -> tuple[int, int]:
    """(queries sent to the GPU with a cap > 0, queries that took a GPU slot:
    ``generation_time`` > 0, as those that never start have 0), read after the timed
    run."""
    import polars as pl

    row = pl.scan_parquet(queries).select((pl.col("cap") > 0).sum(),
                                          (pl.col("generation_time") > 0).sum()).collect()
    return int(row.item(0, 0)), int(row.item(0, 1))


def _generated(n: int, rate: float, policy: str, load: dict[str, object],
               serving: dict[str, Any], parse_scenario: Any) -> Any:
    """The default workload (module docstring) with ``load`` as its arrivals."""
    return parse_scenario({
        "pool": "default", **load,
        "allocator": {"policy": policy, "period": 1.0, "budget_rate": 200.0 * rate,
                      "window": 10.0},
        "gpu": serving.get("gpu", DEFAULT_GPU),
        "n_queries": n, "output": {"gpu_window": 60.0},
        **({"patience": serving["patience"]} if "patience" in serving else {}),
    })


def _sub(size: int, args: argparse.Namespace, streams: int = 0,
         repo: Path = REPO) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--one", str(size), "--rate",
                          str(args.rate), "--policy", args.policy, "--n-streams",
                          str(streams), "--repo", str(repo)]
                         + (["--scenario", args.scenario] if args.scenario else []),
                         check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _streams_table(sizes: list[int], args: argparse.Namespace) -> None:
    base_repo = Path(args.baseline_repo).resolve() if args.baseline_repo else None
    print(f"{'arrivals':>10} {'base cpu s':>11} {'1 stream':>9} {'ratio':>6} "
          f"{'4 streams':>10} {'ratio':>6}   (CPU s, process_time; base = "
          f"{'single-stream form of ' + str(base_repo) if base_repo else 'single-stream form'})")
    for size in sizes:
        base = _sub(size, args, 0, base_repo or REPO)
        one_s, four = _sub(size, args, 1), _sub(size, args, 4)
        print(f"{size:>10,} {base['cpu_s']:>11.2f} {one_s['cpu_s']:>9.2f} "
              f"{one_s['cpu_s'] / base['cpu_s']:>6.2f} {four['cpu_s']:>10.2f} "
              f"{four['cpu_s'] / base['cpu_s']:>6.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e4,1e5,1e6",
                    help="comma-separated arrival counts; default: %(default)s")
    ap.add_argument("--rate", type=float, default=200.0,
                    help="arrival rate (queries/s); default: %(default)s")
    ap.add_argument("--policy", default="clear", help="policy; default: %(default)s")
    ap.add_argument("--streams", action="store_true",
                    help="compare one and four streams with the single-stream form")
    ap.add_argument("--baseline-repo", metavar="DIR",
                    help="also run this checkout (e.g. main), alternating with this one, "
                    "and print the speed-up (with --streams: its single-stream form)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="with --baseline-repo or --serving: runs of each (alternating; "
                    "median CPU time); default: %(default)s")
    ap.add_argument("--serving", action="store_true", help="run each size with KV "
                    "memory + s2 + patience off and on, and print the CPU-time ratio")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="with --serving: comma-separated, of " + ", ".join(WORKLOADS)
                    + "; default: all")
    ap.add_argument("--scenario", metavar="FILE", help="run this scenario file (its "
                    "duration replaced by each size) instead of the default workload")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--n-streams", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--repo", default=str(REPO), help=argparse.SUPPRESS)
    ap.add_argument("--workload", choices=list(WORKLOADS), help=argparse.SUPPRESS)
    ap.add_argument("--on", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.rate, args.policy, args.n_streams,
                             Path(args.repo), args.scenario, args.workload, args.on)))
        return
    for name in args.workloads.split(",") if args.serving else []:
        if name not in WORKLOADS:
            ap.error(f"--workloads: unknown workload {name!r}; use "
                     + ", ".join(WORKLOADS))
    if args.serving:
        _serving(args)
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    if args.streams:
        _streams_table(sizes, args)
        return
    if args.baseline_repo:
        _baseline_table(sizes, args)
        return
    print(f"{'arrivals':>10} {'wall s':>8} {'cpu s':>8} {'queries/CPU-s':>14} "
          f"{'peak RSS MB':>12}")
    for size in sizes:
        r = _sub(size, args)
        print(f"{r['arrivals']:>10,} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} "
              f"{r['arrivals'] / r['cpu_s']:>14,.0f} {r['peak_rss_mb']:>12.0f}", flush=True)


def _baseline_table(sizes: list[int], args: argparse.Namespace) -> None:
    """Queries per CPU-second of ``--baseline-repo`` and of this checkout, alternating
    (``--repeats`` runs each, median CPU time), and their ratio."""
    base_repo = Path(args.baseline_repo).resolve()
    print(f"{'arrivals':>10} {'base q/CPU-s':>13} {'this q/CPU-s':>13} {'speed-up':>9} "
          f"{'base RSS MB':>12} {'this RSS MB':>12}   (base = {base_repo})")
    for size in sizes:
        runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
        for _ in range(args.repeats):
            runs["base"].append(_sub(size, args, 0, base_repo))
            runs["this"].append(_sub(size, args))
        cpu = {k: sorted(r["cpu_s"] for r in v)[len(v) // 2] for k, v in runs.items()}
        rss = {k: max(r["peak_rss_mb"] for r in v) for k, v in runs.items()}
        print(f"{size:>10,} {size / cpu['base']:>13,.0f} {size / cpu['this']:>13,.0f} "
              f"{cpu['base'] / cpu['this']:>8.2f}x {rss['base']:>12.0f} {rss['this']:>12.0f}",
              flush=True)


def _serving(args: argparse.Namespace) -> None:
    """The ``--serving`` table: each workload and size off and on, alternating
    (``--repeats`` runs each, median CPU time; then each repeat's pair and ratio)."""
    print(f"{'workload':>10} {'arrivals':>10} {'CPU s off':>10} {'CPU s on':>9} "
          f"{'on/off':>7} {'preempt/arr':>11} {'timed out':>9} {'funded off/on':>17} "
          f"{'slot taken off/on':>19} {'CPU us/funded off/on':>21}", flush=True)
    for name in args.workloads.split(","):
        for size in (int(float(s)) for s in args.sizes.split(",")):
            runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
            for _ in range(args.repeats):
                for on in (False, True):
                    cmd = [sys.executable, __file__, "--one", str(size), "--rate",
                           str(args.rate), "--policy", args.policy, "--workload", name]
                    out = subprocess.run(cmd + (["--on"] if on else []), check=True,
                                         capture_output=True, text=True).stdout
                    runs[on].append(json.loads(out.strip().splitlines()[-1]))
            cpu = {on: sorted(x["cpu_s"] for x in v)[len(v) // 2] for on, v in runs.items()}
            off, on_ = runs[False][0], runs[True][0]  # (the counts are deterministic)
            print(f"{name:>10} {size:>10,} {cpu[False]:>10.2f} {cpu[True]:>9.2f} "
                  f"{cpu[True] / cpu[False]:>7.2f} {on_['preemptions'] / size:>11.3f} "
                  f"{on_['timed_out_rate']:>9.3f} "
                  f"{off['funded']:>8,}/{on_['funded']:<8,} "
                  f"{off['admitted']:>9,}/{on_['admitted']:<9,} "
                  f"{1e6 * cpu[False] / max(off['funded'], 1):>10.2f}/"
                  f"{1e6 * cpu[True] / max(on_['funded'], 1):<10.2f}", flush=True)
            if args.repeats > 1:  # each off/on pair ran side by side
                pairs = ", ".join(f"{b['cpu_s']:.2f}/{a['cpu_s']:.2f} = "
                                  f"{b['cpu_s'] / a['cpu_s']:.2f}"
                                  for a, b in zip(runs[False], runs[True], strict=True))
                print(f"{'':>10} per repeat, CPU s on/off: {pairs}", flush=True)


if __name__ == "__main__":
    main()
