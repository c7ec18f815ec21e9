"""The paper's closed-form CLEAR variants: clear-heuristic and clear-cutoff.

Both select a subset of queries and give it the affine rule

    t_i = B / n_sel + kappa * (T_i - mu),   mu = mean T over the selected queries,

clipped at 0 and rescaled so the selected caps sum to B. The paper writes
``t_i = mu + kappa (T_i - mu)`` with "kappa making them use exactly B", but the
deviation term sums to zero over the selection, so kappa cannot change the total; we
therefore centre the rule on the mean budget B / n_sel and keep kappa (default 1) as the
slope, so kappa = 1 gives every selected query its threshold plus an equal share of the
surplus (docs/model-choices.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from simulator.policies.base import (
    Allocation,
    AllocationInput,
    check_input,
    param,
    register_policy,
)


def affine_caps(t: np.ndarray, selected: np.ndarray, b: float, kappa: float) -> np.ndarray:
    """The affine rule on ``selected``; zero elsewhere; sums to ``b`` (tokens)."""
    caps = np.zeros(t.size)
    n_sel = int(selected.sum())
    if n_sel == 0 or b <= 0:
        return caps
    ts = t[selected]
    raw = np.maximum(b / n_sel + kappa * (ts - ts.mean()), 0.0)
    total = raw.sum()
    caps[selected] = raw * (b / total) if total > 0 else b / n_sel
    over = caps.sum() - b
    if over > 0:  # float rounding
        k = int(np.argmax(caps))
        caps[k] -= over
    return caps


@register_policy("clear-heuristic", params=("kappa", "eta_cut"))
def clear_heuristic(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """If eta = (B/N) / mean(T) < eta_cut (0.8), drop queries with T > median(T).

    Params: kappa (slope, default 1), eta_cut (default 0.8).
    """
    t, b = check_input(inp)
    if t.size == 0:
        return Allocation(np.zeros(0))
    eta = (b / t.size) / float(t.mean())
    selected = np.ones(t.size, dtype=bool)
    if eta < param(params, "eta_cut", 0.8):
        selected = t <= np.median(t)
    return Allocation(affine_caps(t, selected, b, param(params, "kappa", 1.0)),
                      info={"eta": eta})


@register_policy("clear-cutoff", params=("kappa",))
def clear_cutoff(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """Keep the longest prefix (by ascending T) with sum T <= B; affine rule on it.

    Params: kappa (slope, default 1).
    """
    t, b = check_input(inp)
    if t.size == 0:
        return Allocation(np.zeros(0))
    order = np.argsort(t, kind="stable")
    n_keep = int(np.searchsorted(np.cumsum(t[order]), b, side="right"))
    selected = np.zeros(t.size, dtype=bool)
    selected[order[:n_keep]] = True
    return Allocation(affine_caps(t, selected, b, param(params, "kappa", 1.0)))
