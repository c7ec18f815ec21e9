"""Replication statistics: per-policy means with 95% intervals, paired differences.

Every policy runs on the same seeds (common random numbers), so the difference between
a policy and the reference on one seed removes most of the seed-to-seed noise; the
interval of the mean paired difference is much narrower than the two policies' own
intervals would suggest. Intervals are Student-t over seeds
(:func:`simulator.experiments.intervals.t_half_width`); with one seed they are undefined
(None) and said so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from simulator.experiments.intervals import t_half_width

__all__ = ["LEVEL", "Interval", "interval", "paired", "ratio"]

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean over seeds and its two-sided :data:`LEVEL` Student-t interval.

    ``sd``, ``half_width``, ``ci_low`` and ``ci_high`` are None with fewer than two
    values; every field is None when there is no value at all.
    """

    n: int
    mean: float | None
    sd: float | None
    half_width: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        """The fields as a JSON-ready dict."""
        return asdict(self)

    @property
    def excludes_zero(self) -> bool | None:
        """True when the interval lies wholly above or below 0 (None: no interval)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low > 0 or self.ci_high < 0


def _clean(values: Sequence[float | None]) -> np.ndarray:
    return np.array([v for v in values if v is not None and math.isfinite(v)],
                    dtype=np.float64)


def interval(values: Sequence[float | None]) -> Interval:
    """Mean and interval of the defined ``values`` (None and NaN skipped)."""
    x = _clean(values)
    if x.size == 0:
        return Interval(0, None, None, None, None, None)
    mean = float(x.mean())
    if x.size < 2:
        return Interval(1, mean, None, None, None, None)
    sd = float(x.std(ddof=1))
    half = float(t_half_width(np.array(sd), np.array(x.size), LEVEL))
    return Interval(int(x.size), mean, sd, half, mean - half, mean + half)


def paired(values: Sequence[float | None], reference: Sequence[float | None]) -> Interval:
    """Interval of the per-seed differences ``values[s] - reference[s]`` (seeds where
    both are defined)."""
    diffs = [a - b for a, b in zip(values, reference, strict=True)
             if a is not None and b is not None]
    return interval(diffs)


def ratio(values: Sequence[float | None], reference: Sequence[float | None]
          ) -> Interval | None:
    """Interval of the per-seed ratios ``values[s] / reference[s]``; None when the
    reference is 0 or undefined on some seed (a ratio says nothing there)."""
    pairs = [(a, b) for a, b in zip(values, reference, strict=True)
             if a is not None and b is not None]
    if not pairs or any(b <= 0 for _, b in pairs):
        return None
    return interval([a / b for a, b in pairs])
