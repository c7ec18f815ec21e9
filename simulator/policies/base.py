"""The policy interface and the registry every allocation policy is listed in.

A policy is a pure function ``allocate(inp, params) -> Allocation``: numpy in, numpy
out, no SimPy, no I/O, no global randomness. The online allocator and the static
frontier both call policies only through :func:`get_policy`.

Invariants every policy keeps (tested by property tests): ``caps >= 0``,
``caps.sum() <= inp.budget`` (up to float rounding of 1e-9 relative), and the same
inputs give the same caps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulator.errors import UserError
from simulator.registry import Registry, UnknownNameError

__all__ = [
    "Allocation",
    "AllocationInput",
    "PolicyFn",
    "POLICIES",
    "UnknownNameError",
    "check_params",
    "get_policy",
    "policy_params",
    "register_policy",
    "uses_curves",
]


@dataclass(frozen=True)
class AllocationInput:
    """What a policy may look at when it allocates one batch.

    Attributes:
        thresholds: (N,) predicted emergence thresholds T_i in tokens (> 0).
        budget: total token budget B for the batch (tokens, >= 0).
        log_spread: (N,) predicted log-residual spread s_i, or None if unknown.
        solvability: (N,) predicted probability q_i of being solvable, or None.
        true_tau: (N,) oracle thresholds (oracle policy only), or None.
        curves: oracle S-curves as ``(lengths, correct_and_valid)`` (N, K) arrays, used
            by the oracle policy only, or None (the online allocator passes them only to
            policies registered with ``curves=True``).
        warm_start: the previous tick's shadow price (online allocator), or None.
        threshold_sd: the predictor's additive noise SD of ln T (ln tokens), or None
            (see :class:`predictors.base.Prediction`).
        prior_thresholds: (M,) recent predicted thresholds (tokens) describing the
            traffic, for empirical-Bayes policies; None means this batch is the sample.
    """

    thresholds: np.ndarray
    budget: float
    log_spread: np.ndarray | None = None
    solvability: np.ndarray | None = None
    true_tau: np.ndarray | None = None
    curves: tuple[np.ndarray, np.ndarray] | None = None
    warm_start: float | None = None
    threshold_sd: float | None = None
    prior_thresholds: np.ndarray | None = None


@dataclass(frozen=True)
class Allocation:
    """A policy's answer.

    Attributes:
        caps: (N,) token caps t_i >= 0, with ``caps.sum() <= budget``.
        shadow_price: lambda* for shadow-price policies, else None.
        info: small scalar diagnostics (e.g. ``beta``, ``iterations``).
    """

    caps: np.ndarray
    shadow_price: float | None = None
    info: Mapping[str, float] = field(default_factory=dict)


PolicyFn = Callable[[AllocationInput, Mapping[str, Any]], Allocation]

#: Every policy; the package ``simulator.policies`` imports the built-ins, so importing
#: this module (which runs the package first) always sees them registered.
POLICIES: Registry[PolicyFn] = Registry("policy", "policies")
_PARAMS: dict[str, tuple[str, ...]] = {}
_CURVES: set[PolicyFn] = set()


def register_policy(name: str, params: tuple[str, ...] = (),
                    curves: bool = False) -> Callable[[PolicyFn], PolicyFn]:
    """Decorator: list ``fn`` in :data:`POLICIES` under ``name`` (the YAML ``kind``).

    Args:
        name: the registry key.
        params: the parameter names the policy reads from its ``params`` mapping.
        curves: the policy reads ``AllocationInput.curves``; the online allocator
            gathers those (N, K) arrays only for such policies.
    """
    _PARAMS[name] = params
    register = POLICIES.register(name)

    def decorate(fn: PolicyFn) -> PolicyFn:
        if curves:
            _CURVES.add(fn)
        return register(fn)

    return decorate


def uses_curves(fn: PolicyFn) -> bool:
    """Whether policy ``fn`` was registered with ``curves=True`` (reads the S-curves)."""
    return fn in _CURVES


def get_policy(name: str) -> PolicyFn:
    """The policy registered as ``name``.

    Raises:
        UnknownNameError: naming the valid policies.
    """
    return POLICIES.get(name)


def policy_params(name: str) -> tuple[str, ...]:
    """The parameter names policy ``name`` accepts."""
    POLICIES.get(name)
    return _PARAMS[name]


def check_params(name: str, params: Mapping[str, Any]) -> None:
    """Reject parameters that policy ``name`` does not read, or bad values of them.

    Values are checked by letting the policy allocate a two-query probe, since each
    policy validates its own parameters when it allocates.

    Raises:
        UnknownNameError: unknown policy, or an unknown parameter (lists the valid ones).
        UserError: a bad value (e.g. ``clear: kappa must be > 0``).
    """
    valid = policy_params(name)
    for key in params:
        if key not in valid:
            raise UnknownNameError(
                f"unknown parameter {key!r} for policy {name!r}; valid: "
                f"{', '.join(valid) if valid else 'none (it takes no parameters)'}")
    probe = AllocationInput(np.array([100.0, 200.0]), 300.0, log_spread=np.full(2, 0.3),
                            solvability=np.ones(2), true_tau=np.array([100.0, 200.0]))
    try:
        POLICIES.get(name)(probe, params)
    except (ValueError, TypeError) as exc:
        raise UserError(str(exc)) from None


def check_input(inp: AllocationInput) -> tuple[np.ndarray, float]:
    """Validate and return ``(thresholds as float64, budget)``.

    Raises:
        ValueError: non-finite or non-positive thresholds, or a negative/NaN budget.
    """
    t = np.asarray(inp.thresholds, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError("thresholds must be a 1-D array")
    if t.size <= 16:   # a DES tick: the same test on a few floats, without numpy calls
        if not all(0.0 < x < math.inf for x in t.tolist()):
            raise ValueError("thresholds must be finite and > 0 tokens")
    elif not (np.isfinite(t).all() and (t > 0).all()):
        raise ValueError("thresholds must be finite and > 0 tokens")
    b = float(inp.budget)
    if not math.isfinite(b) or b < 0:
        raise ValueError(f"budget must be finite and >= 0 tokens, got {inp.budget!r}")
    return t, b


def param(params: Mapping[str, Any], name: str, default: float) -> float:
    """``params[name]`` as float, or ``default``."""
    return float(params.get(name, default))


def flag(params: Mapping[str, Any], name: str, default: bool) -> bool:
    """``params[name]``, which must be a boolean, or ``default``.

    Raises:
        ValueError: naming the parameter, for anything but true/false (a YAML ``yes``
            is already a boolean; the string ``"maybe"`` is not).
    """
    value = params.get(name, default)
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return bool(value)
