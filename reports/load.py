"""Read report inputs from files: run directories, frontier Parquet, stress-noise output.

The kind of an input is decided by its files, never by its name:

- a *run directory* holds ``queries.parquet``, ``ticks.parquet``, ``gpu.parquet``,
  ``summary.json`` and ``scenario.resolved.yaml`` (all five are required);
- a *stress-noise output* is a directory holding ``stress.parquet``, or that file itself;
- a *frontier output* is a Parquet file with the ``clearsim frontier --out`` columns;
- a *utility-fit output* is a Parquet file with the ``clearsim pool fit --out`` columns;
- a directory holding none of these but whose subdirectories are runs (the output of
  ``clearsim compare``) stands for all of those runs; its ``comparison.json`` (the
  replicated statistics, docs/comparison.md), when present, is read as well.

Anything else raises :class:`~simulator.errors.UserError` with a one-line message that
names the path and what is missing. Only the columns the report needs are read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from simulator.errors import UserError

__all__ = ["RUN_FILES", "ComparisonData", "FitData", "FrontierData", "ReportInputs", "RunData", "StressData",
           "SweepStoreData",
           "load_inputs", "load_run"]

RUN_FILES = ("queries.parquet", "ticks.parquet", "gpu.parquet", "summary.json",
             "scenario.resolved.yaml")
QUERY_COLUMNS = ("benchmark", "tier", "arrival_time", "cap", "predicted_threshold",
                 "tokens_generated", "outcome", "latency")
TICK_COLUMNS = ("time", "lambda")
GPU_COLUMNS = ("window_start", "window_end", "busy_fraction")
KV_COLUMNS = ("replica", "window_start", "window_end", "kv_utilisation")
FRONTIER_COLUMNS = ("policy", "mean_budget", "accuracy", "tokens_per_query",
                    "abandonment_rate")
STRESS_COLUMNS = ("policy", "sigma", "budget", "accuracy")
FIT_COLUMNS = ("fit_group", "form", "reading", "cap", "accuracy")
# Runs found in a folder of runs are listed baselines first, then by name.
POLICY_ORDER = ("uniform", "tale", "clear-heuristic", "clear-cutoff", "clear",
                "clear-calibrated", "oracle")


@dataclass(frozen=True)
class RunData:
    """One simulator run, as read from its directory.

    Attributes:
        path: the run directory.
        label: the name the report shows (the policy, made unique across inputs).
        queries: one row per arrival, only :data:`QUERY_COLUMNS`.
        ticks: one row per allocator tick: time (s), lambda (null without a shadow price).
        gpu: GPU windows: window_start, window_end (s), busy_fraction.
        summary: the parsed ``summary.json``.
        scenario_yaml: the text of ``scenario.resolved.yaml``.
        kv: KV memory per replica and window (``kv.parquet``: replica, window_start,
            window_end (s), kv_utilisation), None when the run had no KV pool.
    """

    path: Path
    label: str
    queries: pl.DataFrame
    ticks: pl.DataFrame
    gpu: pl.DataFrame
    summary: dict[str, Any]
    scenario_yaml: str
    kv: pl.DataFrame | None = None


@dataclass(frozen=True)
class FrontierData:
    """A ``clearsim frontier --out`` table (one row per policy x mean budget x seed)."""

    path: Path
    frame: pl.DataFrame


@dataclass(frozen=True)
class StressData:
    """A ``clearsim stress-noise`` table (one row per policy x sigma x budget x seed)."""

    path: Path
    frame: pl.DataFrame


@dataclass(frozen=True)
class FitData:
    """A ``clearsim pool fit --out`` curves table (empirical and fitted accuracy per cap)."""

    path: Path
    frame: pl.DataFrame


@dataclass(frozen=True)
class SweepStoreData:
    """A ``clearsim sweep`` results store, as one frame (:func:`simulator.sweep.load_store`)."""

    path: Path
    frame: pl.DataFrame


@dataclass(frozen=True)
class ComparisonData:
    """A ``comparison.json`` written by ``clearsim compare`` (the parsed document)."""

    path: Path
    doc: dict[str, Any]


@dataclass
class ReportInputs:
    """Everything one report shows, grouped by kind, in command-line order."""

    runs: list[RunData] = field(default_factory=list)
    frontiers: list[FrontierData] = field(default_factory=list)
    stresses: list[StressData] = field(default_factory=list)
    stores: list[SweepStoreData] = field(default_factory=list)
    fits: list[FitData] = field(default_factory=list)
    comparisons: list[ComparisonData] = field(default_factory=list)


def _read_parquet(path: Path, columns: Sequence[str]) -> pl.DataFrame:
    """Read ``columns`` of a Parquet file; a missing column or a bad file is a UserError."""
    schema = _read_schema(path)
    missing = [c for c in columns if c not in schema]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
    return pl.read_parquet(path, columns=list(columns))


def load_run(path: Path, label: str | None = None) -> RunData:
    """Read one run directory.

    Raises:
        UserError: a required file or column is missing, or summary.json is not JSON.
    """
    missing = [name for name in RUN_FILES if not (path / name).is_file()]
    if missing:
        raise UserError(f"{path}: incomplete run, missing {', '.join(missing)} "
                        "(was the run interrupted?)")
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path / 'summary.json'}: not valid JSON ({exc})") from None
    if not isinstance(summary, dict):
        raise UserError(f"{path / 'summary.json'}: expected a JSON object")
    return RunData(
        path=path,
        label=label or str(summary.get("policy") or path.name),
        queries=_read_parquet(path / "queries.parquet", QUERY_COLUMNS),
        ticks=_read_parquet(path / "ticks.parquet", TICK_COLUMNS),
        gpu=_read_parquet(path / "gpu.parquet", GPU_COLUMNS),
        summary=summary,
        scenario_yaml=(path / "scenario.resolved.yaml").read_text(encoding="utf-8"),
        kv=(_read_parquet(path / "kv.parquet", KV_COLUMNS) if (path / "kv.parquet").exists()
            else None),
    )


def _is_run(path: Path) -> bool:
    """True when ``path`` holds at least one run file (complete or not)."""
    return any((path / name).exists() for name in RUN_FILES)


def _load_file(path: Path, inputs: ReportInputs) -> None:
    if path.suffix != ".parquet":
        raise UserError(f"{path}: not a run directory, frontier Parquet or stress output")
    schema = _read_schema(path)
    if all(c in schema for c in FIT_COLUMNS):
        inputs.fits.append(FitData(path, pl.read_parquet(path, columns=list(FIT_COLUMNS))))
    elif all(c in schema for c in STRESS_COLUMNS):
        inputs.stresses.append(StressData(path, pl.read_parquet(path)))
    elif all(c in schema for c in FRONTIER_COLUMNS):
        inputs.frontiers.append(FrontierData(path, pl.read_parquet(path)))
    else:
        raise UserError(f"{path}: neither a frontier table (needs "
                        f"{', '.join(FRONTIER_COLUMNS)}) nor a stress-noise table "
                        f"(needs {', '.join(STRESS_COLUMNS)})")


def _read_schema(path: Path) -> dict[str, Any]:
    """Column name -> dtype of a Parquet file; an unreadable file is a UserError."""
    try:
        return dict(pl.read_parquet_schema(path))
    except Exception as exc:  # polars raises several types for a non-Parquet file
        raise UserError(f"{path}: not a readable Parquet file ({exc.__class__.__name__})") \
            from None


def _collect(path: Path, inputs: ReportInputs, run_dirs: list[Path]) -> None:
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    if path.is_file():
        _load_file(path, inputs)
        return
    if (path / "manifest.json").is_file() and (path / "parts").is_dir():
        from simulator.sweep.store import Store  # a sweep store (see docs/sweeps.md)

        inputs.stores.append(SweepStoreData(path, Store(path).load()))
        return
    if _is_run(path):
        run_dirs.append(path)
        return
    if (path / "stress.parquet").is_file():
        _load_file(path / "stress.parquet", inputs)
        return
    subruns = sorted((p for p in path.iterdir() if p.is_dir() and _is_run(p)),
                     key=lambda p: (POLICY_ORDER.index(p.name) if p.name in POLICY_ORDER
                                    else len(POLICY_ORDER), p.name))
    if not subruns:
        raise UserError(f"{path}: not a run directory (no {', '.join(RUN_FILES)}), "
                        "nor a stress-noise output, nor a folder of runs")
    run_dirs.extend(subruns)
    if (path / "comparison.json").is_file():
        inputs.comparisons.append(_load_comparison(path / "comparison.json"))


def _load_comparison(path: Path) -> ComparisonData:
    """Read a ``comparison.json``; a broken file or another format is a UserError."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != "clearsim-comparison":
        raise UserError(f"{path}: not a clearsim comparison (format "
                        "'clearsim-comparison' expected)")
    if doc.get("schema_version") != 1:
        raise UserError(f"{path}: schema_version {doc.get('schema_version')!r}; this "
                        "clearsim reads version 1 (rerun the compare)")
    return ComparisonData(path, doc)


