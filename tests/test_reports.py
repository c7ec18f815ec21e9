"""Report layer: aggregates on small frames with known answers, and chart encodings."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import polars as pl
import pytest
from scipy import stats

from reports import aggregate as agg
from reports.charts_frontier import pareto_chart, phase_chart
from reports.charts_noise import noise_chart, paired_chart
from reports.charts_run import allocation_scatter, breakdown_chart, latency_cdf, over_time_chart
from reports.summary import from_queries, summary_frame
from reports.sweeps import frontier_points, noise_band, noise_paired


def _queries() -> pl.DataFrame:
    """Two policies, four arrivals each, in two 10 s windows."""
    return pl.DataFrame({
        "policy": ["a"] * 4 + ["b"] * 4,
        "arrival_time": [1.0, 2.0, 11.0, 12.0] * 2,
        "outcome": ["correct", "abandoned", "wrong", "correct",
                    "correct", "correct", "expired", "wrong"],
        "latency": [2.0, 0.5, 4.0, 6.0, 1.0, 3.0, None, 5.0],
        "cap": [100, 0, 200, 300, 100, 100, 100, 100],
        "predicted_threshold": [50.0, 80.0, 150.0, float("inf"), 50.0, 80.0, 150.0, 60.0],
        "tokens_generated": [90, 0, 200, 250, 80, 90, 0, 100],
        "tier": [0, 3, 1, 1, 0, 3, 1, 1],
        "benchmark": ["m", "m", "g", "g"] * 2,
    })


def _encoding(spec: dict, field: str) -> set[str]:
    """Every field used by channel ``field`` anywhere in a spec."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            enc = node.get("encoding")
            if isinstance(enc, dict) and isinstance(enc.get(field), dict):
                found.add(enc[field].get("field", ""))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


@pytest.mark.parametrize(("span", "windows", "width"), [
    (1000.0, 200, 5.0), (1000.0, 10, 100.0), (3600.0, 200, 20.0), (7.0, 200, 0.05),
    (0.0, 200, 1.0)])
def test_nice_width(span: float, windows: int, width: float) -> None:
    assert agg.nice_width(span, windows) == pytest.approx(width)
    if span > 0:
        assert math.ceil(span / width) <= windows


def test_window_count_bounds() -> None:
    assert agg.window_count(100) == agg.MIN_WINDOWS
    assert agg.window_count(5000) == 100
    assert agg.window_count(10**6) == agg.MAX_WINDOWS


def test_windowed_outcomes_known_values() -> None:
    out = agg.windowed_outcomes(_queries(), 10.0)
    a = out.filter(pl.col("policy") == "a").sort("t")
    assert a["t"].to_list() == [5.0, 15.0]
    assert a["arrivals"].to_list() == [2, 2]
    assert a["accuracy"].to_list() == [0.5, 0.5]
    assert a["abandonment_rate"].to_list() == [0.5, 0.0]
    # the abandoned query's latency is not a completed latency
    assert a["latency_p50"][0] == 2.0


def test_windowed_lambda_drops_null_and_gpu_is_time_weighted() -> None:
    ticks = pl.DataFrame({"policy": ["a", "a", "a", "b"], "time": [0.0, 1.0, 2.0, 0.0],
                          "lambda": [0.1, 0.3, None, None]})
    lam = agg.windowed_lambda(ticks, 10.0)
    assert lam.to_dicts() == [{"policy": "a", "t": 5.0, "lambda": pytest.approx(0.2)}]
    gpu = pl.DataFrame({"policy": ["a", "a"], "window_start": [0.0, 2.0],
                        "window_end": [2.0, 10.0], "busy_fraction": [1.0, 0.5]})
    assert agg.windowed_gpu(gpu, 10.0)["busy_fraction"][0] == pytest.approx(0.6)


def test_windowed_gpu_places_wide_windows_at_their_middle() -> None:
    """10 s GPU windows in a 1 s report grid: plotted at 5.5 and 15.5 s, not 0.5 and 10.5."""
    gpu = pl.DataFrame({"policy": ["a", "a"], "window_start": [0.0, 10.0],
                        "window_end": [10.0, 20.0], "busy_fraction": [0.2, 0.9]})
    out = agg.windowed_gpu(gpu, 1.0)
    assert out["t"].to_list() == [5.5, 15.5]
    assert out["busy_fraction"].to_list() == pytest.approx([0.2, 0.9])


