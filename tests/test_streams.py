"""Several arrival streams as SimPy processes (issue 12): by_stream sums to the totals,
same seed same bytes, common random numbers per stream name, validation, the report."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from simulator.cli.main import main
from simulator.des.runner import run, run_to_dir
from simulator.errors import UserError
from simulator.scenario.io import dump_scenario, load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[1]
TWO = REPO / "scenarios" / "two-tenants.yaml"
SAME = ("arrival_time", "pool_index", "rollout", "predicted_threshold")


def _streams(*names: str, rate: float = 2.0, **extra: Any) -> Any:
    mixes = {"a": "mostly-easy", "b": "mostly-hard", "c": "u-shaped"}
    return parse_scenario({
        "pool": "default", "allocator": {"policy": "clear", "budget_rate": 600.0},
        "streams": [{"name": n, "mix": mixes.get(n, "balanced"), "arrivals": {"kind": "poisson",
                                                               "rate": rate}}
                    for n in names],
        **({"duration": 120.0} if "n_queries" not in extra else {}), **extra})


def test_two_tenants_by_stream_sums_to_totals(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["run", str(TWO), "--out", str(out), "--set", "duration=120"]) == 0
    assert "tenant-a" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    by = s["by_stream"]
    assert list(by) == ["tenant-a", "tenant-b"]
    for key in ("arrivals", "correct"):
        assert sum(v[key] for v in by.values()) == s[key]
    tokens = sum(v["tokens_per_query"] * v["arrivals"] for v in by.values())
    assert tokens == pytest.approx(s["tokens_per_query"] * s["arrivals"])
    q = pl.read_parquet(out / "queries.parquet")
    assert q["query"].to_list() == list(range(q.height))
    assert q["arrival_time"].is_sorted()
    assert q.group_by("stream").len().sort("stream")["len"].to_list() == \
        [by["tenant-a"]["arrivals"], by["tenant-b"]["arrivals"]]
    # tenant-a (mostly easy) is served far better than tenant-b (mostly hard)
    assert by["tenant-a"]["accuracy"] > 2 * by["tenant-b"]["accuracy"]
    # the resolved scenario round-trips
    again = parse_scenario(__import__("yaml").safe_load(
        (out / "scenario.resolved.yaml").read_text()))
    assert again == load_scenario(TWO, ["duration=120"])


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    sc = load_scenario(TWO, ["duration=60"])
    run_to_dir(sc, tmp_path / "a")
    run_to_dir(sc, tmp_path / "b")
    for name in ("queries.parquet", "ticks.parquet", "gpu.parquet", "scenario.resolved.yaml"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False)


def test_adding_a_stream_leaves_the_others_unchanged() -> None:
    two = run(_streams("a", "b")).queries
    three = run(_streams("c", "a", "b")).queries  # added first: the order does not matter
    for name in ("a", "b"):
        x = two.filter(pl.col("stream") == name).select(SAME)
        y = three.filter(pl.col("stream") == name).select(SAME)
        assert x.height > 100 and x.equals(y)
    assert three.filter(pl.col("stream") == "c").height > 100


def test_n_queries_across_blocks_and_streams() -> None:
    # more than one 65,536-query block, cut at n_queries across four streams
    sc = parse_scenario({
        "pool": "default", "allocator": {"budget_rate": "unlimited"},
        "gpu": {"max_seqs": None},
        "streams": [{"name": f"s{i}", "arrivals": {"kind": "poisson", "rate": 500.0}}
                    for i in range(4)],
        "n_queries": 70_000})
    res = run(sc)
    q = res.queries
    assert q.height == 70_000 and q["query"].to_list() == list(range(70_000))
    assert q["arrival_time"].is_sorted()
    assert set(q["outcome"].unique().to_list()) <= {"correct", "wrong"}
    assert sum(v["arrivals"] for v in res.summary["by_stream"].values()) == 70_000


def test_trace_stream_prompts_mix_with_pool_prompts(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    pl.DataFrame({"time": [0.5, 1.5, 2.5], "prompt_tokens": [1000, 2000, 3000]}).write_csv(trace)
    sc = parse_scenario({
        "pool": "default", "allocator": {"budget_rate": 500.0}, "duration": 30.0,
        "streams": [{"name": "replay", "arrivals": {"kind": "trace", "path": str(trace)}},
                    {"name": "live", "arrivals": {"kind": "poisson", "rate": 1.0}}]})
    q = run(sc).queries
    replay = q.filter(pl.col("stream") == "replay")
    assert replay["prompt_tokens"].to_list() == [1000, 2000, 3000]
    live = q.filter(pl.col("stream") == "live")["prompt_tokens"].to_numpy()
    assert live.size > 5 and live.max() < 1000  # the pool's prompt lengths


@pytest.mark.parametrize(("change", "words"), [
    ({"arrivals": {"kind": "poisson", "rate": 1.0}}, "'streams' replaces"),
    ({"stream": "balanced"}, "'streams' replaces"),
    ({"streams": [{"name": "a", "arrivals": {"kind": "poisson", "rate": 1.0}}] * 2},
     "'a' appears twice"),
    ({"streams": [{"name": "a b", "arrivals": {"kind": "poisson", "rate": 1.0}}]},
     "streams[0].name"),
    ({"streams": [{"name": "a", "arrivals": {"kind": "poisson", "rate": 1.0},
                   "patience": 3}]}, "streams[0].patience: unknown key"),
    ({"streams": []}, "streams"),
])
def test_bad_streams(change: dict[str, Any], words: str) -> None:
    base = {"pool": "default", "allocator": {"budget_rate": 1.0}, "duration": 1.0,
            "streams": [{"name": "a", "arrivals": {"kind": "poisson", "rate": 1.0}}]}
    with pytest.raises(UserError) as err:
        parse_scenario({**base, **change})
    assert words in str(err.value)
    with pytest.raises(UserError, match="set 'arrivals'"):
        parse_scenario({"allocator": {"budget_rate": 1.0}, "duration": 1.0})


def test_dump_drops_the_unused_form() -> None:
    assert "streams" not in dump_scenario(load_scenario(REPO / "scenarios" / "balanced.yaml"))
    text = dump_scenario(load_scenario(TWO))
    assert "streams:" in text and "\narrivals:" not in text and "\nstream:" not in text


def test_report_shows_streams(tmp_path: Path) -> None:
    from reports.build import report_doc
    from reports.load import load_inputs

    out = tmp_path / "run"
    run_to_dir(load_scenario(TWO, ["duration=60"]), out)
    doc = report_doc(load_inputs([out]), [])
    page = "".join(body for _, body in doc.blocks)
    assert "Summary per stream" in page and "tenant-a" in page and "tenant-b" in page
    single = tmp_path / "one"
    run_to_dir(load_scenario(REPO / "scenarios" / "balanced.yaml", ["duration=30"]), single)
    assert "Summary per stream" not in "".join(b for _, b in
                                               report_doc(load_inputs([single]), []).blocks)


def test_one_event_per_block_and_no_clock_run_on() -> None:
    sc = parse_scenario({
        "pool": "default", "allocator": {"budget_rate": 100.0},
        "streams": [{"name": f"s{i}", "arrivals": {"kind": "poisson", "rate": 50.0}}
                    for i in range(2)], "n_queries": 2000})
    trace: list[tuple[str, float]] = []
    res = run(sc, trace=trace)
    blocks = [(name, t) for name, t in trace if name.startswith("stream ")]
    assert blocks == [("stream s0 block", 0.0), ("stream s1 block", 0.0)]
    # the streams' wakes at the end of their 65,536-arrival blocks (about 1,300 s) are
    # dropped once n_queries is reached, so the run ends with its last query
    assert res.summary["arrivals"] == 2000
    last = float(res.queries["end_time"].to_numpy().max())
    assert res.summary["sim_seconds"] == last < 100
