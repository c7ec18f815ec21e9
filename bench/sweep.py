"""Sweep executors: local pool speed-up (2 workers vs 1) and Ray's per-cell overhead.

One run, one grid of moderately cheap frontier cells (the oracle policy on n queries,
a few tens of ms each), executed three times into fresh stores:

1. ``local`` with 1 worker, 2. ``local`` with 2 workers, 3. ``ray`` with 2 CPUs.

Ray is started before its timed run (its start-up is reported on its own), so the
Ray figure is the per-cell cost of scheduling, object-store transfer and result return
against the local pool. All three stores must hold identical results.

Usage: python bench/sweep.py [--cells 120] [--n 2000]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from polars.testing import assert_frame_equal

from simulator.sweep import load_store, load_sweep, run_sweep


def write_grid(folder: Path, cells: int, n: int) -> Path:
    """A frontier sweep of ``cells`` cells (budgets x 4 seeds) in ``folder``."""
    budgets = [16 * (i + 1) for i in range(max(1, cells // 4))]
    spec: dict[str, Any] = {
        "kind": "frontier",
        "base": {"pool": "default", "stream": "balanced", "n": n, "mean_budget": 256,
                 "policy": "oracle"},
        "axes": {"mean_budget": budgets},
        "seeds": [0, 1, 2, 3],
        "store": "store",
    }
    folder.mkdir(parents=True)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def timed(path: Path, executor: str, workers: int) -> float:
    """Wall seconds of one full sweep (executor start-up included, Ray's excluded)."""
    plan = load_sweep(path)
    t0 = time.perf_counter()
    out = run_sweep(plan, executor, workers=workers, progress=False)
    elapsed = time.perf_counter() - t0
    assert out.done == len(plan.cells) and out.failed == 0
    return elapsed


def main() -> None:
    """Run the three sweeps and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=120, help="grid size (multiple of 4)")
    ap.add_argument("--n", type=int, default=2000, help="queries per cell")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = {k: write_grid(root / k, args.cells, args.n) for k in ("l1", "l2", "ray")}
        cells = len(load_sweep(paths["l1"]).cells)
        t1 = timed(paths["l1"], "local", 1)
        t2 = timed(paths["l2"], "local", 2)
        import ray

        t0 = time.perf_counter()
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR)
        ray_start = time.perf_counter() - t0
        try:
            tr = timed(paths["ray"], "ray", 2)
        finally:
            ray.shutdown()
        frames = {k: load_store(p.parent / "store").drop("wall_seconds")
                  for k, p in paths.items()}
        assert_frame_equal(frames["l1"], frames["l2"], check_exact=True)
        assert_frame_equal(frames["l1"], frames["ray"], check_exact=True)
        compute = float(load_store(paths["l1"].parent / "store")["wall_seconds"].sum())
    print(f"grid: {cells} frontier cells (oracle, n={args.n}), "
          f"{1000 * compute / cells:.1f} ms compute per cell (1 worker)")
    print(f"local, 1 worker : {t1:6.2f} s  ({cells / t1:6.1f} cells/s)")
    print(f"local, 2 workers: {t2:6.2f} s  ({cells / t2:6.1f} cells/s)")
    print(f"ray,   2 CPUs   : {tr:6.2f} s  ({cells / tr:6.1f} cells/s; Ray start-up "
          f"{ray_start:.1f} s not included)")
    print(f"speed-up local 2 vs 1 workers: {t1 / t2:.2f}x")
    print(f"ray per-cell overhead vs local (2 workers each): "
          f"{1000 * (tr - t2) / cells:+.1f} ms/cell")
    print("results identical across the three runs: yes")


if __name__ == "__main__":
    main()
