"""``compare --resume``: killed midway with SIGKILL, a rerun gives the same files.

The uninterrupted and the resumed compare are run into two folders; every file must
match byte for byte, except the wall-clock figures (summary.json's wall_seconds and
queries_per_wall_second, the report's wall-clock column) and the folder's own path.
Staging folders a kill leaves (``.NAME.new-*``) are not outputs and are ignored here.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.cli.main import main

pytestmark = pytest.mark.slow

SCENARIO = """\
name: resume-test
arrivals: {kind: poisson, rate: 4.0}
allocator: {policy: clear, budget_rate: 800}
duration: 40
seed: 0
output: {slo: 20.0}
"""
# The suite checks the JSON and CSV (the report adds ~10 s); CLEARSIM_KILL_HTML=1 adds it.
ARGS = ["--policies", "uniform,clear,oracle", "--seeds", "5", "--no-png", "--outputs",
        "html,json,csv" if os.environ.get("CLEARSIM_KILL_HTML") else "json,csv"]
WALL = ("wall_seconds", "queries_per_wall_second")


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            data = p.read_bytes()
            if p.name == "summary.json":
                doc = json.loads(data)
                data = json.dumps({k: v for k, v in doc.items() if k not in WALL}).encode()
            elif p.suffix == ".html":
                text = data.decode().replace(str(root), "ROOT")
                # the Inputs table's last cell per run is the wall clock (s)
                text = re.sub(r"<td>[0-9.,]+</td></tr>", "<td>WALL</td></tr>", text)
                data = text.encode()
            out[str(rel)] = data
    return out


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from simulator.cli.main import main; "
            "sys.exit(main(sys.argv[1:]))", *argv]


def kill_and_resume(tmp: Path, scenario: Path, reference: dict[str, bytes],
                    delay: float) -> None:
    """Start a compare, SIGKILL it ``delay`` s after its first run folder, resume it,
    and check the files against ``reference``."""
    out = tmp / "killed"
    proc = subprocess.Popen(_cli("compare", str(scenario), "--out", str(out), *ARGS),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    start = time.monotonic()
    while not (out / "uniform").is_dir() and proc.poll() is None \
            and time.monotonic() - start < 60:
        time.sleep(0.01)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = subprocess.run(_cli("compare", str(scenario), "--out", str(out), "--resume",
                               *ARGS), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    got = _files(out)
    assert sorted(got) == sorted(reference)
    diff = [k for k in reference if got[k] != reference[k]]
    assert diff == []


def test_killed_compare_resumes_to_the_same_files(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    full = tmp_path / "full"
    assert main(["compare", str(scenario), "--out", str(full), *ARGS]) == 0
    reference = _files(full)
    assert "comparison.json" in reference and "seeds/4/oracle/queries.parquet" in reference
    kill_and_resume(tmp_path, scenario, reference, random.Random().uniform(0.0, 1.5))


def test_resume_refuses_another_scenario(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "cmp"
    argv = ["compare", str(scenario), "--out", str(out), "--policies", "uniform",
            "--seeds", "2", "--outputs", "json"]
    assert main(argv) == 0
    assert main([*argv, "--resume"]) == 0
    assert "(kept)" in capsys.readouterr().err
    assert main([*argv, "--resume", "--set", "allocator.budget_rate=900"]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "fingerprint" in err and "--force" in err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    assert main([*argv[:3], str(tmp_path / "other"), *argv[4:], "--resume"]) == 2
    assert "no compare-manifest.json" in capsys.readouterr().err
