"""Kill and resume: a 200-cell sweep killed by SIGKILL to its process group, then resumed.

The final store must hold every cell exactly once, with results identical to an
uninterrupted run of the same sweep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from simulator.sweep import Store, load_sweep, run_sweep
from tests.sweep_helpers import KILL_GRID, results, write_sweep

REPO = Path(__file__).resolve().parents[1]


def _start(sweep: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "simulator.cli.main", "sweep", str(sweep), "--workers", "2",
         "--no-progress", *extra],
        cwd=REPO, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_and_resume_loses_nothing_and_matches_uninterrupted(tmp_path: Path) -> None:
    killed_dir, ref_dir = tmp_path / "killed", tmp_path / "ref"
    killed_dir.mkdir()
    ref_dir.mkdir()
    sweep = write_sweep(killed_dir, **KILL_GRID)
    proc = _start(sweep)
    parts = killed_dir / "store" / "parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.parquet"))) >= 5:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker processes
    proc.wait()
    at_kill = Store(killed_dir / "store").status()
    assert at_kill.total == 200
    assert 5 <= at_kill.done < 200, at_kill
    # every part present at the kill is a complete, readable file
    assert results(killed_dir / "store").height == at_kill.done

    without_resume = _start(sweep)
    _, err = without_resume.communicate(timeout=60)
    assert without_resume.returncode == 2
    assert b"--resume" in err and len(err.decode().strip().splitlines()) == 1

    resumed = _start(sweep, "--resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    assert f"{at_kill.done} already done, {200 - at_kill.done} finished now".encode() in out

    final = Store(killed_dir / "store")
    assert final.status().done == 200 and final.status().pending == 0
    names = sorted(p.name for p in final.parts.iterdir())
    assert len(names) == 200 and all(n.endswith(".parquet") for n in names)

    run_sweep(load_sweep(write_sweep(ref_dir, **KILL_GRID)), "local", workers=2,
              progress=False)
    got, want = results(killed_dir / "store"), results(ref_dir / "store")
    assert got["cell_id"].n_unique() == 200
    assert got.columns == want.columns
    assert_frame_equal(got, want, check_exact=True)
    assert got.filter(pl.col("accuracy").is_null()).height == 0
