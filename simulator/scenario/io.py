"""Scenario files: YAML in, validated :class:`~simulator.scenario.models.Scenario` out.

``load_scenario(path, overrides)`` reads the YAML, resolves its relative paths
(``pool``, ``arrivals.path``, ``output.dir``) against the scenario file's folder, applies ``--set a.b=c`` overrides (the value is parsed as
YAML, so ``--set allocator.budget_rate=200`` gives a number; paths in overrides are
relative to the working directory; ``a.b[1].c`` indexes lists), and validates. Every
problem becomes one :class:`UserError` line that names the YAML path and, where there
is a fixed set, the allowed values, e.g.
``allocator.policy: unknown policy 'x'; valid: clear, oracle, ...``.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from simulator.errors import UserError
from simulator.pools.source import is_embedded
from simulator.scenario.models import Scenario
from simulator.scenario.yamlread import YamlRefused, load_yaml

__all__ = ["apply_overrides", "dump_scenario", "format_error", "load_scenario",
           "parse_scenario", "scenario_schema"]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (unwrapping unions, lists, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out.extend(_models_in(arg))
    return out


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _walk(loc: Sequence[str | int]) -> tuple[str, list[str]]:
    """Dotted YAML path for a pydantic ``loc`` and the keys allowed at its end.

    Union tags that pydantic inserts for discriminated unions (``arrivals.poisson.rate``)
    and for scalar unions (``allocator.budget_rate.float``) are dropped, so the path is
    what the user wrote (``arrivals.rate``, ``allocator.budget_rate``).
    """
    parts: list[str] = []
    model: type[BaseModel] | None = Scenario
    allowed: list[str] = list(Scenario.model_fields)
    i = 0
    while i < len(loc):
        key = loc[i]
        i += 1
        if isinstance(key, int):
            parts.append(f"[{key}]")
            continue
        parts.append(key)
        field = model.model_fields.get(key) if model is not None else None
        if field is None:
            model = None
            continue
        models = _models_in(field.annotation)
        if not models and _is_union(field.annotation) and i < len(loc) \
                and isinstance(loc[i], str):  # scalar union: next loc names the member
            i += 1
        if len(models) > 1 and i < len(loc):  # discriminated union: next loc is the tag
            tag = loc[i]
            # (the member whose kind defaults to the tag, or is a Literal of it)
            models = [m for m in models if "kind" in m.model_fields
                      and (m.model_fields["kind"].default == tag
                           or tag in typing.get_args(m.model_fields["kind"].annotation))]
            i += 1
        model = models[0] if len(models) == 1 else None
        allowed = list(model.model_fields) if model is not None else []
    while i < len(loc):
        parts.append(str(loc[i]))
        i += 1
    return ".".join(parts).replace(".[", "["), allowed


def _pick_error(errors: list[Any]) -> tuple[Any, list[str]]:
    """The error to report and the messages of its union alternatives.

    A value that fits no member of a union (``budget_rate: float | 'unlimited'``) gives
    one error per member at the same path; their messages are all kept. When one member
    failed deeper inside the value (``stream.mix[1]`` of a list), that one is reported.
    """
    # an unknown key first: a misspelt required field is also reported missing
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    path = _walk(tuple(first["loc"]))[0]
    same = [e for e in errors if _walk(tuple(e["loc"]))[0] == path]
    deeper = [e for e in errors if _walk(tuple(e["loc"]))[0].startswith((path + ".",
                                                                          path + "["))]
    if deeper and first["type"] != "extra_forbidden":
        return deeper[0], [str(deeper[0]["msg"])]
    msgs = list(dict.fromkeys(str(e["msg"]).removeprefix("Value error, ") for e in same))
    return first, msgs


def format_error(exc: ValidationError) -> str:
    """The first validation error as one line: ``path: what (got value); allowed``."""
    err, alternatives = _pick_error(list(exc.errors()))
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        parent, allowed = _walk(loc[:-1])
        path = f"{parent}.{loc[-1]}" if parent else str(loc[-1])
        return f"{path}: unknown key; allowed keys here: {', '.join(allowed)}"
    path, _ = _walk(loc)
    path = path or "scenario"
    if kind == "missing":
        return f"{path}: missing required field"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return (f"{path}.{ctx.get('discriminator', 'kind').strip(chr(39))}: unknown kind "
                f"{ctx.get('tag')!r}; valid: {ctx.get('expected_tags')}")
    if kind == "union_tag_not_found":
        return f"{path}.kind: missing required field (the kind of {path})"
    msg = "; or ".join(alternatives) if len(alternatives) > 1 else \
        str(err["msg"]).removeprefix("Value error, ")
    got = err.get("input")
    if kind not in ("model_type", "dict_type") and not isinstance(got, dict | list) \
            and repr(got) not in msg:
        msg = f"{msg} (got {got!r})"
    return f"{path}: {msg}"


_SHORTHAND = {"pool": "source", "stream": "mix"}  # top-level sections with a scalar form


def _steps(item: str, key: str) -> list[str | int]:
    """``a.b[2].c`` -> ["a", "b", 2, "c"]; a dotted number (``a.b.2.c``) stays a string
    and indexes a list too."""
    out: list[str | int] = []
    for part in key.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]") and part[1:-1].lstrip("-").isdigit():
            out.append(int(part[1:-1]))
        elif part and "[" not in part and "]" not in part:
            out.append(part)
        else:
            raise UserError(f"--set {item}: bad key path {key!r}; use names and list "
                            "indices, e.g. arrivals.schedule[1].rate=3")
    return out


def _set(item: str, out: dict[str, Any], steps: list[str | int], value: Any) -> None:
    """Set ``value`` at ``steps`` inside ``out``, creating missing sections."""
    node: Any = out
    for j, step in enumerate(steps):
        here = ".".join(str(s) for s in steps[:j]) or "scenario"
        last = j == len(steps) - 1
        if isinstance(node, list):
            try:
                idx = int(step)
            except ValueError:
                raise UserError(f"--set {item}: '{here}' is a list; index it, e.g. "
                                f"{here}[0]") from None
            if not -len(node) <= idx < len(node):
                raise UserError(f"--set {item}: index {idx} is out of range for '{here}' "
                                f"({len(node)} entries)")
            if last:
                node[idx] = value
            node = node[idx]
            continue
        if not isinstance(node, dict) or isinstance(step, int):
            raise UserError(f"--set {item}: '{here}' is not a list or section")
        if last:
            node[step] = value
            return
        nxt = node.get(step)
        if j == 0 and step in _SHORTHAND and isinstance(nxt, str | list):
            nxt = {_SHORTHAND[step]: nxt}
        elif nxt is None:
            nxt = {}
        node[step] = nxt
        node = nxt


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of ``raw`` with each ``a.b.c=value`` set (value parsed as YAML).

    Keys may index lists: ``arrivals.schedule[1].rate=3`` (or ``arrivals.schedule.1.rate``).

    Raises:
        UserError: an override without ``=``, through a scalar, or past a list's end.
    """
    out: dict[str, Any] = json.loads(json.dumps(raw))
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. "
                            "allocator.budget_rate=200")
        try:
            value = load_yaml(text) if text else None
        except YamlRefused as exc:
            raise UserError(f"--set {key}: {exc}") from None
        except yaml.YAMLError:
            value = text
        _set(item, out, _steps(item, key), value)
    return out


