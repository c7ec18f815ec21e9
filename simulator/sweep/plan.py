"""Reading a sweep file into a checked plan: every cell validated before any runs.

:func:`load_sweep` parses the YAML with :class:`~simulator.sweep.spec.SweepSpec`, resolves
the base, checks each axis path on its own (so an unknown path is named), then builds
every cell's config. Any problem is one :class:`UserError` line naming the sweep file
and the field.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.errors import UserError
from simulator.scenario.io import read_yaml_mapping
from simulator.sweep.cells import SweepContext, pool_bytes
from simulator.sweep.grid import Cell, axis_dtype, canonical, expand
from simulator.sweep.kinds import CellKind, get_kind
from simulator.sweep.spec import SEED_AXIS, SweepSpec
from simulator.sweep.store import Manifest

__all__ = ["SweepPlan", "load_sweep", "plan_sweep"]


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep.

    Attributes:
        spec: the parsed sweep file.
        source: the sweep file path (or ``<memory>``).
        root: folder that relative paths are taken from.
        base: the resolved base (JSON-able).
        cells: every cell, in grid order.
        configs: cell id -> validated config.
        store: the results store path.
    """

    spec: SweepSpec
    source: str
    root: Path
    base: dict[str, Any]
    cells: list[Cell]
    configs: dict[str, Any]
    store: Path

    @property
    def kind(self) -> CellKind:
        """The cell kind."""
        return get_kind(self.spec.kind)

    @cached_property
    def input_digests(self) -> list[tuple[str, str]]:
        """(path, SHA-256 of its bytes) of every file the cells read: pool Parquet
        files, arrival traces, predictor models (sorted by path).

        Raises:
            UserError: a file cannot be read (named).
        """
        kind = self.kind
        files = sorted({f for cfg in self.configs.values() for f in kind.input_files(cfg)})
        out = []
        for f in files:
            try:
                out.append((f, hashlib.sha256(Path(f).read_bytes()).hexdigest()))
            except OSError as exc:
                raise UserError(f"{self.source}: input file {f}: {exc.strerror or exc}; "
                                "check the path in the sweep's base or axes") from None
        return out

    def manifest(self) -> Manifest:
        """The store manifest of this grid.

        Its fingerprint covers the kind, the base, the crn_axes and the bytes of every
        input file (:attr:`input_digests`), so resuming after a pool file, trace or
        model changed is refused rather than mixing results.
        """
        axes = self.spec.axis_values()
        fingerprint = hashlib.sha256(canonical(
            [self.spec.kind, self.base, sorted(self.spec.crn_axes), self.input_digests]
        ).encode()).hexdigest()[:16]
        return Manifest(self.spec.kind, fingerprint,
                        [(p, axis_dtype(v)) for p, v in axes.items()], self.cells, self.source)

    def context(self, cells: list[Cell] | None = None) -> SweepContext:
        """The worker context, holding every pool that ``cells`` (default all) read."""
        kind = self.kind
        pools: dict[str, bytes] = {}
        for cell in cells if cells is not None else self.cells:
            config = self.configs[cell.cell_id]
            key = kind.pool_key(config)
            if key not in pools:
                pools[key] = pool_bytes(kind.load_pool(config))
        return SweepContext.make(self.spec.kind, self.base, str(self.root), pools)


def plan_sweep(spec: SweepSpec, root: Path, source: str = "<memory>") -> SweepPlan:
    """Validate ``spec`` (paths relative to ``root``) into a plan.

    Raises:
        UserError: an unknown axis path, a bad axis value or a bad base.
    """
    kind = get_kind(spec.kind)
    base = kind.base(spec, root)
    axes = spec.axis_values()
    first = {p: v[0] for p, v in axes.items()}
    for path in axes:
        if path == SEED_AXIS:
            continue
        try:
            kind.build(base, {path: first[path]}, 0, root)
        except UserError as exc:
            raise UserError(f"{source}: {_culprit(kind, base, root, path, exc)}: {exc}") from None
    cells = expand(axes, spec.crn_axes)
    configs: dict[str, Any] = {}
    for cell in cells:
        if cell.cell_id in configs:
            raise UserError(f"{source}: two cells share the coordinates {cell.coords}")
        try:
            configs[cell.cell_id] = kind.build(base, cell.coords, cell.seed, root)
        except UserError as exc:
            raise UserError(f"{source}: cell {canonical(cell.coords)}: {exc}") from None
    store = Path(spec.store)
    return SweepPlan(spec, source, root, base, cells, configs,
                     store if store.is_absolute() else root / store)


def _culprit(kind: Any, base: Any, root: Path, path: str, exc: UserError) -> str:
    """'base' when the base alone fails the same way, else the axis."""
    try:
        kind.build(base, {}, 0, root)
    except UserError as base_exc:
        if str(base_exc) == str(exc):
            return "base"
    return f"axis {path!r}"


def _spec_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key; allowed keys: {', '.join(SweepSpec.model_fields)}"
    return f"{path}: {msg}" if path else msg


def load_sweep(path: str | Path) -> SweepPlan:
    """Read and validate the sweep file at ``path`` (relative paths from its folder).

    Raises:
        UserError: missing file, bad YAML, or an invalid sweep (one line).
    """
    p = Path(path)
    raw = read_yaml_mapping(p, "sweep file",
                            "a sweep file is a mapping (kind, base, axes, seeds, store)")
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise UserError(f"{p}: {_spec_error(exc)}") from None
    return plan_sweep(spec, p.resolve().parent, str(p))
