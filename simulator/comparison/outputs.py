"""``comparison.json`` and ``comparison.csv``: the comparison for other tools to read.

``comparison.json`` follows :data:`SCHEMA` (JSON Schema draft 2020-12, ``schema_version``
:data:`SCHEMA_VERSION`; docs/comparison.md explains every field). ``comparison.csv`` has
one row per policy x metric x statistic (``policy,metric,statistic,value``); its numbers
are the JSON's, printed with ``repr`` so they round-trip exactly. Both are written
atomically, the JSON last of the two.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from simulator.atomic import atomic_write_text
from simulator.comparison.result import Comparison, is_upper_bound
from simulator.comparison.stats import Interval
from simulator.version import __version__

__all__ = ["CSV_STATISTICS", "SCHEMA", "SCHEMA_VERSION", "comparison_dict", "csv_text",
           "write_outputs"]

SCHEMA_VERSION = 1
FORMAT = "clearsim-comparison"

_NUM = {"type": ["number", "null"]}
_INTERVAL = {
    "type": "object", "additionalProperties": False,
    "required": ["n", "mean", "sd", "half_width", "ci_low", "ci_high"],
    "properties": {"n": {"type": "integer", "minimum": 0}, "mean": _NUM, "sd": _NUM,
                   "half_width": _NUM, "ci_low": _NUM, "ci_high": _NUM},
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": f"https://clearsim.invalid/schemas/comparison-v{SCHEMA_VERSION}.json",
    "title": "clearsim comparison",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "schema_version", "clearsim_version", "scenario", "description",
                 "reference", "level", "seeds", "policies", "metrics", "results",
                 "fingerprint"],
    "properties": {
        "format": {"const": FORMAT},
        "schema_version": {"const": SCHEMA_VERSION},
        "clearsim_version": {"type": "string"},
        "scenario": {"type": "object", "required": ["name", "budget_rate", "seeds"]},
        "description": {"type": "string"},
        "reference": {"type": "string"},
        "level": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "seeds": {"type": "array", "items": {"type": "integer", "minimum": 0},
                  "minItems": 1},
        "fingerprint": {"type": "string"},
        "policies": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["name", "params", "upper_bound", "headline", "runs"],
            "properties": {"name": {"type": "string"}, "params": {"type": "object"},
                           "upper_bound": {"type": "boolean"},
                           "headline": {"type": "string"},
                           "runs": {"type": "object",
                                    "additionalProperties": {"type": "string"}}}}},
        "metrics": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["key", "label", "unit", "better"],
            "properties": {"key": {"type": "string"}, "label": {"type": "string"},
                           "unit": {"type": "string"},
                           "better": {"enum": ["higher", "lower", None]}}}},
        "results": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["policy", "metric", "values", "stats", "diff", "ratio"],
            "properties": {
                "policy": {"type": "string"}, "metric": {"type": "string"},
                "values": {"type": "array", "items": _NUM},
                "stats": _INTERVAL,
                "diff": {"oneOf": [{"type": "null"}, _INTERVAL]},
                "ratio": {"oneOf": [{"type": "null"}, _INTERVAL]}}}},
    },
}

#: The statistics of one policy x metric in the CSV, in row order. ``diff_*`` is the
#: paired difference to the reference, ``ratio_*`` the per-seed ratio to it.
CSV_STATISTICS = ("n", "mean", "sd", "ci_low", "ci_high", "diff_mean", "diff_ci_low",
                  "diff_ci_high", "ratio_mean", "ratio_ci_low", "ratio_ci_high")


def _iv(iv: Interval | None) -> dict[str, Any] | None:
    return None if iv is None else iv.as_dict()


def comparison_dict(c: Comparison) -> dict[str, Any]:
    """The JSON document of ``c`` (valid against :data:`SCHEMA`)."""
    return {
        "format": FORMAT, "schema_version": SCHEMA_VERSION, "clearsim_version": __version__,
        "scenario": c.scenario, "description": c.description, "reference": c.reference,
        "level": c.level, "seeds": c.seeds, "fingerprint": c.fingerprint,
        "policies": [{"name": p, "params": c.params.get(p, {}),
                      "upper_bound": is_upper_bound(p), "headline": c.headlines[p],
                      "runs": c.runs.get(p, {})} for p in c.policies],
        "metrics": [{"key": m.key, "label": m.label, "unit": m.unit, "better": m.better}
                    for m in c.metrics],
        "results": [{"policy": r.policy, "metric": r.metric, "values": r.values,
                     "stats": _iv(r.stats), "diff": _iv(r.diff), "ratio": _iv(r.ratio)}
                    for r in c.rows],
    }


def _cell(value: Any) -> str:
    return "" if value is None else repr(value)


def csv_text(doc: dict[str, Any]) -> str:
    """``comparison.csv`` from the JSON document (so the two always agree)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["policy", "metric", "statistic", "value"])
    for r in doc["results"]:
        parts = {"": r["stats"], "diff_": r["diff"], "ratio_": r["ratio"]}
        for stat in CSV_STATISTICS:
            prefix = next((p for p in ("diff_", "ratio_") if stat.startswith(p)), "")
            src = parts[prefix]
            if src is None:
                continue
            w.writerow([r["policy"], r["metric"], stat, _cell(src[stat[len(prefix):]])])
    return buf.getvalue()


def write_outputs(c: Comparison, out: Path, formats: tuple[str, ...] = ("json", "csv")
                  ) -> list[Path]:
    """Write ``comparison.csv`` then ``comparison.json`` (as asked) into ``out``."""
    doc = comparison_dict(c)
    written = []
    if "csv" in formats:
        written.append(atomic_write_text(csv_text(doc), out / "comparison.csv"))
    if "json" in formats:
        written.append(atomic_write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n",
                                         out / "comparison.json"))
    return written
