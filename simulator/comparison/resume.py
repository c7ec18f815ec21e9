"""What makes a compare folder resumable: a manifest with a fingerprint, and run checks.

``compare-manifest.json`` is written into the output folder before the first run. Its
fingerprint covers the resolved base scenario, the policies with their parameters, the
seeds, the bytes of every input file the runs read (pool Parquet, arrival trace,
predictor model) and the clearsim version. ``--resume`` refuses a folder whose
fingerprint differs (a changed scenario, pool or model would mix results), and keeps
a finished run only when its ``scenario.resolved.yaml`` is exactly the one it would
write now. A run folder is complete or absent: each is staged and renamed in whole
(:func:`simulator.outdir.staged_dir`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simulator.atomic import atomic_write_text
from simulator.errors import UserError
from simulator.pools.source import DEFAULT_POOL
from simulator.scenario.models import Scenario
from simulator.version import __version__

__all__ = ["MANIFEST", "check_manifest", "fingerprint", "input_files", "write_manifest"]

MANIFEST = "compare-manifest.json"
RUN_FILES = ("queries.parquet", "ticks.parquet", "gpu.parquet", "summary.json",
             "scenario.resolved.yaml")


def input_files(scenario: Scenario) -> list[str]:
    """The files a run of ``scenario`` reads: a pool file, an arrival trace, a model."""
    model = scenario.predictor.params.get("model")
    files = [None if scenario.pool.source == DEFAULT_POOL else scenario.pool.source,
             getattr(scenario.arrivals, "path", None), model if isinstance(model, str)
             else None]
    return [f for f in files if isinstance(f, str)]


def fingerprint(scenario: Scenario, policies: Sequence[str],
                params: Mapping[str, Mapping[str, Any]], seeds: Sequence[int]) -> str:
    """16 hex digits of SHA-256 over everything a compare's results depend on.

    Raises:
        UserError: an input file cannot be read (named).
    """
    digests = []
    for f in sorted(input_files(scenario)):
        try:
            digests.append([f, hashlib.sha256(Path(f).read_bytes()).hexdigest()])
        except OSError as exc:
            raise UserError(f"{f}: {exc.strerror or exc}; check the scenario's paths") \
                from None
    blob = json.dumps([scenario.model_dump(mode="json"), list(policies),
                       {p: dict(params.get(p, {})) for p in policies}, list(seeds),
                       digests, __version__], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def write_manifest(out: Path, digest: str, policies: Sequence[str],
                   seeds: Sequence[int]) -> None:
    """Record the fingerprint (atomically) before any run starts."""
    atomic_write_text(json.dumps({"format": "clearsim-compare-manifest", "version": 1,
                                  "fingerprint": digest, "policies": list(policies),
                                  "seeds": list(seeds), "clearsim_version": __version__},
                                 indent=1) + "\n", out / MANIFEST)


def check_manifest(out: Path, digest: str) -> None:
    """Refuse to resume ``out`` unless its manifest has ``digest``.

    Raises:
        UserError: no manifest in a non-empty folder, or another fingerprint.
    """
    path = out / MANIFEST
    if not path.is_file():
        if out.is_dir() and any(p for p in out.iterdir() if not p.name.startswith(".")):
            raise UserError(f"--resume {out}: no {MANIFEST}, so it is not a compare "
                            "folder this version can resume; use --force to start over")
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8")).get("fingerprint")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        old = None
    if old != digest:
        raise UserError(f"--resume {out}: made from another scenario, policy list, seeds "
                        f"or input files (fingerprint {old}, now {digest}); use --force "
                        "to start over or another --out")


def finished(run_dir: Path, resolved_yaml: str) -> bool:
    """True when ``run_dir`` is a complete run of exactly ``resolved_yaml``."""
    if not all((run_dir / f).is_file() for f in RUN_FILES):
        return False
    return (run_dir / "scenario.resolved.yaml").read_text(encoding="utf-8") == resolved_yaml