def load_inputs(paths: Sequence[str | Path]) -> ReportInputs:
    """Read every input named on the command line.

    Runs get labels from their policy; when two runs share a policy, a folder name
    is appended so every label is unique.

    Raises:
        UserError: an input is missing, of no known kind, or incomplete.
    """
    if not paths:
        raise UserError("no inputs: give run directories, frontier or stress outputs")
    inputs = ReportInputs()
    run_dirs: list[Path] = []
    for raw in paths:
        _collect(Path(raw), inputs, run_dirs)
    runs = [load_run(p) for p in dict.fromkeys(run_dirs)]
    inputs.runs = [RunData(r.path, label, r.queries, r.ticks, r.gpu, r.summary,
                           r.scenario_yaml, r.kv) for r, label in zip(runs, _unique_labels(runs),
                                                                strict=True)]
    return inputs


def _unique_labels(runs: Sequence[RunData]) -> list[str]:
    """Run labels made unique: a shared policy gets its folder (or parent folder) name."""
    plain = [r.label for r in runs]
    labels: list[str] = []
    for run in runs:
        label = run.label
        if plain.count(label) > 1:
            where = run.path.name if run.path.name != label else run.path.parent.name
            label = f"{label} ({where})"
        base, k = label, 2
        while label in labels:
            label, k = f"{base} #{k}", k + 1
        labels.append(label)
    return labels