def _rebase(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative pool, trace (each stream's trace and its fallback too) and output.dir paths
    are taken from the scenario file's folder."""
    pool = raw.get("pool")
    if isinstance(pool, str):
        raw["pool"] = pool = {"source": pool}
    if isinstance(pool, dict) and isinstance(pool.get("source"), str) \
            and not is_embedded(pool["source"]) and not Path(pool["source"]).is_absolute():
        pool["source"] = str(base / pool["source"])
    streams = raw.get("streams")
    for arr in [raw.get("arrivals")] + ([s.get("arrivals") for s in streams
                                         if isinstance(s, dict)]
                                        if isinstance(streams, list) else []):
        for key in ("path", "fallback"):
            if isinstance(arr, dict) and isinstance(arr.get(key), str) \
                    and not Path(arr[key]).is_absolute():
                arr[key] = str(base / arr[key])
    out = raw.get("output")
    if isinstance(out, dict) and isinstance(out.get("dir"), str) \
            and not Path(out["dir"]).is_absolute():
        out["dir"] = str(base / out["dir"])
    return raw


def parse_scenario(raw: Mapping[str, Any], overrides: Sequence[str] = ()) -> Scenario:
    """Validate a scenario mapping (after ``overrides``).

    Raises:
        UserError: one line naming the YAML path of the first problem.
    """
    data = apply_overrides(dict(raw), overrides)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise UserError(format_error(exc)) from None


def read_yaml_mapping(path: Path, what: str, shape: str, empty_ok: bool = False
                      ) -> dict[str, Any]:
    """The YAML mapping in ``path`` (a scenario or sweep file).

    Args:
        path: the file.
        what: its kind in messages, e.g. ``"sweep file"``.
        shape: the message when the document is not a mapping.
        empty_ok: an empty file is an empty mapping (else an error).

    Raises:
        UserError: missing file, bad YAML (with the line), a duplicate key, nesting too
            deep, an alias bomb (see :mod:`simulator.scenario.yamlread`), or not a mapping.
    """
    if not path.is_file():
        raise UserError(f"{path}: {what} not found")
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the {what} ({exc}); check the file") from None
    except YamlRefused as exc:
        raise UserError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{where}") from None
    if raw is None and empty_ok:
        raw = {}
    if not isinstance(raw, dict):
        raise UserError(f"{path}: {shape}")
    return raw


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, override and validate the scenario YAML at ``path``.

    Raises:
        UserError: missing/unreadable file, bad YAML, or an invalid scenario.
    """
    p = Path(path)
    raw = read_yaml_mapping(p, "scenario file",
                            "a scenario is a mapping of sections (pool, stream, ...)",
                            empty_ok=True)
    raw.setdefault("name", p.stem)
    # Paths in the file are relative to the file; paths given with --set to the cwd.
    data = apply_overrides(_rebase(raw, p.resolve().parent), overrides)
    return parse_scenario(data)


def dump_scenario(scenario: Scenario) -> str:
    """The fully resolved scenario (every default filled in) as YAML text."""
    data = scenario.model_dump(mode="json")
    if scenario.streams is None:
        del data["streams"]
    else:  # several streams: 'stream' and 'arrivals' do not apply
        del data["stream"], data["arrivals"]
    return yaml.safe_dump(data, sort_keys=False)


def scenario_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file, for editors."""
    schema = Scenario.model_json_schema()
    schema["title"] = "clearsim scenario"
    # one stream ('arrivals', with 'stream') or several ('streams'), never both
    schema["oneOf"] = [{"required": ["arrivals"], "not": {"required": ["streams"]}},
                       {"required": ["streams"], "not": {"required": ["arrivals"]}}]
    return schema

