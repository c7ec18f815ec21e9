"""Discrete-event simulator throughput: simulated queries per CPU-second and peak memory.

Each size runs in a fresh subprocess (so peak RSS is that run's own) through the same
path as ``clearsim run``: query rows stream to Parquet chunks in a staged folder. The
CPU time (``time.process_time``) covers the run itself (pool, simulation, Parquet),
not the interpreter's start and imports.

    .venv/bin/python bench/des.py                        # balanced.yaml, 1e4, 1e5, 1e6
    .venv/bin/python bench/des.py --sizes 1e4,1e5        # quick
    .venv/bin/python bench/des.py --scenario scenarios/burst.yaml

The workload is a bundled scenario (default ``scenarios/balanced.yaml``: clear on a
scarce budget, noisy-oracle predictor, one tick a second, a 256-slot GPU with
prefill) with its ``duration`` replaced by ``n_queries`` = each size. Target (issue
16): >= 50k simulated queries per CPU-second at 1e6 arrivals, peak RSS under 300 MB.
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


def one(n: int, scenario_path: str) -> dict[str, float]:
    """Run ``n`` arrivals of the scenario in this process; CPU, wall and peak RSS."""
    sys.path.insert(0, str(REPO))
    from simulator.des.runner import run_to_dir
    from simulator.scenario.io import load_scenario

    sc = load_scenario(scenario_path, ["duration=null", f"n_queries={n}"])
    with tempfile.TemporaryDirectory() as tmp:
        c0, t0 = time.process_time(), time.perf_counter()
        res = run_to_dir(sc, Path(tmp) / "out")
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"arrivals": res.summary["arrivals"], "cpu_s": cpu, "wall_s": wall,
            "queries_per_cpu_s": res.summary["arrivals"] / cpu, "peak_rss_mb": peak_mb,
            "accuracy": res.summary["accuracy"], "sim_seconds": res.summary["sim_seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e4,1e5,1e6",
                    help="comma-separated arrival counts; default: %(default)s")
    ap.add_argument("--scenario", default=str(REPO / "scenarios" / "balanced.yaml"),
                    help="scenario YAML; default: scenarios/balanced.yaml")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.scenario)))
        return
    print(f"scenario {args.scenario}")
    print(f"{'arrivals':>10} {'CPU s':>8} {'wall s':>8} {'queries/CPU-s':>14} "
          f"{'peak RSS MB':>12}")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, __file__, "--one", str(size), "--scenario",
                              args.scenario], check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['arrivals']:>10,} {r['cpu_s']:>8.2f} {r['wall_s']:>8.2f} "
              f"{r['queries_per_cpu_s']:>14,.0f} {r['peak_rss_mb']:>12.0f}", flush=True)


if __name__ == "__main__":
    main()
