"""Baselines: uniform and the TALE-style proportional allocation."""

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


@register_policy("uniform")
def uniform(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """t_i = B / N for every query (tokens)."""
    t, b = check_input(inp)
    if t.size == 0:
        return Allocation(np.zeros(0))
    return Allocation(np.full(t.size, b / t.size))


def _clip_scale(t: np.ndarray, b: float, lo: float, hi: float) -> np.ndarray:
    """caps = clip(s * t, lo, hi) with s chosen so the caps sum to b where possible."""
    if t.size * lo >= b:
        return np.full(t.size, b / t.size)
    if t.size * hi <= b:
        return np.full(t.size, hi)
    s_lo, s_hi = 0.0, b / t.sum()
    while np.clip(s_hi * t, lo, hi).sum() < b:
        s_lo, s_hi = s_hi, 2.0 * s_hi
    for _ in range(100):  # sum is continuous and non-decreasing in s
        mid = 0.5 * (s_lo + s_hi)
        if np.clip(mid * t, lo, hi).sum() < b:
            s_lo = mid
        else:
            s_hi = mid
    return np.clip(s_lo * t, lo, hi)


@register_policy("tale", params=("t_min", "t_max"))
def tale(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """TALE-style: t_i proportional to T_i, renormalised to B, clipped, integerised.

    Params:
        t_min: lowest cap in tokens (default 0).
        t_max: highest cap in tokens (default: unlimited).

    Caps are whole tokens; a largest-remainder correction makes them sum to floor(B)
    exactly whenever the clip range allows it.
    """
    t, b = check_input(inp)
    if t.size == 0:
        return Allocation(np.zeros(0))
    lo = param(params, "t_min", 0.0)
    hi = param(params, "t_max", float("inf"))
    if lo < 0 or hi < lo:
        raise ValueError("tale: need 0 <= t_min <= t_max")
    target = float(np.floor(b))
    raw = _clip_scale(t, target, lo, hi)
    caps = np.floor(raw)
    residual = int(round(target - caps.sum()))
    if residual > 0:
        room = caps + 1 <= hi
        frac = np.where(room, raw - caps, -1.0)
        take = np.argsort(-frac, kind="stable")[: min(residual, int(room.sum()))]
        caps[take] += 1
    return Allocation(caps)
