"""Strict YAML (duplicate keys, deep nesting, alias bombs) and the other up-front size
limits: sweep cells and batch memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import UserError
from simulator.experiments.frontier import batch_gb, check_batch_memory
from simulator.pools.source import resolve_pool
from simulator.scenario.io import apply_overrides, load_scenario
from simulator.scenario.yamlread import MAX_DEPTH, YamlRefused, load_yaml
from simulator.sweep import load_sweep
from tests.sweep_helpers import write_scenario, write_sweep


def test_duplicate_key_names_key_and_lines() -> None:
    with pytest.raises(YamlRefused, match="duplicate key 'rate' at line 3 \\(first at line 2\\)"):
        load_yaml("arrivals:\n  rate: 1\n  rate: 2\n")
    # A merge key may be overridden: that is what it is for.
    assert load_yaml("b: &b {x: 1, y: 2}\nc:\n  <<: *b\n  x: 3\n")["c"] == {"x": 3, "y": 2}


def test_alias_bomb_and_self_reference_are_refused() -> None:
    lines = ["a0: &a0 [" + ", ".join(["1"] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    with pytest.raises(YamlRefused, match="aliases .* expand the document to more than"):
        load_yaml("\n".join(lines))
    with pytest.raises(YamlRefused, match="refers to itself"):
        load_yaml("a: &a [*a]\n")
    # Shared aliases that stay small are fine.
    assert load_yaml("a: &a [1, 2]\nb: [*a, *a]\n")["b"] == [[1, 2], [1, 2]]


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    with pytest.raises(YamlRefused, match=f"nested more than {MAX_DEPTH} levels"):
        load_yaml("x: " + "[" * 20000 + "]" * 20000)
    with pytest.raises(YamlRefused, match="through aliases"):  # depth built from aliases
        load_yaml("\n".join([f"a0: &a0 {'[' * 40}1{']' * 40}"] +
                            [f"a{i}: &a{i} {'[' * 40}*a{i - 1}{']' * 40}" for i in range(1, 4)]))
    deep = load_yaml("x: " + "[" * 30 + "]" * 30)["x"]
    for _ in range(29):
        deep = deep[0]
    assert deep == []


def test_scenario_and_sweep_files_share_the_strict_reader(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path)
    scenario.write_text(scenario.read_text() + "seed: 1\nseed: 2\n")
    with pytest.raises(UserError, match=f"^{scenario}: duplicate key 'seed' at line"):
        load_scenario(scenario)
    sweep = write_sweep(tmp_path)
    sweep.write_text(sweep.read_text() + "store: other\n")
    with pytest.raises(UserError, match="duplicate key 'store'"):
        load_sweep(sweep)
    with pytest.raises(UserError, match="--set seed: nested more than"):
        apply_overrides({}, ["seed=" + "[" * 100])


def test_sweep_cells_are_counted_before_the_grid_is_built(tmp_path: Path) -> None:
    axes = {"mean_budget": list(range(1, 101)), "n": list(range(10, 110)),
            "predictor.params.sigma": [i / 10 for i in range(1, 11)]}
    sweep = write_sweep(tmp_path, axes=axes, seeds=list(range(20)))
    with pytest.raises(UserError, match="about 2e\\+06 sweep cells \\(100 x 100 x 10 x 20 "
                       "axis values and seeds\\), over the limit of 100,000; .*max_cells"):
        load_sweep(sweep)


def test_batch_memory_estimate() -> None:
    pool = resolve_pool("default")
    assert batch_gb(pool, 1_000_000) == pytest.approx(1.28)
    check_batch_memory(pool, 500, 4.0)
    with pytest.raises(UserError, match="about 128,000 GB of memory .*--max-memory"):
        check_batch_memory(pool, 10**11, 4.0)