def test_latency_quantiles_only_completed() -> None:
    q = agg.latency_quantiles(_queries(), n=5)
    a = q.filter(pl.col("policy") == "a")
    assert a["latency"].min() == 2.0 and a["latency"].max() == 6.0
    assert a["fraction"].to_list() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_allocation_sample_is_bounded_finite_and_deterministic() -> None:
    big = pl.concat([_queries()] * 1000)
    s1 = agg.allocation_sample(big, max_points=600, seed=1)
    s2 = agg.allocation_sample(big, max_points=600, seed=1)
    assert s1.equals(s2)
    assert s1.group_by("policy").len()["len"].max() == 300
    assert s1["predicted_threshold"].is_finite().all()


def test_breakdown_by_tier_labels() -> None:
    out = agg.breakdown(_queries(), "tier")
    assert set(out["group"]) == {"0 easy", "1 medium", "3 very-hard"}
    row = out.filter((pl.col("policy") == "a") & (pl.col("group") == "1 medium")).row(
        0, named=True)
    assert row["arrivals"] == 2 and row["accuracy"] == 0.5
    assert row["tokens_per_query"] == 225.0


def test_summary_prefers_summary_json_and_fills_gaps() -> None:
    q = _queries().filter(pl.col("policy") == "a")
    computed = from_queries(q)
    assert computed["accuracy"] == 0.5 and computed["abandonment_rate"] == 0.25
    assert computed["goodput_per_1k_tokens"] == pytest.approx(2 / 540 * 1000)
    table = summary_frame({"a": ({"accuracy": 0.9}, q)})
    assert table["accuracy"][0] == 0.9
    assert table["tokens_per_query"][0] == pytest.approx(540 / 4)


def test_summary_from_queries_is_the_simulators_summary() -> None:
    """One definition: a run with no tokens generated has goodput 0, as summary.json says
    (the report's own copy of the formulas gave NaN); empty runs are NaN, not errors."""
    from simulator.metrics import summarize

    q = _queries()
    expected = summarize(q, 0.0)
    assert from_queries(q) == {k: pytest.approx(expected[k]) for k in from_queries(q)}
    idle = q.with_columns(outcome=pl.lit("abandoned"), tokens_generated=pl.lit(0))
    assert from_queries(idle)["goodput_per_1k_tokens"] == 0.0
    assert math.isnan(from_queries(idle)["latency_p95"])
    empty = from_queries(q.head(0))
    assert empty["arrivals"] == 0 and math.isnan(empty["accuracy"])


def test_noise_band_is_a_t_interval() -> None:
    frame = pl.DataFrame({"policy": ["c"] * 3 + ["u"], "sigma": [0.5] * 4,
                          "budget": [256.0] * 4, "seed": [0, 1, 2, 0],
                          "accuracy": [0.4, 0.5, 0.6, 0.3]})
    band = noise_band(frame)
    c = band.filter(pl.col("policy") == "c").row(0, named=True)
    half = stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert c["accuracy"] == pytest.approx(0.5)
    assert c["lo"] == pytest.approx(0.5 - half) and c["hi"] == pytest.approx(0.5 + half)
    u = band.filter(pl.col("policy") == "u").row(0, named=True)
    assert u["lo"] == u["hi"] == pytest.approx(0.3)


def test_frontier_points_average_seeds_and_split_streams() -> None:
    frame = pl.DataFrame({"policy": ["c"] * 4, "stream": ["x", "x", "y", "y"],
                          "mean_budget": [64.0] * 4, "accuracy": [0.2, 0.4, 0.5, 0.5],
                          "tokens_per_query": [60.0] * 4, "abandonment_rate": [0.0] * 4,
                          "seed": [0, 1, 0, 1]})
    pts = frontier_points(frame)
    assert pts["policy"].to_list() == ["c / x", "c / y"]
    assert pts["accuracy"].to_list() == pytest.approx([0.3, 0.5])


