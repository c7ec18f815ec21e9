"""Discrete-event simulator throughput: simulated queries per wall-second and peak memory.

Each size runs in a fresh subprocess (so peak RSS is that run's own) through the same
path as ``clearsim run``: query rows stream to Parquet chunks in a staged folder.

    .venv/bin/python bench/des.py                 # 1e4, 1e5, 1e6 arrivals
    .venv/bin/python bench/des.py --sizes 1e4,1e5 # quick
    .venv/bin/python bench/des.py --serving       # KV memory + s2 + patience off vs on

The workload is the balanced stream on the default pool, Poisson arrivals at
``--rate`` queries/s, the clear policy ticking every second on a scarce budget of 200
tokens per query, and a 1024-slot GPU with prefill (two GPU events per admitted query).
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

REPO = Path(__file__).resolve().parents[1]


SERVING_ON = {"s2": 1.7e-8, "kv_tokens": 60000, "block_size": 16}
"""The serving-v2 variant: context-dependent step time and a KV pool that binds."""


def one(n: int, rate: float, policy: str, serving: bool = False) -> dict[str, float]:
    """Run ``n`` arrivals in this process; wall time and peak RSS."""
    sys.path.insert(0, str(REPO))
    from simulator.des.runner import run_to_dir
    from simulator.pools.source import resolve_pool
    from simulator.scenario.io import parse_scenario

    sc = parse_scenario({
        "pool": "default", "stream": "balanced",
        "arrivals": {"kind": "poisson", "rate": rate},
        "allocator": {"policy": policy, "period": 1.0, "budget_rate": 200.0 * rate,
                      "window": 10.0},
        "gpu": {"max_seqs": 1024, "s0": 0.01, "s1": 0.00001,
                **(SERVING_ON if serving else {})},
        "n_queries": n, "output": {"gpu_window": 60.0},
        **({"patience": {"kind": "exponential", "mean": 30.0}} if serving else {}),
    })
    pool = resolve_pool("default")
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_to_dir(sc, Path(tmp) / "out", pool=pool)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"arrivals": n, "wall_s": wall, "cpu_s": cpu,
            "preemptions": res.summary.get("preemptions") or 0,
            "timed_out_rate": res.summary["timed_out_rate"], "queries_per_wall_s": n / wall,
            "peak_rss_mb": peak_mb, "accuracy": res.summary["accuracy"],
            "sim_seconds": res.summary["sim_seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e4,1e5,1e6",
                    help="comma-separated arrival counts; default: %(default)s")
    ap.add_argument("--rate", type=float, default=200.0,
                    help="arrival rate (queries/s); default: %(default)s")
    ap.add_argument("--policy", default="clear", help="policy; default: %(default)s")
    ap.add_argument("--serving", action="store_true", help="run each size twice, KV "
                    "memory + s2 + patience off and on, and print the CPU-time ratio")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.rate, args.policy, args.serving)))
        return
    if args.serving:
        _serving(args)
        return
    print(f"{'arrivals':>10} {'wall s':>8} {'queries/wall-s':>15} {'peak RSS MB':>12}")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--rate",
                              str(args.rate), "--policy", args.policy],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['arrivals']:>10,} {r['wall_s']:>8.2f} {r['queries_per_wall_s']:>15,.0f} "
              f"{r['peak_rss_mb']:>12.0f}", flush=True)


def _serving(args: argparse.Namespace) -> None:
    print(f"{'arrivals':>10} {'CPU s off':>10} {'CPU s on':>10} {'on/off':>7} "
          f"{'preemptions':>12} {'timed out':>10}")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        r = {}
        for on in (False, True):
            cmd = [sys.executable, __file__, "--one", str(size), "--rate", str(args.rate),
                   "--policy", args.policy] + (["--serving"] if on else [])
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r[on] = json.loads(out.strip().splitlines()[-1])
        print(f"{size:>10,} {r[False]['cpu_s']:>10.2f} {r[True]['cpu_s']:>10.2f} "
              f"{r[True]['cpu_s'] / r[False]['cpu_s']:>7.2f} {r[True]['preemptions']:>12,} "
              f"{r[True]['timed_out_rate']:>10.3f}", flush=True)


if __name__ == "__main__":
    main()
