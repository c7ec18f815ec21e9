"""The 95% Student-t interval over seeds, shared by the stress test and the reports."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["t_half_width"]


def t_half_width(sd: np.ndarray, n: np.ndarray, level: float = 0.95) -> np.ndarray:
    """Half-width ``t_{(1+level)/2, n-1} * sd / sqrt(n)`` of a two-sided interval.

    Args:
        sd: sample standard deviations (ddof 1); NaN where undefined.
        n: sample sizes (seeds).

    Returns:
        half-widths, NaN where ``n < 2`` (one seed says nothing about the spread).
    """
    sd = np.asarray(sd, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    t = stats.t.ppf(0.5 + level / 2.0, np.maximum(n - 1.0, 1.0))
    return np.where(n > 1, t * sd / np.sqrt(np.maximum(n, 1.0)), np.nan)