def test_run_charts_encode_the_right_fields() -> None:
    q = _queries()
    pol = ["a", "b"]
    ticks = pl.DataFrame({"policy": ["a"], "time": [0.0], "lambda": [0.2]})
    gpu = pl.DataFrame({"policy": ["a"], "window_start": [0.0], "window_end": [10.0],
                        "busy_fraction": [0.7]})
    over = over_time_chart(agg.windowed_outcomes(q, 10.0), agg.windowed_lambda(ticks, 10.0),
                           agg.windowed_gpu(gpu, 10.0), pol, 10.0)
    assert isinstance(over, alt.VConcatChart) and len(over.vconcat) == 5
    spec = over.to_dict()
    assert _encoding(spec, "y") == {"accuracy", "abandonment_rate", "latency",
                                    "busy_fraction", "lambda"}
    assert _encoding(spec, "x") == {"t"}
    scatter = allocation_scatter(agg.allocation_sample(q), pol)
    assert isinstance(scatter, alt.FacetChart)
    spec = scatter.to_dict()
    assert _encoding(spec, "x") == {"predicted_threshold"}
    assert "cap" in _encoding(spec, "y") and _encoding(spec, "shape") == {"outcome"}
    tiers = breakdown_chart(agg.breakdown(q, "tier"), "Difficulty tier", pol)
    assert isinstance(tiers, alt.HConcatChart)
    assert _encoding(tiers.to_dict(), "x") == {"accuracy", "abandonment_rate",
                                               "tokens_per_query"}
    cdf = latency_cdf(agg.latency_quantiles(q), pol).to_dict()
    assert cdf["encoding"]["x"]["field"] == "latency"
    assert cdf["encoding"]["x"]["scale"]["type"] == "log"
    assert cdf["encoding"]["color"]["scale"]["domain"] == pol


def test_over_time_without_lambda_or_gpu_has_three_panels() -> None:
    q = _queries()
    empty_lam = pl.DataFrame(schema={"policy": pl.String, "t": pl.Float64,
                                     "lambda": pl.Float64})
    empty_gpu = pl.DataFrame(schema={"policy": pl.String, "t": pl.Float64,
                                     "busy_fraction": pl.Float64})
    chart = over_time_chart(agg.windowed_outcomes(q, 10.0), empty_lam, empty_gpu,
                            ["a", "b"], 10.0)
    assert len(chart.vconcat) == 3
    last = chart.vconcat[-1].to_dict()
    assert last["encoding"]["x"]["title"] == "Time since start (s)"


def test_sweep_charts_encode_the_right_fields() -> None:
    frame = pl.DataFrame({"policy": ["c", "c", "u", "u"], "mean_budget": [64.0, 128.0] * 2,
                          "accuracy": [0.2, 0.4, 0.1, 0.3],
                          "tokens_per_query": [60.0, 120.0, 64.0, 128.0],
                          "abandonment_rate": [0.3, 0.1, 0.0, 0.0], "seed": [0] * 4})
    pts = frontier_points(frame)
    pareto = pareto_chart(pts, ["c", "u"]).to_dict()
    assert pareto["encoding"]["x"]["field"] == "tokens_per_query"
    assert pareto["encoding"]["y"]["field"] == "accuracy"
    phase = phase_chart(pts, ["c", "u"]).to_dict()
    assert _encoding(phase, "x") == {"mean_budget"}
    assert _encoding(phase, "y") == {"accuracy", "abandonment_rate"}
    band = noise_band(pl.DataFrame({"policy": ["c"] * 2, "sigma": [0.0, 1.0],
                                    "budget": [256.0] * 2, "seed": [0, 0],
                                    "accuracy": [0.5, 0.4]}))
    noise = noise_chart(band, ["c"]).to_dict()
    assert _encoding(noise, "x") == {"sigma"}
    assert _encoding(noise, "y") == {"lo", "accuracy"}
    assert noise["facet"]["column"]["field"] == "budget"


