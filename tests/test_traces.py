"""Trace arrivals (issue 12): formats timestamps/azure/mooncake, the window (start,
limit, time_scale), prompt lengths reaching prefill, and bad traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from simulator.cli.main import main
from simulator.des.runner import run
from simulator.errors import UserError
from simulator.scenario.io import parse_scenario
from simulator.traffic.traces import load_trace
from tests.conftest import SHARED

STAMPS = ["2023-11-16 18:17:03.9799600", "2023-11-16 18:17:04.0319600",
          "2023-11-16 18:17:05.5000000", "2023-11-16 18:17:09.2500000",
          "2023-11-16 18:17:12.0000000"]
CONTEXT = [4808, 3180, 100, 2500, 70]


def _azure(path: Path, stamps: list[str] = STAMPS, context: list[Any] = CONTEXT) -> Path:
    pl.DataFrame({"TIMESTAMP": stamps, "ContextTokens": pl.Series(context, strict=False),
                  "GeneratedTokens": [10] * len(stamps)}).write_csv(path)
    return path


def _p(trace: Any) -> list[float]:
    assert trace.prompts is not None
    return list(trace.prompts.tolist())


def _scenario(arrivals: dict[str, Any], **extra: Any) -> Any:
    return parse_scenario({"pool": "default", "stream": "balanced", "arrivals": arrivals,
                           "allocator": {"policy": "clear", "budget_rate": 2000.0},
                           "duration": 100.0, **extra})


def test_azure_window_and_prompts(tmp_path: Path) -> None:
    path = _azure(tmp_path / "az.csv")
    tr = load_trace(str(path), "azure")
    assert tr.times == pytest.approx([0.0, 0.052, 1.52004, 5.27004, 8.02004], abs=1e-9)
    assert _p(tr) == CONTEXT
    win = load_trace(str(path), "azure", start=1.0, limit=2, time_scale=0.5)
    assert win.times == pytest.approx([0.26002, 2.13502], abs=1e-9) and _p(win) == [100, 2500]


def test_trace_prompts_reach_queries_and_prefill(tmp_path: Path) -> None:
    path = _azure(tmp_path / "az.csv")
    res = run(_scenario({"kind": "trace", "path": str(path), "format": "azure"},
                        gpu={"p0": 0.0, "p1": 0.001}))
    q = res.queries
    assert q.height == 5 and q["prompt_tokens"].to_list() == CONTEXT
    assert res.summary["mean_prompt_tokens"] == pytest.approx(np.mean(CONTEXT))
    done = q.filter(pl.col("outcome").is_in(["correct", "wrong"]))
    assert done.height > 0
    # prefill = p1 * prompt tokens, so generation takes at least that long
    assert (done["generation_time"] >= 0.001 * done["prompt_tokens"] - 1e-9).all()


def test_mooncake_and_timestamps_csv(tmp_path: Path) -> None:
    moon = tmp_path / "m.jsonl"
    moon.write_text("".join(json.dumps({"timestamp": t, "input_length": n, "output_length": 5,
                                        "hash_ids": [0]}) + "\n"
                            for t, n in [(0, 600), (0, 700), (1500, 800), (4000, 900)]))
    tr = load_trace(str(moon), "mooncake", start=1.0)
    assert tr.times.tolist() == [0.5, 3.0] and _p(tr) == [800, 900]
    res = run(_scenario({"kind": "trace", "path": str(moon), "format": "mooncake"}))
    assert res.queries["prompt_tokens"].to_list() == [600, 700, 800, 900]
    csv = tmp_path / "t.csv"
    pl.DataFrame({"time": [0.5, 1.0], "prompt_tokens": [10, 20]}).write_csv(csv)
    assert _p(load_trace(str(csv))) == [10, 20]


def test_unsorted_trace_is_sorted_with_a_note(tmp_path: Path) -> None:
    path = _azure(tmp_path / "az.csv", STAMPS[::-1], CONTEXT[::-1])
    tr = load_trace(str(path), "azure")
    assert _p(tr) == CONTEXT and "4 rows were out of time order" in tr.notes[0]
    res = run(_scenario({"kind": "trace", "path": str(path), "format": "azure"}))
    assert "replayed sorted" in res.summary["notes"][0]


@pytest.mark.parametrize(("stamps", "context", "extra", "words"), [
    (["2023-11-16 18:17:03.9", "yesterday"], [1, 2], {}, "column 'TIMESTAMP', row 2"),
    (STAMPS[:2], [1, float("nan")], {}, "column 'ContextTokens', row 2"),
    (STAMPS[:2], [1, -3], {}, "column 'ContextTokens', row 2"),
    (STAMPS, CONTEXT, {"start": 500.0}, "no rows in the window"),
    (STAMPS, CONTEXT, {"start": 1.0, "time_scale": 200.0}, "no rows in the window"),
])
def test_bad_traces_one_line_exit_2(tmp_path: Path, stamps: list[str], context: list[Any],
                                    extra: dict[str, Any], words: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    path = _azure(tmp_path / "bad.csv", stamps, context)
    scen = tmp_path / "s.yaml"
    scen.write_text(yaml.safe_dump({
        "pool": "default", "arrivals": {"kind": "trace", "path": str(path), "format": "azure",
                                        **extra},
        "allocator": {"budget_rate": 100.0}, "duration": 10.0}))
    out = tmp_path / "out"
    assert main(["run", str(scen), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and words in err
    assert not out.exists()


def test_bad_timestamps_and_fields() -> None:
    with pytest.raises(UserError, match="time_scale"):
        _scenario({"kind": "trace", "path": "x", "time_scale": float("inf")})
    with pytest.raises(UserError, match="limit"):
        _scenario({"kind": "trace", "path": "x", "limit": 0})
    with pytest.raises(UserError, match="format"):
        _scenario({"kind": "trace", "path": "x", "format": "splitwise"})


def test_negative_and_nonfinite_times(tmp_path: Path) -> None:
    moon = tmp_path / "m.jsonl"
    moon.write_text('{"timestamp": 0, "input_length": 1}\n{"timestamp": -5, "input_length": 1}\n')
    with pytest.raises(UserError, match=r"m.jsonl: line 2: -5 is not a timestamp >= 0 \(ms\)"):
        load_trace(str(moon), "mooncake")
    txt = tmp_path / "t.txt"
    txt.write_text("0\ninf\n")
    with pytest.raises(UserError, match="line 2: 'inf' is not a timestamp"):
        load_trace(str(txt))


def test_real_azure_code_trace_window() -> None:
    path = SHARED / "data" / "traces" / "azure-llm-2023" / "AzureLLMInferenceTrace_code.csv"
    if not path.is_file():
        pytest.skip(f"Azure code trace not found at {path} (../shared is absent)")
    tr = load_trace(str(path), "azure", start=600.0)
    frame = pl.read_csv(path, infer_schema_length=0)
    assert tr.times.size + int((tr.times < 0).sum()) <= frame.height
    res = run(_scenario({"kind": "trace", "path": str(path), "format": "azure",
                         "start": 600.0}, duration=120.0))
    inside = tr.times < 120.0
    assert res.summary["arrivals"] == int(inside.sum())
    assert res.summary["mean_prompt_tokens"] == pytest.approx(float(np.asarray(_p(tr))[inside].mean()))


REPO = Path(__file__).resolve().parents[1]


def test_azure_code_trace_scenario_replays_its_window() -> None:
    from simulator.scenario.io import load_scenario
    from simulator.traffic.arrivals import TraceSpec

    sc = load_scenario(REPO / "scenarios" / "azure-code-trace.yaml", ["duration=120"])
    assert isinstance(sc.arrivals, TraceSpec)
    tr = load_trace(sc.arrivals.resolved_path(), "azure", start=sc.arrivals.start)
    inside = tr.times < 120.0
    res = run(sc)
    assert res.summary["arrivals"] == int(inside.sum()) > 50
    assert res.summary["mean_prompt_tokens"] == pytest.approx(
        float(np.asarray(_p(tr))[inside].mean()), rel=1e-12)
    if sc.arrivals.resolved_path() != sc.arrivals.path:
        assert "replayed the fallback" in res.summary["notes"][0]


def test_generated_trace_is_the_bundled_file_and_matches_the_figures() -> None:
    from simulator.traffic.synthetic_trace import FIGURES, figures_of, generate

    frame = generate(0)
    bundled = REPO / "scenarios" / "traces" / "azure-code-synthetic.csv"
    assert frame.write_csv() == bundled.read_text()
    tr = load_trace(str(bundled), "azure")
    got = figures_of(tr.times, np.asarray(_p(tr)), frame["GeneratedTokens"].to_numpy())
    assert abs(got.rows / FIGURES.rows - 1) < 0.05
    assert abs(got.prompt_mean / FIGURES.prompt_mean - 1) < 0.05
    assert abs(got.count_10s_var_to_mean / FIGURES.count_10s_var_to_mean - 1) < 0.3
    median = dict(got.prompt_quantiles)[0.5]
    assert abs(median / dict(FIGURES.prompt_quantiles)[0.5] - 1) < 0.05
