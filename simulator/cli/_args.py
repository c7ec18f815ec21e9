"""Shared argument parsing helpers for the CLI modules (no subcommand here)."""

from __future__ import annotations

import argparse
from typing import Any

from simulator.errors import UserError


def float_list(text: str) -> list[float]:
    """argparse type: ``"64,128,256"`` -> [64.0, 128.0, 256.0] (each finite, >= 0)."""
    return number_list(text, lo=0.0)


def number_list(text: str, lo: float | None = None) -> list[float]:
    """argparse type: comma-separated finite numbers (>= ``lo`` when given), at most
    :data:`simulator.checks.MAX_MAGNITUDE` in size."""
    from simulator.checks import number

    items = [v.strip() for v in text.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    try:
        return [number(v, "", lo=lo) for v in items]
    except UserError as exc:
        raise argparse.ArgumentTypeError(f"{exc} in {text!r}") from None


def finite(text: str) -> float:
    """argparse type: one finite number, at most 1e9 in size."""
    from simulator.checks import number

    try:
        return number(text, "")
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (at most 1e9)."""
    from simulator.checks import number

    try:
        return number(text, "", lo=0.0, lo_open=True)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    v = finite(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a number > 0 and < 1, got {text!r}")
    return v


def name_list(text: str) -> list[str]:
    """argparse type: ``"a,b"`` -> ["a", "b"] (non-empty, each name once)."""
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{', '.join(repr(n) for n in twice)} listed more "
                                         f"than once in {text!r}; give each name once")
    return names


def name(text: str) -> str:
    """argparse type: a non-empty name (surrounding spaces removed)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a name, got an empty string")
    return text.strip()


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
        out.setdefault(policy, {})[name] = _yaml_value(value, f"--param {key}")
    return out


def _yaml_value(text: str, where: str) -> Any:
    """``text`` read as a YAML value (strictly), or a one-line error naming ``where``."""
    import yaml

    from simulator.checks import finite_problem
    from simulator.scenario.yamlread import YamlRefused, load_yaml

    try:
        value = load_yaml(text)
    except yaml.YAMLError as exc:
        detail = str(exc).splitlines()[0] if isinstance(exc, YamlRefused) else "not valid YAML"
        raise UserError(f"{where}: {detail} (got {text[:40]!r})") from None
    problem = finite_problem(value)
    if problem is not None:
        raise UserError(f"{where}: {problem} (got {text[:40]!r})")
    return value


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
        out[key.strip()] = _yaml_value(value, f"{option} {key.strip()}")
    return out


def fmt_metric(value: float | None, spec: str, unit: str = "") -> str:
    """``value`` formatted with ``spec`` (and ``unit``), or '-' when undefined (None).

    Rates over arrivals are undefined with zero arrivals, latencies with no completion.
    """
    return "-" if value is None else f"{value:{spec}}{unit}"


def seed(text: str) -> int:
    """argparse type: a seed, a whole number >= 0 (numpy's SeedSequence needs it)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a seed >= 0, got {v}")
    return v


def stream(text: str) -> str | list[float]:
    """A ``--stream`` value: a mix name, or four comma-separated tier weights.

    Raises:
        UserError: unknown mix name or bad weights (lists the valid ones).
    """
    from simulator.traffic.streams import mix_weights

    value: str | list[float] = text
    if "," in text:
        try:
            value = [float(v) for v in text.split(",")]
        except ValueError:
            raise UserError(f"--stream {text!r}: expected a mix name or four numbers, "
                            "e.g. balanced or 1,1,1,1") from None
    try:
        mix_weights(value)
    except UserError as exc:
        raise UserError(f"--stream {text!r}: {exc}") from None
    return value


def check_policy_params(policies: list[str], params: dict[str, dict[str, Any]]) -> None:
    """Validate ``--policies`` and ``--param`` before any work.

    Raises:
        UserError: an unknown policy, a ``--param`` for a policy that is not run, an
            unknown parameter or a bad value (e.g. clear.kappa=-2), naming the option.
    """
    from simulator.policies import check_params, get_policy

    for name in policies:
        get_policy(name)
    unknown = sorted(set(params) - set(policies))
    if unknown:
        raise UserError(f"--param for {', '.join(unknown)}: not among --policies "
                        f"({', '.join(policies)}); add it there or fix the name")
    for name, values in params.items():
        try:
            check_params(name, values)
        except UserError as exc:
            shown = ", ".join(f"{name}.{k}={v}" for k, v in values.items())
            raise UserError(f"--param {shown}: {exc}") from None


def output_file(path: str, option: str, example: str) -> str:
    """Refuse an output file path that is an existing folder or lies under a file.

    Args:
        path: the path given.
        option: the option's name, for the message.
        example: a file name to suggest inside the folder (e.g. ``pool.parquet``).

    Raises:
        UserError: naming ``option`` and the fix.
    """
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        raise UserError(f"{option} {path}: is a folder; give a file name, "
                        f"e.g. {p / example}")
    for parent in p.parents:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{option} {path}: {parent} is a file, not a folder")
    _writable(p, option, path)
    return path


def _writable(p: Any, option: str, path: str) -> None:
    """Refuse when the nearest existing folder above ``p`` cannot be written."""
    import os

    here = next((q for q in p.absolute().parents if q.exists()), None)
    if here is not None and not os.access(here, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: the folder {here} is not writable; "
                        "choose a writable path")


def output_dir(path: str, option: str) -> str:
    """Refuse an output folder path that is an existing file (or lies under one).

    Raises:
        UserError: naming ``option`` and the fix.
    """
    from pathlib import Path

    p = Path(path)
    for q in (p, *p.parents):
        if q.exists() and not q.is_dir():
            raise UserError(f"{option} {path}: {q} exists and is not a folder; "
                            "choose another path")
    _writable(p / "x", option, path)
    return path


def add_batch_options(p: argparse.ArgumentParser, budgets: str, policies: str) -> None:
    """The options every batch experiment shares: --pool, --stream, --n, --budgets,
    --policies and --param (frontier, stress-noise)."""
    p.add_argument("--pool", default="default",
                   help="'default' (embedded synthetic pool, K = 8), 'default-greedy' (the same "
                   "queries, K = 1) or a pool Parquet file "
                   "(see 'clearsim pool import'); default: %(default)s")
    p.add_argument("--stream", default="balanced",
                   help="balanced, mostly-easy, mostly-hard, u-shaped, or four tier "
                   "weights 'w1,w2,w3,w4'; default: %(default)s")
    p.add_argument("--n", type=positive_int, default=500,
                   help="queries in each batch; default: %(default)s")
    p.add_argument("--budgets", type=float_list, default=budgets,
                   help=f"mean budgets per query in tokens, comma-separated; default: {budgets}")
    from simulator.cli.names import POLICY_NAMES

    p.add_argument("--policies", type=name_list, default=name_list(policies),
                   help=f"comma-separated policies, from: {', '.join(POLICY_NAMES)}; "
                   f"default: {policies}")
    p.add_argument("--param", action="append", metavar="POLICY.PARAM=VALUE",
                   help="policy parameter, repeatable (e.g. clear.kappa=2)")
    p.add_argument("--max-memory", type=positive_float, default=4.0, metavar="GB",
                   help="refuse a batch whose estimated memory exceeds this (about 1 kB "
                   "per query at 8 rollouts); default: %(default)s")


def add_training_flag(p: argparse.ArgumentParser) -> None:
    """``--include-training-queries`` (run, compare)."""
    p.add_argument("--include-training-queries", action="store_true",
                   help="with predictor.kind learned: let arrivals draw the queries the "
                   "model was trained on too (optimistic; by default only its held-out "
                   "queries are drawn)")


def training_overrides(args: argparse.Namespace, scenario: Any) -> list[str]:
    """The ``--set`` that ``--include-training-queries`` stands for (empty without it).

    Raises:
        UserError: the flag with a predictor that has no training split.
    """
    if not getattr(args, "include_training_queries", False):
        return []
    if scenario.predictor.kind != "learned":
        raise UserError("--include-training-queries: only for predictor.kind learned "
                        f"(this scenario's is {scenario.predictor.kind!r})")
    return ["predictor.params.include_training=true"]
