"""Service-level objectives over run summaries: ``latency_p95<=30,accuracy>=0.5``.

An SLO is ``METRIC OP NUMBER`` with OP one of ``<=``, ``>=``, ``<``, ``>``. A metric that
is missing from a summary or null (e.g. no query completed, so no latency) fails.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simulator.errors import UserError

__all__ = ["Slo", "check_names", "failed_slos", "parse_slos"]

OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_PATTERN = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Slo:
    """One objective: ``metric op threshold`` (units of the metric, e.g. s for latency)."""

    metric: str
    op: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}"

    def holds(self, summary: Mapping[str, Any]) -> bool:
        """True when the summary's metric is a number meeting the objective."""
        value = summary.get(self.metric)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return not math.isnan(value) and OPS[self.op](float(value), self.threshold)


def parse_slos(text: str) -> list[Slo]:
    """``"latency_p95<=30,accuracy>=0.5"`` -> two :class:`Slo`.

    Raises:
        UserError: an empty list, or an item that is not METRIC OP NUMBER.
    """
    out = []
    for item in (t for t in text.split(",") if t.strip()):
        m = _PATTERN.match(item)
        if m is None:
            raise UserError(f"--slo {item.strip()!r}: expected METRIC OP NUMBER with OP one "
                            "of <=, >=, <, >, e.g. latency_p95<=30")
        try:
            threshold = float(m.group(3))
        except ValueError:
            raise UserError(f"--slo {item.strip()!r}: {m.group(3)!r} is not a number") from None
        if not math.isfinite(threshold):
            raise UserError(f"--slo {item.strip()!r}: the threshold must be finite")
        out.append(Slo(m.group(1), m.group(2), threshold))
    if not out:
        raise UserError("--slo: give at least one objective, e.g. 'latency_p95<=30'")
    return out


def check_names(slos: Sequence[Slo], keys: Iterable[str]) -> None:
    """Raise a :class:`UserError` listing the valid keys if an SLO names an unknown metric."""
    known = list(keys)
    for slo in slos:
        if slo.metric not in known:
            raise UserError(f"--slo {slo}: unknown metric {slo.metric!r}; summary metrics: "
                            f"{', '.join(known)}")


def failed_slos(slos: Sequence[Slo], summary: Mapping[str, Any]) -> list[Slo]:
    """The objectives that ``summary`` misses (empty: all met)."""
    return [s for s in slos if not s.holds(summary)]
