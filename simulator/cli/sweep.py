"""``clearsim sweep``: run a sweep file into a results store, or show a store's status.

Forms::

    clearsim sweep SWEEP.yaml [--executor local|ray] [--workers N] [--resume] [--address A]
    clearsim sweep run SWEEP.yaml [...same options...]
    clearsim sweep status STORE
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from simulator.cli._args import positive_int
from simulator.errors import UserError

EXAMPLE = """\
examples (sweeps/*.yaml are yours to write; docs/sweeps.md has two to copy):
  clearsim sweep sweeps/frontier.yaml --workers 8
  clearsim sweep sweeps/frontier.yaml --resume            # after a crash or kill
  clearsim sweep sweeps/rates.yaml --executor ray --address 10.0.0.5:6379
  clearsim sweep status out/sweeps/frontier

a store holds manifest.json, parts/<cell>.parquet (one per finished cell) and
failed/<cell>.json; read it whole with simulator.sweep.load_store(PATH) or
'clearsim report PATH'. See docs/sweeps.md.
"""


def register(sub: Any) -> None:
    """Add the ``sweep`` subcommand."""
    p = sub.add_parser(
        "sweep", help="run a grid of cells (scenario runs or frontier/noise cells) into "
        "a resumable results store; 'sweep status STORE' shows its progress",
        description="Run every cell of a sweep file - the product of its axes and seeds - "
        "on a local process pool or a Ray cluster. Each finished cell is written at once "
        "as one Parquet part, so a killed sweep loses no finished cell and --resume runs "
        "only the missing and failed ones.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="SWEEP.yaml | run SWEEP.yaml | status STORE",
                   help="a sweep file to run, or 'run FILE', or 'status STORE'")
    p.add_argument("path", nargs="?", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--executor", choices=("local", "ray", "serial"),
                   help="where cells run: local process pool (default), ray, or serial "
                   "(in this process)")
    p.add_argument("--workers", type=positive_int, help="worker processes / Ray CPUs "
                   "(default: the sweep file's, else all CPUs)")
    p.add_argument("--address", metavar="HOST:PORT", help="Ray cluster to join (default: "
                   "the sweep file's, else start a local Ray)")
    p.add_argument("--resume", action="store_true", help="continue a store of this sweep: "
                   "skip done cells, rerun missing and failed ones")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="status: print counts as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch ``sweep FILE``, ``sweep run FILE`` and ``sweep status STORE``."""
    if args.target == "status":
        if args.path is None:
            raise UserError("sweep status: give the store directory, e.g. "
                            "'clearsim sweep status out/sweeps/demo'")
        return _status(args.path, args.json)
    if args.target == "run":
        if args.path is None:
            raise UserError("sweep run: give the sweep file")
        return _run(args.path, args)
    if args.path is not None:
        raise UserError(f"sweep: {args.target!r} is not an action (run, status); use "
                        "'clearsim sweep SWEEP.yaml', 'clearsim sweep run SWEEP.yaml' or "
                        "'clearsim sweep status STORE'")
    return _run(args.target, args)


def _run(path: str, args: argparse.Namespace) -> int:
    from simulator.sweep import load_sweep, run_sweep

    plan = load_sweep(path)
    out = run_sweep(plan, args.executor, args.workers, args.resume, args.address,
                    progress=False if args.no_progress else None)
    store = _shown(plan.store)
    sys.stdout.write(f"{store}: {out.total} cells: {out.skipped} already done, "
                     f"{out.done} finished now, {out.failed} failed, {out.pending} "
                     "pending\n")
    if out.failed or out.pending:
        sys.stdout.write(f"see 'clearsim sweep status {store}'; rerun with --resume "
                         "to retry the failed and pending cells\n")
        return 1
    return 0


def _shown(path: Path) -> str:
    """``path`` without ``..`` detours: relative to the working directory when inside it."""
    full = os.path.normpath(os.path.abspath(path))
    rel = os.path.relpath(full)
    return full if rel.startswith("..") else rel


def _status(path: str, as_json: bool) -> int:
    from simulator.sweep import Store

    st = Store(path).status()
    if as_json:
        sys.stdout.write(json.dumps({
            "total": st.total, "done": st.done, "failed": st.failed, "pending": st.pending,
            "failures": [{"cell_id": c, "coords": k, "error": e} for c, k, e in st.failures],
        }, indent=1) + "\n")
        return 0
    sys.stdout.write(f"{path}: {st.total} cells: {st.done} done, {st.failed} failed, "
                     f"{st.pending} pending\n")
    for cell_id, coords, error in st.failures[:20]:
        where = ", ".join(f"{k}={v}" for k, v in coords.items())
        sys.stdout.write(f"  failed {cell_id} ({where}): {error}\n")
    if len(st.failures) > 20:
        sys.stdout.write(f"  ... and {len(st.failures) - 20} more (see {path}/failed/)\n")
    return 0
