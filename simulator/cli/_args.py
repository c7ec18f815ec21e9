"""Shared argument parsing helpers for the CLI modules (no subcommand here)."""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from simulator.errors import UserError


def float_list(text: str) -> list[float]:
    """argparse type: ``"64,128,256"`` -> [64.0, 128.0, 256.0] (each >= 0)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(not (v >= 0) for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative numbers, got {text!r}")
    return values


def name_list(text: str) -> list[str]:
    """argparse type: ``"a,b"`` -> ["a", "b"] (non-empty)."""
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return names


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {v}")
    return v


def policy_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["clear.kappa=2", "tale.t_max=4096"]`` -> {"clear": {"kappa": 2}, ...}.

    Raises:
        UserError: an item is not of the form POLICY.PARAM=VALUE.
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        policy, dot, name = key.partition(".")
        if not sep or not dot or not policy or not name:
            raise UserError(f"--param {item!r}: expected POLICY.PARAM=VALUE, "
                            "e.g. clear.kappa=2")
        out.setdefault(policy, {})[name] = yaml.safe_load(value)
    return out


def key_values(items: list[str] | None, option: str) -> dict[str, Any]:
    """``["model=m.pt", "sigma=0.3"]`` -> {"model": "m.pt", "sigma": 0.3} (YAML values).

    Raises:
        UserError: an item is not of the form NAME=VALUE.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{option} {item!r}: expected NAME=VALUE, e.g. model=model.pt")
        out[key.strip()] = yaml.safe_load(value)
    return out
