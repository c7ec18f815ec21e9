"""The CLI starts at once: ``clearsim --help``, every command's ``--help`` and
``clearsim schema`` import no heavy library (each runs in a fresh interpreter, since
this test process has imported everything already)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: never needed to list the commands or print the scenario schema (issue 16 names torch,
#: scipy.stats and altair; the help texts list the registered policies and predictors,
#: whose modules need numpy, scipy.special and polars)
HEAVY = ("torch", "scipy.stats", "altair", "vl_convert", "simpy", "ray", "tqdm")

PROBE = """
import contextlib, io, json, sys
from simulator.cli.main import main
argv = json.loads(sys.argv[1])
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main(argv)
    except SystemExit as exc:   # --help exits 0 through argparse
        code = exc.code
heavy = json.loads(sys.argv[2])
loaded = sorted(h for h in heavy if h in sys.modules)
print(json.dumps({"code": code, "loaded": loaded, "chars": len(out.getvalue())}))
"""


def _probe(argv: list[str], heavy: tuple[str, ...] = HEAVY) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(heavy)],
                          check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# (the help texts list registry names from simulator.cli.names, not the registries)
@pytest.mark.parametrize("argv", [["--help"], ["schema"], ["run", "--help"],
                                  ["compare", "--help"], ["pool", "inspect", "--help"],
                                  ["stress-noise", "--help"], ["frontier", "--help"],
                                  ["pool", "fit", "--help"], ["gpu", "--help"]])
def test_startup_imports_nothing_heavy(argv: list[str]) -> None:
    r = _probe(argv)
    assert r["code"] == 0
    assert int(str(r["chars"])) > 200   # it printed the help or the schema
    assert r["loaded"] == [], f"clearsim {' '.join(argv)} imported {r['loaded']}"


def test_probe_sees_heavy_imports() -> None:
    """The probe can fail: a command that does work loads what it needs."""
    r = _probe(["pool", "inspect", "--json"], (*HEAVY, "polars"))
    assert r["code"] == 0
    assert "polars" in list(r["loaded"])  # type: ignore[call-overload]


def test_noise_kind_choices_are_the_experiment_registry() -> None:
    """The static ``--noise-kind`` choices are exactly NOISE_KINDS (help and checking)."""
    from simulator.cli.main import build_parser
    from simulator.experiments.stress import NOISE_KINDS

    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions)  # type: ignore[union-attr]
    stress = sub.choices["stress-noise"]  # type: ignore[index]
    action = next(a for a in stress._actions if a.dest == "noise_kind")
    assert list(action.choices) == list(NOISE_KINDS)
    assert all(k in action.choices for k in NOISE_KINDS)
    assert "nope" not in action.choices
