"""The first screen of a compare report, from ``comparison.json``: the scenario in words,
one headline per policy, the table of means with 95% intervals, the paired differences,
and the resolved scenario once with each policy's differences.

Reads the parsed document only (docs/comparison.md); nothing here runs a simulation.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import yaml

__all__ = ["CHART_METRICS", "first_screen_html", "interval_frame", "label",
           "scenario_diff_html", "title"]

#: The metrics drawn in the interval charts, when the comparison has them.
CHART_METRICS = ("accuracy", "abandonment_rate", "timed_out_rate", "tokens_per_query",
                 "time_to_outcome_p95", "latency_p95", "correct_within_slo_share",
                 "goodput_per_1k_tokens")
_FMT = {"share": ".1%", "s": ".2f", "tokens": ",.0f", "per_s": ".3f", "ratio": ".3f"}


def _fmt(metric: Mapping[str, Any]) -> str:
    return ".3f" if metric["key"] == "accuracy" else _FMT.get(metric["unit"], ".4g")


def label(doc: Mapping[str, Any], policy: str) -> str:
    """The row label: the policy, marked when it is an upper bound (oracle)."""
    upper = {p["name"] for p in doc["policies"] if p["upper_bound"]}
    return f"{policy} (upper bound)" if policy in upper else policy


def title(doc: Mapping[str, Any]) -> str:
    """The page title: the scenario's name only with the embedded pool; with the
    user's own pool the name of a bundled scenario would mislead, so the pool file."""
    sc = doc["scenario"]
    if sc.get("pool_source") == "file":
        return f"clearsim comparison on {Path(str(sc['pool'])).name}"
    return f"clearsim comparison: {sc['name']}"


def _num(value: Any, fmt: str, sign: bool = False) -> str:
    if value is None:
        return "–"
    return format(value, ("+" if sign else "") + fmt)


def _cell(iv: Mapping[str, Any] | None, fmt: str, sign: bool = False) -> str:
    if iv is None or iv.get("mean") is None:
        return "<td>–</td>"
    mean = _num(iv["mean"], fmt, sign)
    if iv.get("ci_low") is None:
        return f"<td>{mean}</td>"
    return (f"<td>{mean} <span class='ci'>[{_num(iv['ci_low'], fmt, sign)}, "
            f"{_num(iv['ci_high'], fmt, sign)}]</span></td>")


