"""Kill tests: SIGKILL a command at a random moment, then the output is absent or complete,
a rerun succeeds and leaves no litter (the dead process's temporaries are removed).

The suite kills each command once; ``CLEARSIM_KILL_REPEAT=20`` repeats each in a row, and
``CLEARSIM_KILL_SEED`` fixes the random moments (the seed is in every failure message);
``pytest -s`` prints one line per kill (output absent or complete, temporaries left).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from simulator.cli.main import main
from tests.sweep_helpers import write_scenario

REPEAT = int(os.environ.get("CLEARSIM_KILL_REPEAT", "1"))
SEED = int(os.environ.get("CLEARSIM_KILL_SEED", str(time.time_ns() % 10**6)))
RUN_FILES = {"queries.parquet", "ticks.parquet", "gpu.parquet", "scenario.resolved.yaml",
             "summary.json"}


def _start(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "simulator.cli.main", *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _litter(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


def _run_complete(out: Path) -> None:
    assert {p.name for p in out.iterdir()} >= RUN_FILES, sorted(out.iterdir())
    json.loads((out / "summary.json").read_text())
    pl.read_parquet(out / "queries.parquet")


def _stress_complete(out: Path) -> None:
    assert pl.read_parquet(out / "stress.parquet").height == 2 * 2 * 2  # policy x sigma x seed


def _pool_complete(out: Path) -> None:
    from simulator.pools.pool import load_pool

    assert len(load_pool(out)) == 10_000


def _model_complete(out: Path) -> None:
    from predictors.learned_model import load_model

    assert load_model(out).metrics


def _inputs(tmp: Path) -> dict[str, Path]:
    rows = 3200
    csv = tmp / "rollouts.csv"
    big = tmp / "big.csv"
    pl.DataFrame({"id": [f"q{i // 8}" for i in range(80_000)], "benchmark": ["toy"] * 80_000,
                  "length": [1 + (i * 7919) % 4000 for i in range(80_000)],
                  "correct": [i % 3 == 0 for i in range(80_000)]}).write_csv(big)
    pl.DataFrame({"id": [f"q{i // 8}" for i in range(rows)], "benchmark": ["toy"] * rows,
                  "length": [1 + (i * 7919) % 4000 for i in range(rows)],
                  "correct": [(i * 31) % 3 == 0 for i in range(rows)]}).write_csv(csv)
    pool = tmp / "pool.parquet"
    assert main(["pool", "import", str(csv), "-o", str(pool)]) == 0
    scenario = write_scenario(tmp, n_queries=1500)
    return {"csv": csv, "big": big, "pool": pool, "scenario": scenario}


# name -> (argv builder given inputs and the output path, output path name, check, latest
# kill moment in seconds after the start)
CASES: dict[str, tuple[Callable[[dict[str, Path], Path], list[str]], str,
                       Callable[[Path], None], float]] = {
    "run": (lambda i, o: ["run", str(i["scenario"]), "--out", str(o), "--force"], "run",
            _run_complete, 5.0),
    "stress-noise": (lambda i, o: ["stress-noise", "--n", "300", "--seeds", "2", "--sigmas",
                                   "0,0.5", "--policies", "uniform,clear", "--out", str(o),
                                   "--force"], "stress", _stress_complete, 5.0),
    "pool import": (lambda i, o: ["pool", "import", str(i["big"]), "-o", str(o)],
                    "pool.parquet", _pool_complete, 5.0),
    "predictor train": (lambda i, o: ["predictor", "train", "--pool", str(i["pool"]),
                                      "--out", str(o), "--epochs", "2"], "model.pt",
                        _model_complete, 7.0),
}


def _kill_when_writing(proc: subprocess.Popen[bytes], outs: Path) -> bool:
    """SIGKILL ``proc`` as soon as a temporary appears in ``outs`` (True), or let it end."""
    while proc.poll() is None:
        if _litter(outs):
            proc.kill()
            return True
        time.sleep(0.001)
    return False


@pytest.mark.parametrize("name", list(CASES))
def test_kill_at_a_random_moment(tmp_path: Path, name: str) -> None:
    """Attempt 1 kills while the command writes (a temporary exists); further attempts
    (``CLEARSIM_KILL_REPEAT``) kill at a moment drawn uniformly over an uninterrupted run."""
    build, leaf, complete, _ = CASES[name]
    inputs = _inputs(tmp_path)
    outs = tmp_path / "outs"
    outs.mkdir()
    out = outs / leaf
    rng = random.Random(f"{SEED}-{name}")
    span = 0.0
    if REPEAT > 1:  # the length of an uninterrupted run, to draw kill moments over it
        t0 = time.monotonic()
        assert _start(build(inputs, outs / "reference")).wait() == 0
        span = time.monotonic() - t0
    for attempt in range(REPEAT):
        proc = _start(build(inputs, out))
        if attempt == 0:
            moment = "while writing" if _kill_when_writing(proc, outs) else "never (it ended)"
        else:
            delay = rng.uniform(0.0, 1.1 * span)
            time.sleep(delay)
            moment = f"at {delay:.2f} s of {span:.2f} s"
            proc.kill()  # SIGKILL: no cleanup runs
        proc.wait()
        where = f"{name}, attempt {attempt + 1}/{REPEAT}, killed {moment} (seed {SEED})"
        # Absent or complete, never half-written (stress-noise may leave its empty folder).
        absent = not out.exists() or (name == "stress-noise"
                                      and not (out / "stress.parquet").exists())
        if not absent:
            try:
                complete(out)
            except (AssertionError, OSError, pl.exceptions.PolarsError) as exc:
                raise AssertionError(f"{where}: incomplete output: {exc}") from exc
        state = "absent" if absent else "complete"
        print(f"KILL {where}: output {state}, {len(_litter(outs))} temporaries left by the kill")
        assert main(build(inputs, out)) == 0, where  # the rerun succeeds ...
        complete(out)
        assert _litter(outs) == [], where  # ... and removes the dead process's temporaries


def test_sigterm_cleans_up_on_its_way_out(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, n_queries=3000)
    outs = tmp_path / "outs"
    outs.mkdir()
    proc = _start(["run", str(scenario), "--out", str(outs / "run")])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _litter(outs) and proc.poll() is None:
        time.sleep(0.02)  # wait until the run is staging its folder
    proc.send_signal(signal.SIGTERM)
    code = proc.wait()
    assert code in (0, 128 + signal.SIGTERM), code
    assert _litter(outs) == []  # no rerun needed: the staging folder went on the way out
    if code != 0:
        assert not (outs / "run").exists()


def test_sigterm_pending_when_the_command_returns_keeps_its_exit_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A TERM that is handled only as ``main`` restores the handler (the command has
    already returned, its outputs are complete) must not escape as an uncaught
    exception (exit 1): the command's own code stands."""
    import simulator.cli.main as cli

    real = signal.signal
    raised: list[bool] = []

    def signal_once(signum: int, handler: object) -> object:
        if signum == signal.SIGTERM and handler is not cli._on_sigterm and not raised:
            raised.append(True)
            real(signal.SIGTERM, signal.SIG_IGN)  # as _on_sigterm does
            raise cli.Terminated
        return real(signum, handler)  # type: ignore[arg-type]

    monkeypatch.setattr(cli.signal, "signal", signal_once)
    scenario = write_scenario(tmp_path, n_queries=50)
    assert main(["run", str(scenario), "--out", str(tmp_path / "run")]) == 0
    assert raised
    _run_complete(tmp_path / "run")


