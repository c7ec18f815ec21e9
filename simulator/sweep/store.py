"""The results store: a manifest plus one Parquet part per finished cell.

Layout of a store directory::

    manifest.json             the grid: axes (path, column type, values) and every cell
    parts/<cell_id>.parquet   one row: cell_id, coordinates, cell_seed, metrics, wall_seconds
    failed/<cell_id>.json     the error and traceback of a cell that raised

Every file is written atomically (temporary file + rename), so a killed sweep leaves
each part either complete or absent. A cell is *done* when its part exists, *failed*
when it has a failure record and no part, and *pending* otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from simulator.atomic import atomic_write_parquet, atomic_write_text
from simulator.errors import UserError
from simulator.sweep.cells import CellResult
from simulator.sweep.grid import Cell, label

__all__ = ["FORMAT", "Manifest", "Store", "StoreStatus"]

FORMAT = "clearsim-sweep/1"
RESERVED = ("cell_id", "cell_seed", "wall_seconds")
DTYPES: dict[str, pl.DataType] = {"bool": pl.Boolean(), "int": pl.Int64(),
                                  "float": pl.Float64(), "str": pl.String()}


@dataclass(frozen=True)
class Manifest:
    """The grid of a sweep, as stored in ``manifest.json``.

    Attributes:
        kind: the cell kind.
        fingerprint: hash of kind, base, crn_axes and the input files' bytes; a
            store holds one sweep.
        axes: (path, column type) per axis, in column order.
        cells: every cell of the grid.
        source: the sweep file the grid came from (informational).
    """

    kind: str
    fingerprint: str
    axes: list[tuple[str, str]]
    cells: list[Cell]
    source: str = ""

    def to_json(self) -> str:
        """The manifest as JSON text."""
        return json.dumps({
            "format": FORMAT, "kind": self.kind, "fingerprint": self.fingerprint,
            "source": self.source,
            "axes": [{"path": p, "dtype": d} for p, d in self.axes],
            "cells": [{"cell_id": c.cell_id, "coords": c.coords, "seed": c.seed}
                      for c in self.cells],
        }, indent=1)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Parse ``manifest.json``.

        Raises:
            UserError: missing, unreadable or not a clearsim sweep manifest.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError("unknown format")
            return cls(data["kind"], data["fingerprint"],
                       [(a["path"], a["dtype"]) for a in data["axes"]],
                       [Cell(c["cell_id"], c["coords"], int(c["seed"])) for c in data["cells"]],
                       data.get("source", ""))
        except FileNotFoundError:
            raise UserError(f"{path.parent}: not a sweep store (no manifest.json)") from None
        except NotADirectoryError:
            raise UserError(f"{path.parent}: is a file, not a sweep store folder; give the "
                            "store's folder (the sweep file's 'store')") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: cannot read the sweep manifest ({exc})") from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UserError(f"{path}: not a clearsim sweep manifest ({FORMAT})") from None


@dataclass(frozen=True)
class StoreStatus:
    """Counts of a store's cells and the failures (cell, coordinates, error)."""

    done: int
    failed: int
    pending: int
    failures: list[tuple[str, dict[str, Any], str]]

    @property
    def total(self) -> int:
        """Cells in the grid."""
        return self.done + self.failed + self.pending


def _flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = label(value)
    return out


