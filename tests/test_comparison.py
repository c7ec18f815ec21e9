"""Replicated comparisons: intervals, paired differences, comparison.json/csv, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import numpy as np
import polars as pl
import pytest
from scipy import stats as sps

from simulator.cli.main import main
from simulator.comparison import compare, compare_to_dir
from simulator.comparison.outputs import SCHEMA, comparison_dict, csv_text
from simulator.comparison.stats import interval, paired, ratio
from simulator.scenario.io import load_scenario

BALANCED = Path(__file__).resolve().parent.parent / "scenarios" / "balanced.yaml"
SHORT = ["duration=60"]


def test_interval_is_the_student_t_interval() -> None:
    x = [0.31, 0.29, 0.35, 0.30, 0.33]
    iv = interval(x)
    lo, hi = sps.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=sps.sem(x))
    assert iv.n == 5 and iv.mean == pytest.approx(np.mean(x))
    assert iv.ci_low == pytest.approx(lo) and iv.ci_high == pytest.approx(hi)
    one = interval([0.3, None])
    assert one.n == 1 and one.mean == 0.3 and one.ci_low is None and one.excludes_zero is None
    assert interval([]).mean is None
    d = paired([1.0, 2.0, 3.0], [0.5, 1.4, 2.6])
    assert d.mean == pytest.approx(0.5) and d.excludes_zero
    assert ratio([1.0, 2.0], [0.0, 1.0]) is None  # a zero reference: no ratio


def test_compare_in_memory_defaults_to_one_seed() -> None:
    scenario = load_scenario(BALANCED, SHORT)
    c = compare(scenario, ["uniform", "clear"])
    assert c.seeds == [0] and c.reference == "uniform"
    acc = c.row("clear", "accuracy")
    assert acc is not None and acc.stats.n == 1 and acc.stats.ci_low is None
    assert "one seed: no interval" in c.headlines["clear"]


def test_clear_beats_uniform_with_an_interval_that_excludes_zero() -> None:
    scenario = load_scenario(BALANCED, SHORT)
    c = compare(scenario, ["uniform", "clear", "oracle"], seeds=3)
    assert c.seeds == [0, 1, 2]
    row = c.row("clear", "accuracy")
    assert row is not None and row.diff is not None and row.diff.excludes_zero
    assert row.diff.ci_low is not None and row.diff.ci_low > 0
    assert c.headlines["clear"].startswith("clear: ") and "x uniform's accuracy" in \
        c.headlines["clear"]
    assert "upper bound" in c.headlines["oracle"]
    # the same numbers a single run gives on each seed (common random numbers)
    from simulator.des.runner import run

    one = run(scenario.model_copy(update={"seed": 1}), "clear").summary["accuracy"]
    assert row.values[1] == one


def test_json_validates_and_csv_agrees(tmp_path: Path) -> None:
    scenario = load_scenario(BALANCED, SHORT)
    c = compare_to_dir(scenario, tmp_path / "cmp", ["uniform", "clear"], seeds=2)
    doc = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA)
    assert doc == json.loads(json.dumps(comparison_dict(c)))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "schema_version": 99}, SCHEMA)
    rows = list(csv.DictReader((tmp_path / "cmp" / "comparison.csv").open()))
    assert (tmp_path / "cmp" / "comparison.csv").read_text() == csv_text(doc)
    results = {(r["policy"], r["metric"]): r for r in doc["results"]}
    assert {(r["policy"], r["metric"]) for r in rows} == set(results)
    for r in rows:
        res = results[(r["policy"], r["metric"])]
        stat = r["statistic"]
        src, key = ((res["diff"], stat[5:]) if stat.startswith("diff_") else
                    (res["ratio"], stat[6:]) if stat.startswith("ratio_") else
                    (res["stats"], stat))
        want = src[key]
        assert (r["value"] == "") == (want is None)
        if want is not None:
            assert float(r["value"]) == want
    # the folder layout: the scenario's seed at <policy>/, the others under seeds/
    assert (tmp_path / "cmp" / "clear" / "queries.parquet").is_file()
    q = pl.read_parquet(tmp_path / "cmp" / "seeds" / "1" / "uniform" / "queries.parquet")
    assert q.height > 0
    assert doc["policies"][1]["runs"] == {"0": "clear", "1": "seeds/1/clear"}


def test_compare_cli_reference_outputs_and_errors(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    argv = ["compare", str(BALANCED), "--set", "duration=30", "--policies", "uniform,clear",
            "--seeds", "2", "--out", str(out)]
    assert main([*argv, "--outputs", "json,csv", "--reference", "clear"]) == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == f"comparison: {out / 'comparison.json'}"
    assert "uniform: " in cap.err and "clear: the reference" in cap.err
    assert not (out / "report.html").exists()
    assert json.loads((out / "comparison.json").read_text())["reference"] == "clear"
    assert main([*argv, "--reference", "tale", "--force"]) == 2
    assert "--reference tale: not among --policies" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--outputs", "pdf"])
    assert exc.value.code == 2
    assert "subset of html,json,csv" in capsys.readouterr().err
    assert main(argv) == 2  # exists: --force or --resume
    assert "--resume" in capsys.readouterr().err


def test_run_with_seeds_prints_intervals(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    assert main(["run", str(BALANCED), "--set", "duration=30", "--seeds", "3",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "policy clear, 3 seeds (0-2)" in text
    assert "Accuracy (correct / arrivals): " in text and "[" in text
    assert "Time to outcome p95, all arrivals (s)" in text
    assert (out / "seeds" / "2" / "clear" / "summary.json").is_file()


def test_report_title_names_the_users_pool_and_scenario_appears_once(
        tmp_path: Path) -> None:
    from reports.build import build_report
    from simulator.pools.pool import save_pool
    from simulator.pools.source import resolve_pool

    pool = save_pool(resolve_pool("default"), tmp_path / "mine.parquet")
    scenario = load_scenario(BALANCED, ["duration=30", f"pool={pool}"])
    out = tmp_path / "cmp"
    compare_to_dir(scenario, out, ["uniform", "clear"], seeds=2)
    doc = json.loads((out / "comparison.json").read_text())
    assert doc["scenario"]["pool_source"] == "file" and "mine.parquet" in doc["description"]
    html = build_report([out], out / "report.html", png=False).html.read_text()
    assert "<h1>clearsim comparison on mine.parquet</h1>" in html
    assert "balanced" not in html.split("<h1>")[1].split("</h1>")[0]
    # the resolved scenario once, then only what the other policy changes
    assert html.count("budget_rate: 800") == 1
    assert "<b>clear</b>: allocator.policy: clear" in html


def test_a_rate_zero_for_every_policy_gets_no_chart_panel() -> None:
    """Balanced has no client patience: timed out is 0 everywhere, so its panel would be
    an empty facet (one dot per policy at 0); the tables leave it out too."""
    from reports.compare import interval_frame

    c = compare(load_scenario(BALANCED, SHORT), ["uniform", "clear"], seeds=2)
    doc = comparison_dict(c)
    timed = [r for r in doc["results"] if r["metric"] == "timed_out_rate"]
    assert timed and all(r["stats"]["mean"] == 0 for r in timed)  # still in the JSON
    for which in ("stats", "diff"):
        metrics = set(interval_frame(doc, which)["metric"].to_list())
        assert "timed_out_rate" not in metrics and "accuracy" in metrics
        assert "abandonment_rate" in metrics  # 0 for uniform only: kept


def test_trace_rate_is_measured_over_the_arrivals_not_the_drain(tmp_path: Path) -> None:
    # regression: the rate of a trace was arrivals / simulated seconds, and the drain
    # after the last arrival (here a slow GPU) inflated the tokens per query it quoted
    trace = tmp_path / "t.txt"
    trace.write_text("".join(f"{i * 0.5}\n" for i in range(41)))  # 41 arrivals in 20 s
    sc = load_scenario(BALANCED, ["duration=null", "n_queries=41",
                                  f"arrivals={{kind: trace, path: {trace}}}",
                                  "gpu.s0=0.5", "allocator.budget_rate=200"])
    for c in (compare(sc, ["uniform"]),
              compare_to_dir(sc, tmp_path / "c", ["uniform"], formats=("json",))):
        summary = c.scenario
        assert summary["arrival_rate"] == pytest.approx(41 / 20)
        assert summary["budget_tokens_per_query"] == pytest.approx(200 / (41 / 20))
