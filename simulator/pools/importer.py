"""Import rollout pools: find the files, read each by its format family, merge by id.

Formats (``--format``, default ``auto``: sniffed per file and reported):

- ``generic``: CSV, JSONL or Parquet with ONE ROW PER ROLLOUT (:mod:`.generic`), or a
  pool Parquet (one row per query), for merging;
- ``thip``: THIP ``generation.jsonl``, one line per problem with lists (:mod:`.thip`);
- ``lm-eval``: lm-evaluation-harness ``samples_*.jsonl`` (:mod:`.lmeval`);
- ``openai``: OpenAI-style responses or Batch API output (:mod:`.openai_jsonl`).

A directory stands for its ``generation.jsonl`` and ``samples_*.jsonl`` files; the
word ``default`` for the embedded default pool (to re-cap it). ``--map dst=src`` names
fields in any format (:mod:`.fields`); ``--tokenizer`` counts response text.

Merging: rows with the same id (across files too) become the K rollouts of one query.
The benchmark is the row's own (column or field), else ``--benchmark``, else what the
format's metadata names (THIP config.json, the lm-eval file name), else ``unknown``
(with a note). Ids are kept as written; ids that appear under several benchmarks are
prefixed ``benchmark/`` (with a note). The cap ``max_tokens`` is the row's own, else
THIP config.json, else ``--max-tokens``, else the longest length seen; a
``--max-tokens T`` below a row's cap re-caps it to T: rollouts longer than T become
cut at T and wrong (model.md section 1: correct only when finished within the cap), so
A_i(t) for t <= T is unchanged. Every error names file, column and row.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from simulator.pools.fields import ReadOptions, parse_map
from simulator.pools.generic import ROLLOUT_SCHEMA, read_generic
from simulator.pools.lmeval import is_lmeval_line, read_lmeval
from simulator.pools.openai_jsonl import is_openai_line, read_openai
from simulator.pools.pool import Pool, PoolError
from simulator.pools.thip import benchmark_name, is_thip_line, read_thip
from simulator.pools.tokens import TokenCounter

__all__ = ["FORMATS", "expand_sources", "import_pool", "read_source", "sniff"]

FORMATS = ("auto", "generic", "thip", "lm-eval", "openai")
DEFAULT = "default"
_DIR_FILES = {"auto": ("generation.jsonl", "samples_*.jsonl"), "thip": ("generation.jsonl",),
              "lm-eval": ("samples_*.jsonl",)}


def expand_sources(sources: Sequence[str | Path], fmt: str = "auto") -> list[Path]:
    """Files to read: files as given, directories searched for the format's files."""
    out: list[Path] = []
    for s in sources:
        p = Path(s)
        if p.is_dir():
            globs = _DIR_FILES.get(fmt)
            if globs is None:
                raise PoolError(f"{p}: a directory; with --format {fmt} give the files")
            found = sorted({f for g in globs for f in p.rglob(g)})
            if not found:
                raise PoolError(f"{p}: directory holds no {' or '.join(globs)}; give the "
                                "files (CSV, JSONL, Parquet) directly")
            out.extend(found)
        elif p.is_file() or str(s) == DEFAULT:
            out.append(p)
        else:
            raise PoolError(f"{p}: no such file or directory")
    return out


def _first_line(path: Path) -> object:
    with path.open(encoding="utf-8") as fh:
        first = next((ln for ln in fh if ln.strip()), "")
    try:
        return json.loads(first) if first else None
    except json.JSONDecodeError as exc:
        raise PoolError(f"{path}: line 1: invalid JSON ({exc.msg}); each line must be "
                        "one JSON object") from None