class Store:
    """A results store directory (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parts = self.path / "parts"
        self.failed_dir = self.path / "failed"
        self.manifest_path = self.path / "manifest.json"

    def manifest(self) -> Manifest:
        """The stored manifest. Raises UserError when there is none."""
        return Manifest.read(self.manifest_path)

    def done_ids(self) -> set[str]:
        """Ids of cells whose part exists."""
        return {p.stem for p in self.parts.glob("*.parquet")} if self.parts.is_dir() else set()

    def failed_ids(self) -> set[str]:
        """Ids of cells with a failure record (a later part overrides it)."""
        if not self.failed_dir.is_dir():
            return set()
        return {p.stem for p in self.failed_dir.glob("*.json")}

    def begin(self, manifest: Manifest, resume: bool) -> None:
        """Check the store can take ``manifest``, then write the manifest.

        Raises:
            UserError: the store holds another sweep, or finished cells without
                ``resume``, or the path is a non-empty folder that is not a store.
        """
        if self.manifest_path.exists():
            old = self.manifest()
            if old.fingerprint != manifest.fingerprint:
                raise UserError(f"store {self.path} holds a different sweep (its kind, base, "
                                "crn_axes or input files' contents differ); choose another "
                                "store or remove it")
            started = len(self.done_ids() | self.failed_ids())
            if started and not resume:
                raise UserError(f"store {self.path} already holds {started} cells of this "
                                "sweep; pass --resume to run only the missing and failed "
                                "ones, or choose another store")
        elif self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise UserError(f"store {self.path}: exists and is not a sweep store; choose "
                            "a new path")
        for folder in (self.parts, self.failed_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for tmp in folder.glob(".*.tmp"):  # left by a killed writer
                tmp.unlink(missing_ok=True)
        atomic_write_text(manifest.to_json(), self.manifest_path)

    def record(self, result: CellResult, cell: Cell, axes: Sequence[tuple[str, str]]) -> None:
        """Write a finished cell's part (clearing an old failure) or its failure record."""
        if result.metrics is None:
            atomic_write_text(json.dumps({
                "cell_id": cell.cell_id, "coords": cell.coords, "seed": cell.seed,
                "error": result.error, "traceback": result.trace,
                "wall_seconds": result.wall_seconds}, indent=1),
                self.failed_dir / f"{cell.cell_id}.json")
            return
        columns: dict[str, pl.Series] = {"cell_id": pl.Series([cell.cell_id], dtype=pl.String)}
        for path, dtype in axes:
            columns[path] = pl.Series([label(cell.coords[path], dtype)], dtype=DTYPES[dtype])
        columns["cell_seed"] = pl.Series([cell.seed], dtype=pl.Int64)
        for key, value in _flatten(result.metrics).items():
            name = f"metric.{key}" if key in columns or key in RESERVED else key
            columns[name] = pl.Series([value])
        columns["wall_seconds"] = pl.Series([result.wall_seconds], dtype=pl.Float64)
        atomic_write_parquet(pl.DataFrame(columns), self.parts / f"{cell.cell_id}.parquet")
        (self.failed_dir / f"{cell.cell_id}.json").unlink(missing_ok=True)

    def status(self) -> StoreStatus:
        """Done, failed and pending counts over the manifest's grid."""
        manifest = self.manifest()
        done, failed = self.done_ids(), self.failed_ids()
        failures = []
        for cell in manifest.cells:
            if cell.cell_id in failed and cell.cell_id not in done:
                path = self.failed_dir / f"{cell.cell_id}.json"
                try:
                    error = str(json.loads(path.read_text(encoding="utf-8"))["error"])
                except (OSError, ValueError, KeyError):
                    error = "(unreadable failure record)"
                failures.append((cell.cell_id, cell.coords, error))
        n_done = sum(c.cell_id in done for c in manifest.cells)
        return StoreStatus(n_done, len(failures), len(manifest.cells) - n_done - len(failures),
                           failures)

    def load(self) -> pl.DataFrame:
        """Every done cell of the grid as one frame, sorted by cell id.

        Columns: cell_id, the axes (manifest order, manifest types), cell_seed, the
        metrics (in the order of the part with the smallest cell id, then any others),
        wall_seconds. Parts of cells outside the manifest are ignored.
        """
        manifest = self.manifest()
        done = self.done_ids()
        ids = sorted(c.cell_id for c in manifest.cells if c.cell_id in done)
        axes = [(p, DTYPES[d]) for p, d in manifest.axes]
        head = ["cell_id", *(p for p, _ in axes), "cell_seed"]
        if not ids:
            return pl.DataFrame(schema={"cell_id": pl.String(), **dict(axes),
                                        "cell_seed": pl.Int64(), "wall_seconds": pl.Float64()})
        frames = [pl.read_parquet(self.parts / f"{i}.parquet") for i in ids]
        frame = pl.concat(frames, how="diagonal_relaxed")
        metrics = [c for c in dict.fromkeys(c for f in frames for c in f.columns)
                   if c not in head and c != "wall_seconds"]
        frame = frame.with_columns(pl.col(p).cast(t) for p, t in axes)
        return frame.select(*head, *metrics, "wall_seconds").sort("cell_id")
