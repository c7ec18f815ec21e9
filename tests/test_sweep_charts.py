"""Sweep store charts: any two axes as a heatmap, curves faceted by the other axes."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.charts_sweep import (
    axis_columns,
    cell_means,
    default_sweep_charts,
    metric_columns,
    sweep_heatmap,
    sweep_lines,
)
from simulator.sweep import load_store, load_sweep, run_sweep
from tests.sweep_helpers import write_sweep


def test_charts_over_any_two_axes(tmp_path: Path) -> None:
    axes = {"policy": ["uniform", "clear"], "mean_budget": [64, 256, 1024],
            "predictor.params.sigma": [0.0, 0.5]}
    run_sweep(load_sweep(write_sweep(tmp_path, axes=axes, seeds=[0, 1])), "serial",
              progress=False)
    frame = load_store(tmp_path / "store")
    assert axis_columns(frame) == ["policy", "mean_budget", "predictor.params.sigma", "seed"]
    assert metric_columns(frame) == ["accuracy", "tokens_per_query", "abandonment_rate"]
    means = cell_means(frame, ["policy", "mean_budget"], "accuracy")
    assert means.height == 6 and means["n"].to_list() == [4] * 6
    assert "predictor·params·sigma" in cell_means(frame, ["predictor.params.sigma"],
                                                  "accuracy").columns
    for x, y in [("policy", "mean_budget"), ("mean_budget", "predictor.params.sigma")]:
        spec = sweep_heatmap(frame, x, y, "accuracy").to_dict()
        assert spec["title"]["text"] == f"accuracy over {x} × {y}"
    faceted = sweep_lines(frame, "mean_budget", "tokens_per_query", color="policy",
                          facet="predictor.params.sigma").to_dict()
    assert faceted["facet"]["field"] == "predictor·params·sigma"
    names = [name for name, _, _ in default_sweep_charts(frame)]
    assert names == ["sweep-heatmap", "sweep-lines"]
    with pytest.raises(ValueError, match="no column 'nope'"):
        cell_means(frame, ["nope"], "accuracy")


def test_report_accepts_a_sweep_store(tmp_path: Path) -> None:
    from reports.build import build_report

    run_sweep(load_sweep(write_sweep(tmp_path, axes={"policy": ["uniform", "clear"],
                                                     "mean_budget": [64, 256]})),
              "serial", progress=False)
    built = build_report([tmp_path / "store"], tmp_path / "report.html", png=False)
    assert built.charts == 2
    text = built.html.read_text(encoding="utf-8")
    assert "accuracy over" in text and "1 sweep store(s)" in text
