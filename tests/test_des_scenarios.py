"""Golden short runs of every bundled scenario, and the paper's effect over time.

The golden files pin exact counts of a 120 s run of each scenario (clear policy). After
an intended change to the simulator or the default pool, regenerate them with
``CLEARSIM_REGEN_GOLDEN=1 pytest tests/test_des_scenarios.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from simulator.des.runner import run
from simulator.metrics import windowed
from simulator.scenario.io import load_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
GOLDEN = Path(__file__).parent / "golden"
KEYS = ("arrivals", "correct", "ticks")


def test_every_stream_has_a_scenario() -> None:
    names = {p.stem for p in SCENARIOS}
    assert {"balanced", "mostly-easy", "mostly-hard", "u-shaped", "burst",
            "drift-easy-to-hard"} <= names
    for p in SCENARIOS:
        assert p.read_text().startswith("# "), f"{p.name} must start with a comment"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_golden_short_run(path: Path) -> None:
    sc = load_scenario(path, ["duration=120"])
    res = run(sc)
    q = res.queries
    got = {k: res.summary[k] for k in KEYS}
    got["abandoned"] = int((q["outcome"] == "abandoned").sum())
    got["tokens"] = int(q["tokens_generated"].sum())
    stem = path.stem
    trace = getattr(sc.arrivals, "path", None)
    if getattr(sc.arrivals, "fallback", None) is not None:  # one golden per trace replayed
        stem += "-real" if Path(str(trace)).exists() else "-generated"
    golden = GOLDEN / f"des_{stem}.json"
    if os.environ.get("CLEARSIM_REGEN_GOLDEN") or not golden.exists():
        golden.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    assert got == json.loads(golden.read_text())


def test_balanced_clear_beats_uniform_twice_over_time() -> None:
    sc = load_scenario(REPO / "scenarios" / "balanced.yaml")
    clear, uniform = run(sc, policy="clear"), run(sc, policy="uniform")
    # common random numbers: same arrivals and the same rollout per query
    assert clear.queries["arrival_time"].equals(uniform.queries["arrival_time"])
    assert clear.queries["rollout"].equals(uniform.queries["rollout"])
    assert clear.summary["accuracy"] >= 2.0 * uniform.summary["accuracy"]
    wc, wu = windowed(clear.queries, 100.0), windowed(uniform.queries, 100.0)
    assert (wc["accuracy"] >= wu["accuracy"]).all()