def test_only_dead_owners_temporaries_are_removed(tmp_path: Path) -> None:
    from simulator.atomic import _HELD, _HOST, remove_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        names = {
            f".out.new-{_HOST}-{dead.pid}-abc": True,          # dead owner: removed
            f".out.old-{_HOST}-{dead.pid}-abc": True,
            f".out.{_HOST}-{dead.pid}-abc.tmp": True,
            f".out.new-{_HOST}-{live.pid}-abc": False,         # live owner: kept
            f".out.new-00000000-{dead.pid}-abc": False,        # another host: kept
            f".out.new-{_HOST}-{os.getpid()}-held": False,     # this process holds it
            f".out.new-{_HOST}-{os.getpid()}-gone": True,      # this PID, not held: recycled
            f".other.new-{_HOST}-{dead.pid}-abc": False,       # another target: kept
            ".out.new-abcdef": False,                           # no owner recorded: kept
        }
        for name in names:
            (tmp_path / name).mkdir()
        _HELD.add(str(tmp_path / f".out.new-{_HOST}-{os.getpid()}-held"))
        removed = {p.name for p in remove_stale(tmp_path, "out")}
        assert removed == {n for n, gone in names.items() if gone}
        assert {p.name for p in tmp_path.iterdir()} == {n for n, g in names.items() if not g}
    finally:
        _HELD.clear()
        live.kill()
        live.wait()
