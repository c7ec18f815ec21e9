"""One layer of checks for the numbers users give: scenario models, CLI options, pool files.

* :class:`StrictModel` is the base of every user-facing pydantic model: unknown keys are
  refused, ``inf`` and ``nan`` are refused, and every float (also inside lists and
  free-form ``params`` mappings) must be at most :data:`MAX_MAGNITUDE` in size, so no
  value can overflow the simulation clock or a token sum.
* :func:`number` parses one CLI number with the same rules (and a range).
* :func:`bad_counts` marks the entries of a token-count column that are not whole
  numbers in ``[lo, MAX_COUNT]`` (a pool reader names the first one).
* :func:`check_size` refuses work whose estimate exceeds its limit, up front, with the
  estimate and the way to raise the limit ("this run would need about 6e+09 ticks ...").

Limits are deliberately far above any run this project needs; each has an override
where a big run is legitimate (see docs/reliability.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.errors import UserError

__all__ = ["MAX_COUNT", "MAX_MAGNITUDE", "Count", "StrictModel", "bad_counts", "check_size",
           "finite_problem", "number"]

#: Largest size of any float a user gives (seconds, rates, tokens, weights): 1e9 s is
#: 31 years, and sums of such values stay exact to well below a microsecond.
MAX_MAGNITUDE = 1e9
#: Largest token count in a pool file (lengths, prompt tokens, caps).
MAX_COUNT = 10**9

#: A positive whole number up to :data:`MAX_COUNT`, for limits and counts.
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]


def finite_problem(value: Any, path: str = "") -> str | None:
    """Why ``value`` (a number, or lists and mappings of them) is refused, else None.

    Booleans, ints, strings and None pass; floats must be finite and at most
    :data:`MAX_MAGNITUDE` in size. Inside a list or mapping the message names the item
    (``'kappa' must be ...``) and the value.
    """
    if isinstance(value, float):
        where, got = (f"{path} ", f" (got {value!r})") if path else ("", "")
        if not math.isfinite(value):
            return f"{where}must be a finite number{got}"
        if abs(value) > MAX_MAGNITUDE:
            return (f"{where}must be at most {MAX_MAGNITUDE:g} in size{got}; numbers "
                    "this large overflow the simulation")
        return None
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        sub = f"{path}[{key}]" if isinstance(key, int) else \
            (f"{path}.{key}" if path else str(key))
        problem = finite_problem(item, sub or f"[{key}]")
        if problem is not None:
            return problem
    return None


class StrictModel(BaseModel):
    """Base of the user-facing models: no unknown keys, no inf/nan, no huge floats."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _finite(cls, v: Any) -> Any:
        problem = finite_problem(v)
        if problem is not None:
            raise ValueError(problem)
        return v


def number(text: str, what: str, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False) -> float:
    """``text`` as a finite float in range, or a :class:`UserError` naming ``what``.

    Args:
        text: the text given.
        what: the option or field, for the message ("" for none).
        lo, hi: inclusive bounds (``lo`` exclusive with ``lo_open``); both default to
            +-:data:`MAX_MAGNITUDE`.
    """
    head = f"{what}: " if what else ""
    try:
        v = float(text)
    except ValueError:
        raise UserError(f"{head}expected a number, got {text!r}") from None
    problem = finite_problem(v)
    if problem is not None:
        raise UserError(f"{head}{problem} (got {text!r})")
    low = -MAX_MAGNITUDE if lo is None else lo
    high = MAX_MAGNITUDE if hi is None else hi
    if v < low or (lo_open and v == low) or v > high:
        sign = ">" if lo_open else ">="
        raise UserError(f"{head}expected a number {sign} {low:g} and <= {high:g}, got {text!r}")
    return v


def bad_counts(values: np.ndarray, lo: int) -> np.ndarray:
    """Mask of the entries that are not whole numbers in ``[lo, MAX_COUNT]`` (NaN, inf,
    fractions, too small or too large)."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (v >= lo) & (v <= MAX_COUNT)
        ok &= np.where(ok, v == np.round(v), False)
    return ~ok


def check_size(estimate: float, limit: float, what: str, fix: str) -> None:
    """Refuse work whose ``estimate`` exceeds ``limit``.

    Args:
        estimate: the estimated amount (ticks, arrivals, bytes, cells).
        limit: the largest amount allowed.
        what: the amount with its unit and how it was estimated, e.g.
            ``"allocator ticks (duration 600 s / allocator.period 1e-07 s)"``.
        fix: how to shrink the work or raise the limit.

    Raises:
        UserError: "this run would need about N <what>, over the limit of M; <fix>".
    """
    if not estimate <= limit:  # also refuses a NaN estimate
        raise UserError(f"this run would need about {_about(estimate)} {what}, over the "
                        f"limit of {_about(limit)}; {fix}")


def _about(x: float) -> str:
    if not math.isfinite(x):
        return "infinitely many"
    if x < 10:
        return f"{x:.2g}"
    return f"{x:,.0f}" if x < 1e6 else f"{x:.2g}"
