"""From input paths to a written report: load, aggregate, chart, assemble.

This is the only module that ties the others together; ``clearsim report`` and
``clearsim compare`` call :func:`build_report` and nothing else.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from reports import aggregate as agg
from reports.charts_compare import difference_chart, interval_chart
from reports.charts_frontier import pareto_chart, phase_chart
from reports.charts_noise import noise_chart, paired_chart
from reports.charts_run import allocation_scatter, breakdown_chart, latency_cdf, over_time_chart
from reports.compare import first_screen_html, interval_frame, scenario_diff_html
from reports.compare import title as title_of
from reports.html import Figure, ReportDoc, write_report
from reports.load import (
    ComparisonData,
    FitData,
    FrontierData,
    ReportInputs,
    RunData,
    StressData,
    SweepStoreData,
    load_inputs,
)
from reports.summary import COLUMNS, stream_frame, summary_frame
from reports.sweeps import frontier_points, noise_band, noise_paired, noise_title
from simulator.version import __version__

__all__ = ["BuiltReport", "build_report", "comparison_figures", "report_doc", "run_figures", "store_figures",
           "sweep_figures"]

DECISION = "Which policy, at what cost"
RUNS = "Simulator runs"
SWEEPS = "Static frontier and noise sweeps"
FITS = "Utility fits"
PAIR_REFERENCE = "clear"  #: the policy the stress report's paired differences subtract


@dataclass(frozen=True)
class BuiltReport:
    """What :func:`build_report` wrote: the HTML, the PNGs, and how long it took (s)."""

    html: Path
    pngs: list[Path]
    charts: int
    seconds: float


def _tagged(runs: Sequence[RunData], attr: str) -> pl.DataFrame:
    """One frame of every run's ``attr`` table, with a ``policy`` column (the label)."""
    return pl.concat([getattr(r, attr).with_columns(policy=pl.lit(r.label)) for r in runs],
                     how="vertical_relaxed")