def _shown(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The metrics of the tables: a rate that is 0 for every policy (nothing expired)
    is left out of the page (it stays in the JSON and CSV)."""
    means: dict[str, list[Any]] = {}
    for r in doc["results"]:
        means.setdefault(r["metric"], []).append((r.get("stats") or {}).get("mean"))
    return [m for m in doc["metrics"]
            if not (m["unit"] == "share" and all(v == 0 for v in means.get(m["key"], [])))]


def _table(doc: Mapping[str, Any], which: str) -> str:
    metrics = _shown(doc)
    results = {(r["policy"], r["metric"]): r for r in doc["results"]}
    policies = [p["name"] for p in doc["policies"]]
    if which == "diff":
        policies = [p for p in policies if p != doc["reference"]]
    head = "".join(f"<th>{html.escape(m['label'])}<br><span class='ci'>"
                   f"{'difference ' if which == 'diff' else 'mean '}[95% CI]</span></th>"
                   for m in metrics)
    rows = []
    for p in policies:
        cells = "".join(_cell((results.get((p, m["key"])) or {}).get(which), _fmt(m),
                              sign=which == "diff") for m in metrics)
        rows.append(f"<tr><td>{html.escape(label(doc, p))}</td>{cells}</tr>")
    cls = "intervals" if which == "stats" else "differences"
    return (f"<table class='{cls}'><tr><th>Policy</th>{head}</tr>{''.join(rows)}"
            "</table>")


def first_screen_html(doc: Mapping[str, Any]) -> str:
    """Scenario sentence, headlines, the interval table and the differences table."""
    n = len(doc["seeds"])
    ref = html.escape(doc["reference"])
    heads = "".join(f"<li>{html.escape(p['headline'])}</li>" for p in doc["policies"])
    note = ("" if n > 1 else "<p class='note'>One seed: no intervals. Rerun with "
            "<code>--seeds 5</code> or more.</p>")
    held = doc["scenario"].get("held_out") or {}
    if held.get("include_training"):
        note += ("<p class='note warn'>This comparison INCLUDES the queries the learned "
                 "predictor was trained on: its figures are optimistic.</p>")
    return (f"<p class='scenario'>{html.escape(doc['description'])}</p>"
            f"<h3>Against {ref}</h3><ul class='headlines'>{heads}</ul>{note}"
            f"<h3>Per policy: mean over {n} seed(s) and 95% interval</h3>"
            + _table(doc, "stats")
            + "<p class='note'>Time to outcome counts every arrival (a refused query's "
            "outcome comes at its allocator tick); latency counts answered (correct or "
            "wrong) queries only. Upper-bound rows see the true thresholds, which no "
            "deployment can.</p>"
            + (f"<h3>Paired difference to {ref} (same seeds)</h3>" + _table(doc, "diff")
               if len(doc["policies"]) > 1 else ""))


def interval_frame(doc: Mapping[str, Any], which: str) -> pl.DataFrame:
    """policy, metric, label, mean, ci_low, ci_high of :data:`CHART_METRICS` (``which``:
    ``stats`` or ``diff``), upper-bound policies labelled so. A rate the tables leave out
    (0 for every policy, e.g. timed out without client patience) gets no panel either:
    it would be an empty facet."""
    labels = {m["key"]: m["label"] for m in doc["metrics"]}
    shown = {m["key"] for m in _shown(doc)}
    rows = []
    for r in doc["results"]:
        iv = r.get(which)
        if (r["metric"] not in CHART_METRICS or r["metric"] not in shown or iv is None
                or iv.get("mean") is None):
            continue
        lo = iv["ci_low"] if iv.get("ci_low") is not None else iv["mean"]
        hi = iv["ci_high"] if iv.get("ci_high") is not None else iv["mean"]
        rows.append({"policy": label(doc, r["policy"]), "metric": r["metric"],
                     "label": labels[r["metric"]], "mean": iv["mean"], "ci_low": lo,
                     "ci_high": hi, "order": CHART_METRICS.index(r["metric"])})
    schema: dict[str, Any] = {"policy": pl.String, "metric": pl.String, "label": pl.String,
                              "mean": pl.Float64, "ci_low": pl.Float64,
                              "ci_high": pl.Float64, "order": pl.Int64}
    return pl.DataFrame(rows, schema=schema).sort("order", maintain_order=True)


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): node}


def scenario_diff_html(runs: Sequence[tuple[str, Path, str]]) -> str:
    """The first run's resolved scenario in full, then per other run only the fields
    that differ from it (``runs``: label, folder, scenario YAML text)."""
    if not runs:
        return ""
    first_label, first_path, first_yaml = runs[0]
    try:
        base = _flat(yaml.safe_load(first_yaml))
    except yaml.YAMLError:
        base = {}
    items = []
    for lab, _, text in runs[1:]:
        try:
            own = _flat(yaml.safe_load(text))
        except yaml.YAMLError:
            own = {}
        keys = sorted(set(base) | set(own))
        diff = [f"{k}: {own.get(k, '(absent)')}" for k in keys
                if own.get(k) != base.get(k)]
        items.append(f"<li><b>{html.escape(lab)}</b>: "
                     f"{html.escape('; '.join(diff)) if diff else 'no difference'}</li>")
    return (f"<details open><summary>{html.escape(first_label)}: "
            f"{html.escape(str(first_path / 'scenario.resolved.yaml'))}</summary>"
            f"<pre>{html.escape(first_yaml)}</pre></details>"
            f"<p>The other runs differ from it only in:</p><ul>{''.join(items)}</ul>")
