"""User-facing CLI errors found by a fresh-user pass: one line, naming the input, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from simulator.cli.main import main
from tests.sweep_helpers import write_scenario, write_sweep


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], *needles: str) -> str:
    """Run ``argv``; assert exit 2 and a single stderr line containing every needle."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse type errors exit from the parser
        code = int(exc.code or 0)
    assert code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _csv(tmp_path: Path, benchmark: str = "toy") -> Path:
    path = tmp_path / "r.csv"
    pl.DataFrame({"id": ["a", "a", "b"], "benchmark": [benchmark] * 3,
                  "length": [100, 300, 50], "correct": [1, 0, 1]}).write_csv(path)
    return path


@pytest.mark.parametrize("argv", [
    ["frontier", "--seed", "-1"],
    ["pool", "inspect", "--seed", "-1"],
    ["predictor", "train", "--out", "m.pt", "--seed", "-1"],
])
def test_negative_seed_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                        argv: list[str]) -> None:
    _one_line_error(capsys, argv, "--seed", "expected a seed >= 0, got -1")


def test_output_file_that_is_a_folder(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = str(_csv(tmp_path))
    folder = str(tmp_path)
    _one_line_error(capsys, ["pool", "import", src, "-o", folder], "-o", "is a folder",
                    "pool.parquet")
    _one_line_error(capsys, ["frontier", "--out", folder], "--out", "is a folder")
    _one_line_error(capsys, ["report", "missing-run", "--out", folder], "--out",
                    "is a folder", "report.html")
    _one_line_error(capsys, ["predictor", "train", "--out", folder], "--out", "is a folder")
    _one_line_error(capsys, ["pool", "import", src, "-o", f"{src}/pool.parquet"],
                    "is a file, not a folder")


def test_stress_out_that_is_a_file(tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    src = str(_csv(tmp_path))
    _one_line_error(capsys, ["stress-noise", "--seeds", "1", "--sigmas", "0.3", "--out", src],
                    "--out", "exists and is not a folder")


@pytest.mark.parametrize("command", [["frontier"], ["stress-noise", "--out", "unused"]])
def test_param_checks(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # A --param for a policy that is not run was silently ignored.
    _one_line_error(capsys, [*command, "--param", "claer.kappa=2"], "--param for claer",
                    "not among --policies")
    # A bad value raised ValueError with a traceback.
    _one_line_error(capsys, [*command, "--param", "clear.kappa=-2"],
                    "--param clear.kappa=-2", "kappa must be > 0")


def test_stress_accepts_tier_weights(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stress-noise", "--stream", "1,1,1,1", "--n", "40", "--seeds", "1",
                 "--sigmas", "0.3", "--policies", "uniform", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "stream=1,1,1,1" in out
    assert "±n/a" in out and "nan" not in out  # one seed: no interval
    _one_line_error(capsys, ["stress-noise", "--stream", "1,2", "--out", str(tmp_path)],
                    "--stream '1,2'", "four non-negative numbers")


def test_compare_with_no_arrivals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path, duration=0.001, n_queries=None)
    assert main(["compare", str(scenario), "--policies", "uniform,clear", "--no-png",
                 "--out", str(tmp_path / "cmp")]) == 0
    assert "accuracy -, abandoned -" in capsys.readouterr().err


@pytest.mark.parametrize("argv,needles", [
    (["frontier", "--predictor", "learned"],
     ("predictor 'learned'", "needs parameter 'model'", "--predictor-param model=")),
    (["frontier", "--predictor-param", "sigmaa=0.2"],
     ("unknown parameter 'sigmaa'", "valid: sigma")),
    (["frontier", "--predictor-param", "sigma=abc"],
     ("predictor.sigma must be a number", "'abc'")),
])
def test_predictor_parameter_errors(capsys: pytest.CaptureFixture[str], argv: list[str],
                                    needles: tuple[str, ...]) -> None:
    _one_line_error(capsys, argv, *needles)


def test_evaluate_names_the_model_file(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    pool = tmp_path / "toy.parquet"
    assert main(["pool", "import", str(_csv(tmp_path)), "-o", str(pool)]) == 0
    model = tmp_path / "toy.pt"
    assert main(["predictor", "train", "--pool", str(pool), "--out", str(model),
                 "--epochs", "1", "--test-frac", "0.5"]) == 0
    capsys.readouterr()
    line = _one_line_error(capsys, ["predictor", "evaluate", "--model", str(model)],
                           "trained on benchmarks toy")
    assert line.startswith(f"clearsim: error: {model}:")


def test_pool_import_duplicate_ids_suggest_a_fix(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two.csv"
    pl.DataFrame({"id": ["5", "5"], "benchmark": ["aime2025", "minerva_math"],
                  "length": [10, 20], "correct": [1, 0]}).write_csv(path)
    # issue 12: ids that collide across benchmarks are prefixed 'benchmark/id' with a
    # note (they used to be refused with this suggestion)
    out = tmp_path / "p.parquet"
    assert main(["pool", "import", str(path), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ids appear under several benchmarks (e.g. '5': aime2025, minerva_math)" in err
    from simulator.pools.pool import load_pool

    assert list(load_pool(out).ids) == ["aime2025/5", "minerva_math/5"]


def test_sweep_typo_in_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_error(capsys, ["sweep", "stauts", str(tmp_path)],
                    "'stauts' is not an action (run, status)")


def test_sweep_error_in_base_is_blamed_on_the_base(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write_sweep(tmp_path, base={"stream": "balancd", "n": 50, "mean_budget": 256,
                                        "policy": "clear"},
                        axes={"policy": ["uniform", "clear"]})
    _one_line_error(capsys, ["sweep", str(sweep)], ": base: stream:", "'balancd'")


def test_sweep_prints_a_clean_store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sweeps").mkdir()
    sweep = write_sweep(tmp_path / "sweeps", store="../out/store", axes={"n": [20]})
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", str(sweep.relative_to(tmp_path)), "--executor", "serial",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("out/store: 1 cells"), out
    assert main(["sweep", "status", "out/store", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["done"] == 1


def test_unrecognized_arguments_name_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "extra"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("clearsim schema: error: unrecognized arguments: extra "
                   "(see 'clearsim schema --help')")