def run_figures(runs: Sequence[RunData]) -> list[Figure]:
    """The charts of simulator runs (empty without runs; no CDF if nothing completed)."""
    if not runs:
        return []
    policies = [r.label for r in runs]
    queries = _tagged(runs, "queries")
    span = float(queries.select(pl.col("arrival_time").max()).item() or 0.0)
    width = agg.nice_width(span, agg.window_count(queries.height // len(runs)))
    ticks = _tagged(runs, "ticks").with_columns(pl.col("lambda").cast(pl.Float64))
    gpu = _tagged(runs, "gpu").with_columns(pl.col("busy_fraction").cast(pl.Float64))
    with_kv = [r for r in runs if r.kv is not None]
    kv = (agg.windowed_kv(pl.concat([r.kv.with_columns(policy=pl.lit(r.label))
                                     for r in with_kv if r.kv is not None],
                                    how="vertical_relaxed"), width)
          if with_kv else None)
    figures = [
        Figure("over-time", RUNS, "Accuracy, abandonment and latency of the arrivals in each "
               "time window, KV memory held per replica (GPU occupancy without a KV "
               "pool), and the allocator's shadow price λ*.",
               over_time_chart(agg.windowed_outcomes(queries, width),
                               agg.windowed_lambda(ticks, width),
                               agg.windowed_gpu(gpu, width), policies, width, kv)),
        Figure("allocation", RUNS, "Each point is one query: the threshold the predictor "
               "gave it against the cap the policy granted (paper Fig. 6).",
               allocation_scatter(agg.allocation_sample(queries), policies)),
        Figure("by-tier", RUNS, "Outcomes per difficulty tier (quartiles of the pool's "
               "true threshold).",
               breakdown_chart(agg.breakdown(queries, "tier"), "Difficulty tier", policies)),
        Figure("by-benchmark", RUNS, "Outcomes per source benchmark.",
               breakdown_chart(agg.breakdown(queries, "benchmark"), "Benchmark", policies)),
    ]
    quantiles = agg.latency_quantiles(queries)
    if quantiles.height:  # no CDF when no query completed
        figures.append(Figure("latency-cdf", RUNS, "Share of completed queries answered "
                              "within a given latency; further left is faster.",
                              latency_cdf(quantiles, policies)))
    return figures


def comparison_figures(comparisons: Sequence[ComparisonData]) -> list[Figure]:
    """Interval and paired-difference charts of the first ``comparison.json``."""
    if not comparisons:
        return []
    doc = comparisons[0].doc
    policies = [str(p) for p in interval_frame(doc, "stats")["policy"].unique(
        maintain_order=True).to_list()]
    n = len(doc["seeds"])
    figures = [Figure("intervals", DECISION, "Each policy's mean over the seeds and its "
                      "95% interval.", interval_chart(interval_frame(doc, "stats"), policies,
                                                      n))]
    diff = interval_frame(doc, "diff")
    if diff.height:
        figures.append(Figure("differences", DECISION, "Paired differences: on each seed "
                              f"a policy minus {doc['reference']} on the same arrivals, "
                              "queries and draws, which removes most seed-to-seed noise.",
                              difference_chart(diff, policies, doc["reference"], n)))
    return figures


def _paired_by_file(items: Sequence[StressData]) -> pl.DataFrame | None:
    """Each table's paired differences to PAIR_REFERENCE (pairs never cross files),
    labelled by file like :func:`_label_by_file` when there are several."""
    labels = _file_labels([d.path for d in items])
    parts = [(f, label) for d, label in zip(items, labels, strict=True)
             if (f := noise_paired(d.frame, PAIR_REFERENCE)) is not None]
    if not parts:
        return None
    return _labelled([f for f, _ in parts], [label for _, label in parts],
                     tag=len(items) > 1)


def _file_labels(paths: Sequence[Path]) -> list[str]:
    """Short distinct names for input files: the stem, else folder/stem, else numbered
    (two ``stress-noise`` outputs are both ``.../stress.parquet``)."""
    for name in (lambda p: p.stem, lambda p: f"{p.parent.name}/{p.stem}"):
        labels = [name(p) for p in paths]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{i + 1}: {p.parent.name}/{p.stem}" for i, p in enumerate(paths)]


def _labelled(frames: Sequence[pl.DataFrame], labels: Sequence[str], tag: bool
              ) -> pl.DataFrame:
    """The frames stacked, each policy suffixed with ' (label)' when ``tag``."""
    if not tag:
        return pl.concat(frames, how="diagonal_relaxed")
    return pl.concat([frame.with_columns(
        pl.concat_str(pl.col("policy"), pl.lit(f" ({label})")).alias("policy"))
        for frame, label in zip(frames, labels, strict=True)], how="diagonal_relaxed")


def _label_by_file(items: Sequence[FrontierData] | Sequence[StressData]) -> pl.DataFrame:
    frames: list[pl.DataFrame] = [d.frame for d in items]
    return _labelled(frames, _file_labels([d.path for d in items]), tag=len(items) > 1)


def sweep_figures(frontiers: Sequence[FrontierData], stresses: Sequence[StressData],
                  first: Sequence[str] = ()) -> list[Figure]:
    """The charts of frontier and stress-noise tables (empty without them).

    Args:
        first: policies to list first in legends (the runs' order), when present.
    """
    figures: list[Figure] = []

    def order(frame: pl.DataFrame) -> list[str]:
        present = frame["policy"].unique(maintain_order=True).to_list()
        return [p for p in first if p in present] + [p for p in present if p not in first]

    if frontiers:
        points = frontier_points(_label_by_file(frontiers))
        policies = order(points)
        figures += [
            Figure("pareto", SWEEPS, "Each policy's trade-off between tokens spent and "
                   "accuracy across mean budgets.", pareto_chart(points, policies)),
            Figure("phase-transition", SWEEPS, "Accuracy and abandonment as the budget "
                   "shrinks (paper Fig. 5).", phase_chart(points, policies)),
        ]
    if stresses:
        table = _label_by_file(stresses)
        band = noise_band(table)
        policies = order(band)
        figures.append(Figure("noise", SWEEPS, "Accuracy as the threshold predictor gets "
                              "noisier (paper Fig. 11).",
                              noise_chart(band, policies, noise_title(table))))
        diff = _paired_by_file(stresses)
        if diff is not None:
            figures.append(Figure(
                "noise-paired", SWEEPS, f"Each policy against {PAIR_REFERENCE} on the same "
                "queries and noise: a band clear of zero is a difference the seeds "
                "resolve, even where the curves' own bands overlap.",
                paired_chart(diff, order(diff), PAIR_REFERENCE, noise_title(table))))
    return figures


def store_figures(stores: Sequence[SweepStoreData]) -> list[Figure]:
    """Heatmap and faceted curves of each sweep store (empty without stores)."""
    from reports.charts_sweep import default_sweep_charts

    return [Figure(f"{name}-{i}" if len(stores) > 1 else name, SWEEPS,
                   f"{caption} Store: {store.path}.", chart)
            for i, store in enumerate(stores, 1)
            for name, caption, chart in default_sweep_charts(store.frame)]


def fit_figures(fits: Sequence[FitData]) -> list[Figure]:
    """The utility-fit panel of each ``clearsim pool fit --out`` table."""
    from reports.charts_fit import fit_chart

    return [Figure(f"utility-fit-{i}" if len(fits) > 1 else "utility-fit", FITS,
                   f"Accuracy-vs-cap curves and the fitted utility forms. File: {d.path}.",
                   fit_chart(d.frame)) for i, d in enumerate(fits, 1)]


def _fmt(value: float | None, fmt: str) -> str:
    return "–" if value is None or value != value else fmt.format(value)


def _summary_html(runs: Sequence[RunData]) -> str:
    table = summary_frame({r.label: (r.summary, r.queries) for r in runs})
    head = "".join(f"<th>{html.escape(h)}</th>" for h in ["Policy"] + [c.header for c in COLUMNS])
    rows = ["<tr>" + f"<td>{html.escape(row['policy'])}</td>" +
            "".join(f"<td>{_fmt(row[c.key], c.fmt)}</td>" for c in COLUMNS) + "</tr>"
            for row in table.iter_rows(named=True)]
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _streams_html(runs: Sequence[RunData]) -> str:
    """Per-stream figures of several-stream runs (summary.json ``by_stream``); '' if none."""
    table = stream_frame({r.label: r.summary for r in runs})
    if table.height == 0:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>"
                   for h in ["Policy", "Stream"] + [c.header for c in COLUMNS])
    rows = ["<tr>" + f"<td>{html.escape(row['policy'])}</td>"
            f"<td class='text'>{html.escape(row['stream'])}</td>" +
            "".join(f"<td>{_fmt(row[c.key], c.fmt)}</td>" for c in COLUMNS) + "</tr>"
            for row in table.iter_rows(named=True)]
    return f"<h3>Summary per stream</h3><table><tr>{head}</tr>{''.join(rows)}</table>"


def _inputs_html(runs: Sequence[RunData]) -> str:
    head = "<tr><th>Policy</th><th>Run directory</th><th>Seed</th><th>clearsim</th>" \
           "<th>Simulated (s)</th><th>Wall clock (s)</th></tr>"
    rows = [f"<tr><td>{html.escape(r.label)}</td><td class='text'>{html.escape(str(r.path))}</td>"
            f"<td>{html.escape(str(r.summary.get('seed', '–')))}</td>"
            f"<td>{html.escape(str(r.summary.get('clearsim_version', r.summary.get('version', '–'))))}</td>"
            f"<td>{_fmt(r.summary.get('sim_seconds'), '{:,.0f}')}</td>"
            f"<td>{_fmt(r.summary.get('wall_seconds'), '{:,.2f}')}</td></tr>" for r in runs]
    return f"<table>{head}{''.join(rows)}</table>"


def _sweeps_html(inputs: ReportInputs) -> str:
    items = [("frontier", d.path, d.frame) for d in inputs.frontiers] + \
            [("stress-noise", d.path, d.frame) for d in inputs.stresses]
    rows = []
    for kind, path, frame in items:
        seeds = sorted(set(frame["seed"].to_list())) if "seed" in frame.columns else []
        rows.append(f"<tr><td>{kind}</td><td class='text'>{html.escape(str(path))}</td>"
                    f"<td>{html.escape(', '.join(map(str, seeds)) or '–')}</td>"
                    f"<td>{frame.height:,}</td></tr>")
    return ("<table><tr><th>Kind</th><th>File</th><th>Seeds</th><th>Rows</th></tr>"
            + "".join(rows) + "</table>")


def _scenario_name(runs: Sequence[RunData]) -> str | None:
    try:
        data = yaml.safe_load(runs[0].scenario_yaml) if runs else None
    except yaml.YAMLError:
        return None
    return str(data["name"]) if isinstance(data, dict) and data.get("name") else None


def report_doc(inputs: ReportInputs, figures: Sequence[Figure]) -> ReportDoc:
    """The page around the charts: title, stamps, tables and resolved scenarios."""
    runs = inputs.runs
    name = _scenario_name(runs)
    seeds = sorted({str(r.summary.get("seed", "?")) for r in runs})
    stamp = f"clearsim {html.escape(__version__)}"
    if runs:
        stamp += f" · {len(runs)} run(s) · seed {html.escape(', '.join(seeds))}"
    if inputs.frontiers or inputs.stresses:
        stamp += f" · {len(inputs.frontiers) + len(inputs.stresses)} sweep table(s)"
    if inputs.stores:
        stamp += f" · {len(inputs.stores)} sweep store(s)"
    if inputs.fits:
        stamp += f" · {len(inputs.fits)} utility fit(s)"
    blocks: list[tuple[str, str]] = []
    appendix: list[tuple[str, str]] = []
    doc = inputs.comparisons[0].doc if inputs.comparisons else None
    if doc is not None:
        blocks.append((DECISION, first_screen_html(doc)))
        stamp = (f"clearsim {html.escape(__version__)} · {len(doc['policies'])} policies x "
                 f"{len(doc['seeds'])} seed(s) · reference {html.escape(doc['reference'])}")
    if runs:
        one = "" if doc is None else f" (seed {html.escape(', '.join(seeds))} only)"
        blocks.append((RUNS, f"<h3>Summary per policy{one}</h3>" + _summary_html(runs)))
        streams = _streams_html(runs)
        if streams:
            blocks.append((RUNS, streams))
        blocks.append((RUNS, "<h3>Inputs</h3>" + _inputs_html(runs)))
        if doc is not None:
            appendix.append(("Resolved scenario", scenario_diff_html(
                [(r.label, r.path, r.scenario_yaml) for r in runs])))
        else:
            details = [f"<details{' open' if i == 0 else ''}><summary>"
                       f"{html.escape(r.label)}: "
                       f"{html.escape(str(r.path / 'scenario.resolved.yaml'))}</summary>"
                       f"<pre>{html.escape(r.scenario_yaml)}</pre></details>"
                       for i, r in enumerate(runs)]
            appendix.append(("Resolved scenarios", "".join(details)))
    if inputs.frontiers or inputs.stresses:
        blocks.append((SWEEPS, "<h3>Inputs</h3>" + _sweeps_html(inputs)))
    if doc is not None:
        title = title_of(doc)
    else:
        title = f"clearsim report: {name}" if name else "clearsim report"
    return ReportDoc(title=title, stamp=stamp, blocks=blocks, figures=list(figures),
                     appendix=appendix)


def build_report(paths: Sequence[str | Path], out: str | Path, png: bool = True) -> BuiltReport:
    """Read ``paths`` and write the HTML report ``out`` and its PNGs.

    Raises:
        UserError: an input is missing, of no known kind, or incomplete.
    """
    start = time.perf_counter()
    inputs = load_inputs(paths)
    figures = comparison_figures(inputs.comparisons) + run_figures(inputs.runs) + sweep_figures(
        inputs.frontiers, inputs.stresses, [r.summary.get("policy", r.label) for r in inputs.runs])
    figures += store_figures(inputs.stores) + fit_figures(inputs.fits)
    written = write_report(report_doc(inputs, figures), Path(out), png=png)
    return BuiltReport(html=written[0], pngs=written[1:], charts=len(figures),
                       seconds=time.perf_counter() - start)