def test_noise_paired_is_the_per_seed_difference_to_the_reference() -> None:
    from simulator.experiments.stress import paired_difference

    rng = np.random.default_rng(0)
    rows = [{"policy": p, "noise_kind": "lognormal", "stream": "balanced", "sigma": sig,
             "budget": 256.0, "seed": seed, "accuracy": float(rng.uniform(0.2, 0.4))}
            for p in ("uniform", "clear", "clear-calibrated") for sig in (0.0, 0.5)
            for seed in range(4)]
    frame = pl.DataFrame(rows)
    diff = noise_paired(frame)
    assert diff is not None and set(diff["policy"]) == {"uniform", "clear-calibrated"}
    full = frame.with_columns(n=pl.lit(500), tokens=pl.lit(1.0), abandonment=pl.lit(0.0))
    want = paired_difference(full, "clear-calibrated", "clear").sort("sigma")
    got = diff.filter(pl.col("policy") == "clear-calibrated").sort("sigma")
    assert np.allclose(got["diff"], want["mean"]) and np.allclose(got["lo"], want["lo"])
    assert noise_paired(frame.filter(pl.col("policy") != "clear")) is None
    assert noise_paired(frame.filter(pl.col("policy") == "clear")) is None
    spec = paired_chart(diff, ["uniform", "clear-calibrated"], "clear").to_dict()
    assert spec["facet"]["row"]["field"] == "policy"
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert _encoding(spec, "y") >= {"lo", "diff"}


def test_file_labels_stay_distinct() -> None:
    from pathlib import Path

    from reports.build import _file_labels

    assert _file_labels([Path("x/a.parquet"), Path("x/b.parquet")]) == ["a", "b"]
    assert _file_labels([Path("a/stress.parquet"), Path("b/stress.parquet")]) == [
        "a/stress", "b/stress"]
    assert _file_labels([Path("a/s.parquet"), Path("b/a/s.parquet")]) == [
        "1: a/s", "2: a/s"]


def test_allocation_facets_with_a_short_last_row_get_their_own_x_axis() -> None:
    """Five policies in three columns: a shared footer axis would hang under the empty
    sixth cell, so each panel draws its own; a full row keeps the shared axis."""
    sample = agg.allocation_sample(_queries())
    five = allocation_scatter(sample, ["a", "b", "c", "d", "e"]).to_dict()
    assert five["resolve"]["axis"]["x"] == "independent"
    three = allocation_scatter(sample, ["a", "b", "c"]).to_dict()
    assert "resolve" not in three


def test_windowed_kv_is_time_weighted_per_replica() -> None:
    kv = pl.DataFrame({"policy": ["a"] * 3, "replica": [0, 0, 1],
                       "window_start": [0.0, 2.0, 0.0], "window_end": [2.0, 10.0, 10.0],
                       "kv_utilisation": [1.0, 0.5, 0.25]})
    out = agg.windowed_kv(kv, 10.0)
    assert out["replica"].to_list() == [0, 1]
    assert out["kv_utilisation"].to_list() == pytest.approx([0.6, 0.25])


def test_kv_utilisation_replaces_the_gpu_busy_panel() -> None:
    q = _queries()
    ticks = pl.DataFrame({"policy": ["a"], "time": [0.0], "lambda": [0.2]})
    gpu = pl.DataFrame({"policy": ["a"], "window_start": [0.0], "window_end": [10.0],
                        "busy_fraction": [0.7]})
    kv = pl.DataFrame({"policy": ["a", "a"], "replica": [0, 1], "window_start": [0.0, 0.0],
                       "window_end": [10.0, 10.0], "kv_utilisation": [0.9, 0.4]})
    over = over_time_chart(agg.windowed_outcomes(q, 10.0), agg.windowed_lambda(ticks, 10.0),
                           agg.windowed_gpu(gpu, 10.0), ["a", "b"], 10.0,
                           agg.windowed_kv(kv, 10.0))
    spec = over.to_dict()
    assert len(over.vconcat) == 5
    assert _encoding(spec, "y") == {"accuracy", "abandonment_rate", "latency",
                                    "kv_utilisation", "lambda"}
    assert _encoding(spec, "strokeDash") >= {"replica"}
