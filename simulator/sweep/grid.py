"""The grid of a sweep: cells, their stable ids and their coordinate-derived seeds.

A cell is one point of the Cartesian product of the axes. Both its id and its seed are
functions of its own coordinates only, so adding a value to an axis adds cells without
changing the id, the seed or the result of any existing cell.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.errors import UserError
from simulator.seeds import seed_sequence
from simulator.sweep.spec import SEED_AXIS

__all__ = ["Cell", "axis_dtype", "canonical", "cell_id", "cell_seed", "expand",
           "label", "set_dotted"]

# Top-level scenario sections that also accept a bare string (``pool: default``).
SHORTHAND = {"pool": "source", "stream": "mix"}


@dataclass(frozen=True)
class Cell:
    """One grid point.

    Attributes:
        cell_id: 16 hex digits, a hash of the coordinates.
        coords: axis path -> value, in axis order (the ``seed`` replicate last).
        seed: the run seed derived from the coordinates (0 <= seed < 2**63).
    """

    cell_id: str
    coords: dict[str, Any]
    seed: int


def canonical(value: Any) -> str:
    """A stable text form of a YAML value (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def label(value: Any, dtype: str | None = None) -> Any:
    """The value as stored in a column: scalars as is, others (or any non-string in a
    ``str`` column, see :func:`axis_dtype`) as JSON text."""
    if isinstance(value, str) or value is None:
        return value
    if dtype != "str" and isinstance(value, bool | int | float):
        return value
    return canonical(value)


def axis_dtype(values: Sequence[Any]) -> str:
    """The column type of an axis: ``bool``, ``int``, ``float`` or ``str`` (labels)."""
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return "bool"
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "int"
    if vals and all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
        return "float"
    return "str"


def cell_id(coords: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 over the sorted (path, value) pairs."""
    text = canonical(sorted((k, v) for k, v in coords.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cell_seed(coords: Mapping[str, Any], crn_axes: Sequence[str] = ()) -> int:
    """The run seed of a cell: the replicate seed keyed by the other coordinates.

    Axes in ``crn_axes`` are left out, so cells that differ only along them share their
    random numbers (the same stream sample, arrivals and noise).

    Returns:
        an integer in [0, 2**63).
    """
    replicate = int(coords.get(SEED_AXIS, 0))
    names = [f"{k}={canonical(v)}" for k, v in sorted(coords.items())
             if k != SEED_AXIS and k not in crn_axes]
    state = seed_sequence(replicate, "sweep-cell", *names).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def set_dotted(raw: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``raw`` with ``path`` (``a.b.c``) set to ``value``.

    Missing sections are created; a top-level ``pool``/``stream`` string is expanded to
    its mapping form first.

    Raises:
        UserError: the path runs through a value that is not a section.
    """
    out: dict[str, Any] = copy.deepcopy(dict(raw))
    node: dict[str, Any] = out
    parts = path.split(".")
    for depth, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if depth == 0 and isinstance(nxt, str | list) and part in SHORTHAND:
            nxt = {SHORTHAND[part]: nxt}
        if nxt is None:
            nxt = {}
        if not isinstance(nxt, dict):
            raise UserError(f"axis {path!r}: '{'.'.join(parts[:depth + 1])}' is a value, "
                            "not a section")
        node[part] = nxt
        node = nxt
    node[parts[-1]] = copy.deepcopy(value)
    return out


def expand(axes: Mapping[str, Sequence[Any]], crn_axes: Sequence[str] = ()) -> list[Cell]:
    """Every cell of the product of ``axes``, in axis order (last axis fastest)."""
    paths = list(axes)
    cells = []
    for combo in itertools.product(*(axes[p] for p in paths)):
        coords = dict(zip(paths, combo, strict=True))
        cells.append(Cell(cell_id(coords), coords, cell_seed(coords, crn_axes)))
    return cells
