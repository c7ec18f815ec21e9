"""``clearsim report`` and ``clearsim compare``: input detection, errors, size and time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import polars as pl
import pytest

from reports.build import report_doc, run_figures
from reports.load import RUN_FILES, load_inputs
from simulator.cli.main import main
from tests.fake_runs import write_fake_frontier, write_fake_run, write_fake_stress

SCENARIO = """\
name: compare-test
arrivals: {kind: poisson, rate: 4.0}
allocator: {policy: clear, budget_rate: 1500, params: {kappa: 2.0}}
duration: 40
seed: 5
"""


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the CLI expecting a user error; return its single stderr line."""
    assert main(argv) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines()
           if ln.startswith("clearsim: error:")]
    assert len(err) == 1, err
    return err[0]


def test_report_rejects_a_folder_that_is_not_a_run(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    line = _error(capsys, ["report", str(tmp_path / "empty"), "--out",
                           str(tmp_path / "r.html")])
    assert "not a run directory" in line
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("missing", RUN_FILES)
def test_report_rejects_an_incomplete_run(tmp_path: Path, missing: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    run = write_fake_run(tmp_path / "run", n=50)
    (run / missing).unlink()
    line = _error(capsys, ["report", str(run), "--out", str(tmp_path / "r.html")])
    assert "incomplete run" in line and missing in line


def test_report_rejects_missing_paths_bad_files_and_columns(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no such file" in _error(capsys, ["report", str(tmp_path / "nope")])
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet", encoding="utf-8")
    assert "not a readable Parquet file" in _error(capsys, ["report", str(bad)])
    other = tmp_path / "other.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(other)
    assert "neither a frontier table" in _error(capsys, ["report", str(other)])
    run = write_fake_run(tmp_path / "run", n=50)
    pl.read_parquet(run / "queries.parquet").drop("outcome").write_parquet(
        run / "queries.parquet")
    assert "missing column(s) outcome" in _error(capsys, ["report", str(run)])
    (tmp_path / "run2").mkdir()
    (tmp_path / "run2" / "summary.json").write_text("{", encoding="utf-8")
    for name in RUN_FILES[:3]:
        (tmp_path / "run2" / name).write_bytes((run / name).read_bytes())
    (tmp_path / "run2" / "scenario.resolved.yaml").write_text("name: x\n", encoding="utf-8")
    assert "not valid JSON" in _error(capsys, ["report", str(tmp_path / "run2")])


def test_inputs_are_detected_by_their_files(tmp_path: Path) -> None:
    write_fake_run(tmp_path / "cmp" / "uniform", "uniform", n=100)
    write_fake_run(tmp_path / "cmp" / "clear", "clear", n=100)
    write_fake_run(tmp_path / "other" / "clear", "clear", n=100)
    frontier = write_fake_frontier(tmp_path / "f.parquet")
    stress = write_fake_stress(tmp_path / "stress")
    inputs = load_inputs([tmp_path / "cmp", tmp_path / "other" / "clear", frontier,
                          stress / "stress.parquet"])
    assert [r.label for r in inputs.runs] == ["uniform", "clear (cmp)", "clear (other)"]
    assert len(inputs.frontiers) == 1 and len(inputs.stresses) == 1


def test_run_where_nothing_completes_has_no_empty_latency_chart(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", "clear", n=200)
    queries = pl.read_parquet(run / "queries.parquet").with_columns(
        outcome=pl.lit("abandoned"), latency=pl.lit(None, pl.Float64), cap=pl.lit(0),
        tokens_generated=pl.lit(0))
    queries.write_parquet(run / "queries.parquet")
    summary = json.loads((run / "summary.json").read_text())
    for key in ("latency_p50", "latency_p95", "latency_p99", "goodput_per_1k_tokens"):
        del summary[key]
    (run / "summary.json").write_text(json.dumps(summary))
    inputs = load_inputs([run])
    figures = run_figures(inputs.runs)
    assert [f.name for f in figures] == ["over-time", "allocation", "by-tier", "by-benchmark"]
    over = figures[0].chart.to_dict()
    assert all(p["encoding"]["y"]["field"] != "latency" for p in over["vconcat"])
    doc = report_doc(inputs, figures)
    assert "<td>–</td>" in doc.blocks[0][1]  # undefined latency shows a dash


def test_report_of_a_1e5_arrival_run_is_small_and_fast(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    write_fake_run(tmp_path / "runs" / "clear", "clear", n=100_000, horizon=25_000.0)
    write_fake_run(tmp_path / "runs" / "uniform", "uniform", n=100_000, horizon=25_000.0)
    out = tmp_path / "report.html"
    start = time.perf_counter()
    assert main(["report", str(tmp_path / "runs"), "--out", str(out)]) == 0
    seconds = time.perf_counter() - start
    assert capsys.readouterr().out.strip() == str(out)
    assert seconds < 30, f"report took {seconds:.1f} s"
    assert out.stat().st_size < 5_000_000
    pngs = sorted(p.name for p in tmp_path.glob("report-*.png"))
    assert pngs == ["report-allocation.png", "report-by-benchmark.png",
                    "report-by-tier.png", "report-latency-cdf.png", "report-over-time.png"]
    text = out.read_text(encoding="utf-8")
    # raw rows are never embedded: no query row's exact arrival time appears
    first = pl.read_parquet(tmp_path / "runs" / "clear" / "queries.parquet")["arrival_time"]
    assert not any(repr(float(v)) in text for v in first[1000:1010])
    assert "clearsim 0.1.0" in text and "name: fake" in text


def test_compare_runs_every_policy_with_common_random_numbers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "cmp"
    assert main(["compare", str(scenario), "--policies", "uniform,clear,oracle",
                 "--out", str(out), "--no-png"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"report: {out / 'report.html'}"
    assert "[3/3] oracle" in captured.err
    frames = {p: pl.read_parquet(out / p / "queries.parquet") for p in
              ("uniform", "clear", "oracle")}
    for p, frame in frames.items():
        assert json.loads((out / p / "summary.json").read_text())["policy"] == p
        # same arrivals, same queries, same predictor noise for every policy
        assert frame["arrival_time"].equals(frames["uniform"]["arrival_time"])
        assert frame["id"].equals(frames["uniform"]["id"])
        assert frame["predicted_threshold"].equals(frames["uniform"]["predicted_threshold"])
    # the scenario's own params go to its own policy only
    assert "kappa: 2.0" in (out / "clear" / "scenario.resolved.yaml").read_text()
    assert "kappa" not in (out / "uniform" / "scenario.resolved.yaml").read_text()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert all(f">{p}<" in html for p in frames)
    line = _error(capsys, ["compare", str(scenario), "--policies", "uniform",
                           "--out", str(out)])
    assert "--force" in line
    assert main(["compare", str(scenario), "--policies", "uniform", "--out", str(out),
                 "--force", "--no-png"]) == 0


def test_compare_rejects_unknown_policies_before_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    line = _error(capsys, ["compare", str(scenario), "--policies", "uniform,nope",
                           "--out", str(tmp_path / "cmp")])
    assert "unknown policy 'nope'" in line
    assert not (tmp_path / "cmp").exists()
    line = _error(capsys, ["compare", str(scenario), "--policies", "uniform",
                           "--param", "clear.kappa=2", "--out", str(tmp_path / "cmp")])
    assert "not among --policies" in line
