"""Reader for THIP-style ``generation.jsonl`` files (one line per problem, lists per line).

Each line holds one problem: ``id`` or ``idx``, ``problem``, optional ``level``
("Level 3"), ``prompt_length`` (tokens), and aligned lists ``response_length`` (tokens,
EOS included), ``correct`` (bool) and optional ``finish_reason`` (stop|length). The
sibling ``config.json`` gives the dataset (``data_id``) and ``max_model_len``.

The collection cap counts prompt and response together (vLLM ``max_model_len``), so a
query's response cap is ``max_model_len - prompt_length``: a rollout that finished with
``length`` has exactly that many tokens, which makes it "cut at L_max" in the sense of
model.md section 1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from simulator.checks import bad_counts
from simulator.pools.pool import PoolError

__all__ = ["BENCHMARK_ALIASES", "benchmark_name", "is_thip_line", "read_thip"]

#: Dataset or folder names (lower case) -> the benchmark names the project uses.
BENCHMARK_ALIASES: dict[str, str] = {
    "math": "math500",
    "math500": "math500",
    "aime25": "aime2025",
    "aime2025": "aime2025",
    "aime90": "aime2024",
    "aime24": "aime2024",
    "aime2024": "aime2024",
    "simplerl-minerva-math": "minerva_math",
    "minerva-math": "minerva_math",
    "minerva_math": "minerva_math",
    "minerva": "minerva_math",
}


def benchmark_name(raw: str) -> str:
    """Map a dataset id (``zwhe99/MATH``) or folder name (``aime25``) to a benchmark."""
    key = raw.rstrip("/").rsplit("/", 1)[-1].lower()
    return BENCHMARK_ALIASES.get(key, key)


def is_thip_line(record: object) -> bool:
    """True when a parsed JSON line looks like THIP (a ``response_length`` list)."""
    return isinstance(record, dict) and isinstance(record.get("response_length"), list)


def _config(path: Path) -> dict[str, Any]:
    cfg = path.parent / "config.json"
    if not cfg.is_file():
        return {}
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PoolError(f"{cfg}: not readable JSON ({exc}); fix or remove it") from None
    return data if isinstance(data, dict) else {}


def _int(path: Path, line: int, field: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or bad_counts(np.array([float(value) if abs(value) < 1e300 else np.inf]),
                          minimum)[0]:  # finite, whole, in range (a huge JSON int too)
        raise PoolError(f"{path}: line {line}, field '{field}': {value!r} is not an "
                        f"integer >= {minimum}; token counts must be whole numbers")
    return int(value)


def _level(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = re.search(r"\d+", value) if isinstance(value, str) else None
    return int(m.group()) if m else None


def read_thip(path: Path, benchmark: str | None = None,
              max_tokens: int | None = None) -> list[dict[str, Any]]:
    """One rollout record per response of a THIP ``generation.jsonl``.

    Args:
        path: the file.
        benchmark: overrides the benchmark from config.json / the folder name.
        max_tokens: response cap in tokens; default ``max_model_len - prompt_length``.

    Returns:
        Dicts with keys id, benchmark, text, level, prompt_tokens, max_tokens, length,
        correct, row (1-based line), source; ids are prefixed ``benchmark/``.

    Raises:
        PoolError: bad JSON, missing fields or mismatched lists, naming file and line.
    """
    cfg = _config(path)
    bench = benchmark or benchmark_name(str(cfg.get("data_id") or path.parent.name))
    model_len = cfg.get("max_model_len")
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise PoolError(f"{path}: line {line_no}: invalid JSON ({exc.msg}); "
                                "each line must be one JSON object") from None
            if not is_thip_line(rec):
                raise PoolError(f"{path}: line {line_no}, field 'response_length': missing "
                                "or not a list; every line needs per-response lists")
            qid = rec.get("id", rec.get("idx"))
            if qid is None:
                raise PoolError(f"{path}: line {line_no}, field 'id': missing (also no "
                                "'idx'); every problem needs an id")
            lengths, grades = rec["response_length"], rec.get("correct")
            if not isinstance(grades, list) or len(grades) != len(lengths):
                got = len(grades) if isinstance(grades, list) else "no"
                raise PoolError(f"{path}: line {line_no}, field 'correct': {got} grades for "
                                f"{len(lengths)} response lengths; the lists must align")
            prompt = rec.get("prompt_length")
            prompt = None if prompt is None else _int(path, line_no, "prompt_length", prompt, 0)
            cap = max_tokens or (int(model_len) - (prompt or 0) if model_len else None)
            for length, ok in zip(lengths, grades, strict=True):
                if not isinstance(ok, bool | int) or ok not in (0, 1):
                    raise PoolError(f"{path}: line {line_no}, field 'correct': {ok!r} is "
                                    "not a boolean grade")
                out.append({
                    "id": f"{bench}/{qid}", "benchmark": bench,
                    "text": rec.get("problem"), "level": _level(rec.get("level")),
                    "prompt_tokens": prompt, "max_tokens": cap,
                    "length": _int(path, line_no, "response_length", length, 1),
                    "correct": bool(ok), "row": line_no, "source": str(path),
                })
    if not out:
        raise PoolError(f"{path}: no problems in the file; it needs one JSON line per problem")
    return out
