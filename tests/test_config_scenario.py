"""Scenario files: validation, overrides, schema, and one-line errors with exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from simulator.cli.main import main
from simulator.errors import UserError
from simulator.scenario.io import apply_overrides, load_scenario, parse_scenario
from simulator.traffic.arrivals import TraceSpec

GOOD = {
    "arrivals": {"kind": "poisson", "rate": 2.0},
    "allocator": {"policy": "clear", "budget_rate": 500},
    "duration": 5,
}


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_defaults_and_shorthands() -> None:
    sc = parse_scenario({**GOOD, "pool": "default", "stream": "u-shaped"})
    assert sc.pool.source == "default" and sc.stream.mix == "u-shaped"
    assert sc.gpu.max_seqs == 256 and sc.predictor.kind == "noisy-oracle"
    assert sc.allocator.period == 1.0 and not sc.allocator.unlimited


def test_overrides_parse_yaml_values() -> None:
    sc = parse_scenario(GOOD, ["allocator.budget_rate=unlimited", "gpu.max_seqs=null",
                               "arrivals={kind: gamma, rate: 3, cv: 2}", "seed=7"])
    assert sc.allocator.unlimited and sc.gpu.max_seqs is None and sc.seed == 7
    assert sc.arrivals is not None and sc.arrivals.kind == "gamma"
    assert apply_overrides({"pool": "default"}, ["pool.seed=3"]) == \
        {"pool": {"source": "default", "seed": 3}}
    with pytest.raises(UserError, match="KEY.PATH=VALUE"):
        apply_overrides({}, ["novalue"])


def test_relative_paths_follow_the_scenario_file(tmp_path: Path) -> None:
    p = _write(tmp_path, {**GOOD, "pool": "pools/x.parquet",
                          "arrivals": {"kind": "trace", "path": "t.txt"}})
    sc = load_scenario(p)
    assert sc.pool.source == str(tmp_path / "pools" / "x.parquet")
    assert isinstance(sc.arrivals, TraceSpec)  # typing: arrivals is optional (streams)
    assert sc.arrivals.kind == "trace" and sc.arrivals.path == str(tmp_path / "t.txt")


@pytest.mark.parametrize(("change", "message"), [
    ({"allocator": {"policy": "clear"}},
     "allocator.budget_rate: missing required field"),
    ({"arrivals": {"kind": "poisson", "rate": "fast"}},
     "arrivals.rate: Input should be a valid number"),
    ({"arrivals": {"kind": "poisson", "rate": -1}},
     "arrivals.rate: Input should be greater than 0 (got -1)"),
    ({"allocator": {"policy": "x", "budget_rate": 5}},
     "allocator.policy: unknown policy 'x'; valid: clear"),
    ({"arrivals": {"kind": "weekly", "rate": 1}},
     "arrivals.kind: unknown kind 'weekly'; valid: 'poisson', 'gamma', 'piecewise', 'trace'"),
    ({"gpu": {"max_seq": 3}},
     "gpu.max_seq: unknown key; allowed keys here: max_seqs, s0"),
    ({"allocator": {"policy": "clear", "budget_rte": 5}},  # the typo, not "missing"
     "allocator.budget_rte: unknown key; allowed keys here: policy, period, budget_rate"),
    ({"patience": {"kind": "lognormal", "medain": 5, "sigma": 0.5}},
     "patience.medain: unknown key; allowed keys here: kind, median, sigma"),
    ({"stream": {"mix": "mostly-medium"}},
     "stream.mix: unknown mix 'mostly-medium'; valid: balanced, mostly-easy"),
    ({"n_queries": 10},
     "scenario: set exactly one of 'duration' (s) and 'n_queries'"),
    # regression: scalar-union members leaked into the path (allocator.budget_rate.float)
    ({"allocator": {"policy": "clear", "budget_rate": None}},
     "allocator.budget_rate: Input should be a valid number; or Input should be "
     "'unlimited' (got None)"),
    ({"stream": {"mix": [1, "a", 1, 1]}},
     "stream.mix[1]: Input should be a valid number"),
])
def test_bad_scenarios_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       change: dict[str, object], message: str) -> None:
    p = _write(tmp_path, {**GOOD, **change})
    code = main(["run", str(p), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("clearsim: error: ")
    assert message in err
    assert not (tmp_path / "out").exists()


def test_missing_pool_file_names_the_path(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, {**GOOD, "pool": "nope.parquet"})
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("clearsim: error: pool.source: ") and "not found" in err
    assert err.count("\n") == 1 and not (tmp_path / "out").exists()


def test_missing_file_bad_yaml_bad_params(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "none.yaml")]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("arrivals: [unclosed\n")
    assert main(["run", str(bad)]) == 2
    p = _write(tmp_path, {**GOOD, "allocator": {"policy": "clear", "budget_rate": 5,
                                                "params": {"alpha": -1}}})
    assert main(["run", str(p), "--out", str(tmp_path / "o")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert "scenario file not found" in lines[0]
    assert "not valid YAML at line" in lines[1]
    assert lines[2].startswith("clearsim: error: allocator.params: clear: alpha")


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "clearsim scenario"
    # issue 12: 'arrivals' (one stream) or 'streams' (several) is required, not both
    assert set(schema["required"]) == {"allocator"}
    assert [o["required"] for o in schema["oneOf"]] == [["arrivals"], ["streams"]]
    assert schema["$defs"]["GpuSpec"]["additionalProperties"] is False


def test_overrides_index_lists_and_expand_shorthands() -> None:
    # regression: --set could not reach into lists (arrivals.schedule[1].rate) and
    # failed through the list form of 'stream'
    raw: dict[str, Any] = {"arrivals": {"kind": "piecewise",
                                       "schedule": [{"time": 0, "rate": 1},
                                                    {"time": 5, "rate": 2}]},
                           "stream": [1, 1, 1, 1]}
    out = apply_overrides(raw, ["arrivals.schedule[1].rate=3", "arrivals.schedule.0.rate=4",
                                "stream.schedule=[{time: 2, mix: u-shaped}]"])
    assert out["arrivals"]["schedule"] == [{"time": 0, "rate": 4}, {"time": 5, "rate": 3}]
    assert out["stream"] == {"mix": [1, 1, 1, 1], "schedule": [{"time": 2, "mix": "u-shaped"}]}
    assert raw["arrivals"]["schedule"][1]["rate"] == 2  # the input is not modified
    with pytest.raises(UserError, match=r"index 2 is out of range for 'arrivals.schedule'"):
        apply_overrides(raw, ["arrivals.schedule[2].rate=1"])
    with pytest.raises(UserError, match="'allocator.policy' is not a list or section"):
        apply_overrides({"allocator": {"policy": "clear"}}, ["allocator.policy.x=1"])


def test_override_paths_are_relative_to_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # regression: a relative path given with --set was taken from the scenario's folder
    sub = tmp_path / "scenarios"
    sub.mkdir()
    p = sub / "s.yaml"
    p.write_text(yaml.safe_dump({**GOOD, "arrivals": {"kind": "trace", "path": "t.txt"}}))
    monkeypatch.chdir(tmp_path)
    sc = load_scenario(p, ["pool=mine.parquet"])
    assert sc.pool.source == "mine.parquet"
    assert isinstance(sc.arrivals, TraceSpec)  # typing: arrivals is optional (streams)
    assert sc.arrivals.kind == "trace" and sc.arrivals.path == str(sub / "t.txt")
    sc = load_scenario(p, ["arrivals.path=here.txt"])
    assert isinstance(sc.arrivals, TraceSpec)
    assert sc.arrivals.kind == "trace" and sc.arrivals.path == "here.txt"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("t.txt", "0.5\n# note\nabc\n", "t.txt: line 3: 'abc' is not a timestamp >= 0"),
    ("t.txt", "3\n1\n-1\n", "t.txt: line 3: '-1' is not a timestamp >= 0"),
    ("t.txt", "\n", "t.txt: no timestamps"),
    ("t.csv", "time\n1\nx\n", "t.csv: column 'time', row 2: 'x' is not a timestamp"),
    ("t.csv", "t\n1\n", "t.csv: needs a 'time' column, has ['t']"),
    ("t.parquet", "garbage", "t.parquet: not a readable list of timestamps"),
])
def test_bad_trace_files_name_the_line(tmp_path: Path, name: str, content: str,
                                       message: str) -> None:
    # regression: a missing 'time' column was reported twice in one message, and bad
    # values did not say where they were
    from simulator.traffic.arrivals import read_trace

    (tmp_path / name).write_text(content)
    with pytest.raises(UserError) as info:
        read_trace(str(tmp_path / name))
    text = str(info.value)
    assert text.startswith("arrivals.path: ") and message in text
    assert text.count("arrivals.path") == 1
    assert list(read_trace(_trace(tmp_path, "2\n0.5\n"))) == [0.5, 2.0]


def _trace(tmp_path: Path, content: str) -> str:
    p = tmp_path / "good.txt"
    p.write_text(content)
    return str(p)


def test_missing_pool_message_fits_every_command(tmp_path: Path) -> None:
    # regression: the message told scenario users to pass '--pool default', an option
    # that 'clearsim run' does not have
    from simulator.pools.pool import PoolError, load_pool

    with pytest.raises(PoolError) as info:
        load_pool(tmp_path / "none.parquet")
    assert "--pool" not in str(info.value) and "'default'" in str(info.value)


def test_run_line_shows_timed_out_when_clients_give_up(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _write(tmp_path, {**GOOD, "patience": {"kind": "fixed", "seconds": 0.05}})
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 0
    line = capsys.readouterr().out
    rate = json.loads((tmp_path / "out" / "summary.json").read_text())["timed_out_rate"]
    assert rate > 0
    assert f"timed out {rate:.3f}, " in line


@pytest.mark.parametrize(("fmt", "name", "content", "hint"), [
    ("azure", "m.jsonl", '{"timestamp": 0, "input_length": 10}\n',
     "not an Azure LLM trace CSV; it looks like a Mooncake JSONL trace: set "
     "arrivals.format: mooncake"),
    ("mooncake", "a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
     "2023-11-16 18:15:46.6805900,374,44\n",
     "line 1: invalid JSON (Expecting value); Mooncake traces have one JSON object a "
     "line; it looks like an Azure LLM trace CSV: set arrivals.format: azure"),
    ("timestamps", "a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n1,2,3\n",
     "needs a 'time' column, has ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens']; it "
     "looks like an Azure LLM trace CSV: set arrivals.format: azure"),
    ("azure", "w.csv", "a,b,c,d,e,f,g,h\n1,2,3,4,5,6,7,8\n",
     "has ['a', 'b', 'c', 'd', 'e', 'f'] and 2 more"),
])
def test_trace_in_another_format_names_it(tmp_path: Path, fmt: str, name: str,
                                          content: str, hint: str) -> None:
    from simulator.traffic.traces import load_trace

    (tmp_path / name).write_text(content)
    with pytest.raises(UserError) as info:
        load_trace(str(tmp_path / name), fmt)
    assert hint in str(info.value)
