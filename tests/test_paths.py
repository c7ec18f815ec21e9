"""Output paths: a file on the way or an unwritable folder is one line, exit 2, nothing
written; a scenario's output.dir and a sweep's store are relative to their file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator.cli.main import main
from simulator.scenario.io import load_scenario
from simulator.sweep import load_sweep
from tests.sweep_helpers import write_scenario, write_sweep


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("command", [
    ["run", "SCENARIO", "--out"], ["compare", "SCENARIO", "--policies", "uniform", "--out"],
    ["stress-noise", "--seeds", "1", "--sigmas", "0", "--n", "20", "--out"],
    ["frontier", "--n", "20", "--out"], ["predictor", "train", "--out"],
])
def test_out_under_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          command: list[str]) -> None:
    scenario = write_scenario(tmp_path)
    (tmp_path / "afile").write_text("x")
    before = _listing(tmp_path)
    argv = [str(scenario) if a == "SCENARIO" else a for a in command]
    _fails(capsys, [*argv, str(tmp_path / "afile" / "sub")], "afile", "not a folder")
    assert _listing(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_out_in_an_unwritable_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        _fails(capsys, ["run", str(scenario), "--out", str(locked / "o")], "not writable")
        _fails(capsys, ["frontier", "--n", "20", "--out", str(locked / "f.parquet")],
               "not writable")
    finally:
        locked.chmod(0o700)
    assert _listing(locked) == []


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_out_where_no_folder_can_be_made(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path)  # /proc refuses new folders even for root
    _fails(capsys, ["run", str(scenario), "--out", "/proc/clearsim-x/o"], "cannot create")
    _fails(capsys, ["frontier", "--n", "20", "--out", "/proc/clearsim-f.parquet"],
           "cannot write in /proc")


def test_sweep_status_on_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    _fails(capsys, ["sweep", "status", str(tmp_path / "afile")], "is a file, not a sweep store")
    _fails(capsys, ["sweep", "status", str(tmp_path / "none")], "not a sweep store")


def test_output_dir_and_store_are_relative_to_their_file(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    scenario = write_scenario(tmp_path / "conf", output={"dir": "../runs/tiny"})
    monkeypatch.chdir("/")  # the working directory does not matter
    sc = load_scenario(scenario)
    assert Path(str(sc.output.dir)).resolve() == (tmp_path / "runs" / "tiny").resolve()
    # An absolute dir stays, and --set paths are from the working directory.
    assert load_scenario(scenario, ["output.dir=/abs/o"]).output.dir == "/abs/o"
    assert load_scenario(scenario, ["output.dir=rel"]).output.dir == "rel"
    plan = load_sweep(write_sweep(tmp_path / "conf", store="../stores/s"))
    assert plan.store.resolve() == (tmp_path / "stores" / "s").resolve()
    assert main(["run", str(scenario)]) == 0
    assert (tmp_path / "runs" / "tiny" / "summary.json").is_file()