def sniff(path: Path) -> str:
    """The format family of ``path`` from its suffix and first JSON line."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq", ".csv") or str(path) == DEFAULT:
        return "generic"
    if suffix not in (".jsonl", ".ndjson", ".json"):
        raise PoolError(f"{path}: unknown file type '{suffix}'; use .csv, .jsonl or .parquet")
    try:
        head = _first_line(path)
    except UnicodeDecodeError:
        raise PoolError(f"{path}: not a readable JSONL file (not UTF-8 text)") from None
    if is_thip_line(head):
        return "thip"
    if is_lmeval_line(head):
        return "lm-eval"
    if is_openai_line(head):
        return "openai"
    return "generic"


def _read_table(path: Path) -> pl.DataFrame:
    suffix = path.suffix.lower()
    if str(path) == DEFAULT:
        from simulator.pools.source import resolve_pool

        return resolve_pool(DEFAULT).frame
    try:
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema_length=None)
        if suffix in (".jsonl", ".ndjson", ".json"):
            return pl.read_ndjson(path, infer_schema_length=None)
    except Exception as exc:  # polars raises many types for malformed files
        msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        raise PoolError(f"{path}: not a readable {suffix[1:].upper()} table "
                        f"({type(exc).__name__}: {msg})") from None
    raise PoolError(f"{path}: unknown file type '{suffix}'; use .csv, .jsonl or .parquet")


def read_source(path: Path, fmt: str, opts: ReadOptions) -> pl.DataFrame:
    """One file as a rollout frame (schema ``ROLLOUT_SCHEMA``: one row per rollout)."""
    if fmt == "thip":
        if path.suffix.lower() not in (".jsonl", ".ndjson", ".json"):
            raise PoolError(f"{path}: --format thip reads generation.jsonl files")
        return pl.DataFrame(read_thip(path, opts), schema=ROLLOUT_SCHEMA)
    if fmt == "lm-eval":
        return read_lmeval(path, opts)
    if fmt == "openai":
        return read_openai(path, opts)
    return read_generic(_read_table(path), path, opts)


def _benchmarks(rollouts: pl.DataFrame, opts: ReadOptions) -> pl.DataFrame:
    """Fill missing benchmarks (``--benchmark``, else ``unknown``); prefix colliding ids."""
    missing = int(rollouts["benchmark"].null_count())
    if missing:
        fill = benchmark_name(opts.benchmark) if opts.benchmark else "unknown"
        if not opts.benchmark:
            opts.note(f"{missing} rollouts name no benchmark: benchmark 'unknown'; pass "
                      "--benchmark NAME or --map benchmark=FIELD")
        rollouts = rollouts.with_columns(pl.col("benchmark").fill_null(fill))
    many = pl.col("benchmark").n_unique().over("id") > 1
    clash = rollouts.filter(many)
    if not clash.height:
        return rollouts
    qid = clash["id"][0]
    names = sorted(set(clash.filter(pl.col("id") == qid)["benchmark"].to_list()))
    n_ids = clash["id"].n_unique()
    opts.note(f"{n_ids} ids appear under several benchmarks (e.g. {qid!r}: "
              f"{', '.join(names)}); prefixed those ids 'benchmark/id'")
    new = pl.when(many).then(pl.col("benchmark") + "/" + pl.col("id")).otherwise(pl.col("id"))
    out = rollouts.with_columns(new.alias("id"), many.alias("_moved"))
    again = out.filter(pl.col("benchmark").n_unique().over("id") > 1)
    if again.height:
        r = again.row(0, named=True)
        raise PoolError(f"{r['source']}: column 'id', row {r['row']}: id {r['id']!r} "
                        "exists already and also results from prefixing a colliding id; "
                        "make the ids unique")
    return out.drop("_moved")


def _merge(rollouts: pl.DataFrame, opts: ReadOptions) -> pl.DataFrame:
    """Group rollouts by id into pool rows; fills and checks caps, re-caps at T."""
    rollouts = _benchmarks(rollouts, opts)
    over = rollouts.filter(pl.col("length") > pl.col("max_tokens"))
    if over.height:
        r = over.row(0, named=True)
        raise PoolError(f"{r['source']}: column 'length', row {r['row']}: length "
                        f"{r['length']} exceeds the cap max_tokens={r['max_tokens']}; "
                        "the cap of a row must hold its rollout (fix the row's cap)")
    cap = pl.col("max_tokens")
    if opts.max_tokens is not None:
        cap = pl.min_horizontal(cap.fill_null(opts.max_tokens), pl.lit(opts.max_tokens))
    seen = int(rollouts["length"].max())  # type: ignore[arg-type]
    n_open = int(rollouts.select(cap.is_null().sum()).item())
    if n_open:
        opts.note(f"{n_open} rollouts have no cap (no max_tokens column, config.json or "
                  f"--max-tokens); took the longest length seen, {seen} tokens: give "
                  "--max-tokens with the generation limit the rollouts were sampled at")
    rollouts = rollouts.with_columns(cap.fill_null(seen).alias("max_tokens"))
    longer = pl.col("length") > pl.col("max_tokens")
    n_cut = int(rollouts.select(longer.sum()).item())
    if n_cut:
        opts.note(f"re-capped at --max-tokens {opts.max_tokens}: {n_cut} rollouts longer "
                  "than it are now cut there and wrong")
        rollouts = rollouts.with_columns(
            pl.when(longer).then(pl.col("max_tokens")).otherwise(pl.col("length"))
            .alias("length"),
            (pl.col("correct") & ~longer).alias("correct"), (pl.col("cut") | longer).alias("cut"))
    # A rollout cut at its own cap (length == max_tokens, or finish_reason = length)
    # would have kept generating under the query's larger merged cap (THIP prompts
    # differ by policy), so it stays "cut at L_max": correct only at t >= L_max.
    merged_cap = pl.col("max_tokens").max().over("id")
    rollouts = rollouts.with_columns(
        pl.when((pl.col("length") == pl.col("max_tokens")) | pl.col("cut")).then(merged_cap)
        .otherwise(pl.col("length")).alias("length"))
    return rollouts.group_by("id", maintain_order=True).agg(
        pl.col("benchmark").first(),
        pl.col("text").drop_nulls().first(),
        pl.col("level").drop_nulls().first(),
        pl.col("prompt_tokens").min(),
        pl.col("max_tokens").max(),
        pl.col("length").alias("lengths"),
        pl.col("correct"),
    )


def import_pool(sources: Sequence[str | Path], benchmark: str | None = None,
                max_tokens: int | None = None, *, fmt: str = "auto",
                mapping: str | Sequence[str] | dict[str, str] | None = None,
                tokenizer: str | Path | None = None, metric: str | None = None,
                notes: list[str] | None = None) -> Pool:
    """Read, merge and validate ``sources`` into one :class:`Pool`.

    Args:
        sources: files or directories (see the module docstring), or ``"default"``.
        benchmark: benchmark name for rows that name none.
        max_tokens: the cap in tokens for rows without one; below a row's cap it re-caps.
        fmt: one of :data:`FORMATS`.
        mapping: ``--map`` text (``"length=usage.completion_tokens"``) or a dict.
        tokenizer: a tokenizer.json to count response text when no length field exists.
        metric: the lm-eval metric that grades a response.
        notes: receives one line per choice the import made on its own (for stderr).

    Raises:
        PoolError: any unreadable file or bad value, naming file, column and row.
    """
    if fmt not in FORMATS:
        raise PoolError(f"--format: unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    if max_tokens is not None and max_tokens < 1:
        raise PoolError(f"--max-tokens must be a positive token count, got {max_tokens}")
    opts = ReadOptions(mapping=dict(mapping) if isinstance(mapping, dict) else
                       parse_map(mapping), benchmark=benchmark, max_tokens=max_tokens,
                       tokenizer=None if tokenizer is None else TokenCounter(tokenizer),
                       metric=metric, notes=[] if notes is None else notes)
    files = expand_sources(sources, fmt)
    if not files:
        raise PoolError("no sources given; name at least one file or directory")
    kinds = [sniff(p) if fmt == "auto" else fmt for p in files]
    if fmt == "auto":
        count = Counter(kinds)
        if len(files) <= 3:
            for p, k in zip(files, kinds, strict=True):
                opts.note(f"{p}: the embedded default pool" if str(p) == DEFAULT
                          else f"{p}: read as --format {k}")
        else:
            opts.note("read " + ", ".join(f"{n} files as --format {k}"
                                          for k, n in count.items()))
    frames = [read_source(p, k, opts) for p, k in zip(files, kinds, strict=True)]
    label = str(files[0]) if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more)"
    return Pool.from_frame(_merge(pl.concat(frames), opts), source=label)
