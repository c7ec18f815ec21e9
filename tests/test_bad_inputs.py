"""A corpus of bad inputs across every command, run in-process.

Each case: the arguments (files are made in a fresh folder that is also the working
directory), and a word the error must contain. Every case must exit 2 with one line on
stderr, no traceback, nothing written into the folder, within 5 s of its start.
``pytest -s tests/test_bad_inputs.py -k table`` prints the result table.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from simulator.cli.main import main
from tests.sweep_helpers import TINY_SCENARIO

SCEN = yaml.safe_dump(TINY_SCENARIO, sort_keys=False)
CSV_HEAD = "id,benchmark,length,correct\n"
SWEEP = ("kind: frontier\nbase: {pool: default, stream: balanced, n: 50, mean_budget: 256, "
         "policy: clear}\nstore: store\n")
BOMB = "\n".join(["a0: &a0 [" + ", ".join(["1"] * 10) + "]"] +
                 [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)])

FILES: dict[str, str] = {
    "s.yaml": SCEN,
    "dup.yaml": SCEN + "seed: 1\nseed: 2\n",
    "bomb.yaml": SCEN + BOMB + "\n",
    "deep.yaml": SCEN + "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "list.yaml": "- a\n- b\n",
    "badyaml.yaml": "arrivals: {kind: poisson\n",
    "trace.txt": "0.5\n1.0\ninf\n",
    "inf.csv": CSV_HEAD + "a,x,100,1\na,x,inf,0\n",
    "huge.csv": CSV_HEAD + "a,x,100,1\na,x,1e400,0\n",
    "frac.csv": CSV_HEAD + "a,x,100,1\na,x,2.5,0\n",
    "ok.csv": CSV_HEAD + "a,x,100,1\na,x,50,0\nb,x,70,1\n",
    "gen/generation.jsonl": '{"id": 1, "response_length": [1e400, 3], "correct": [true, false]}\n',
    "big.sweep.yaml": SWEEP + "axes:\n  mean_budget: [" + ", ".join(map(str, range(1, 101)))
    + "]\n  n: [" + ", ".join(map(str, range(10, 110))) + "]\nseeds: ["
    + ", ".join(map(str, range(20))) + "]\n",
    "inf.sweep.yaml": SWEEP + "axes:\n  mean_budget: [64, .inf]\n",
    "dup.sweep.yaml": SWEEP + "store: other\n",
    "afile": "not a folder\n",
    "notamodel.pt": "garbage\n",
}

# (id, argv, word the one-line error must contain)
CASES: list[tuple[str, list[str], str]] = [
    # run: files
    ("run-missing-file", ["run", "nope.yaml"], "not found"),
    ("run-duplicate-key", ["run", "dup.yaml"], "duplicate key 'seed'"),
    ("run-alias-bomb", ["run", "bomb.yaml"], "aliases"),
    ("run-deep-nesting", ["run", "deep.yaml"], "nested more than"),
    ("run-not-a-mapping", ["run", "list.yaml"], "mapping"),
    ("run-bad-yaml", ["run", "badyaml.yaml"], "not valid YAML at line"),
    # run: numbers
    ("run-rate-inf", ["run", "s.yaml", "--set", "arrivals.rate=.inf"], "arrivals.rate"),
    ("run-rate-negative", ["run", "s.yaml", "--set", "arrivals.rate=-1"], "arrivals.rate"),
    ("run-budget-nan", ["run", "s.yaml", "--set", "allocator.budget_rate=.nan"], "budget_rate"),
    ("run-window-huge", ["run", "s.yaml", "--set", "allocator.window=1e300"], "at most 1e+09"),
    ("run-gpu-s1-huge", ["run", "s.yaml", "--set", "gpu.s1=1e308"], "gpu.s1"),
    ("run-gamma-cv-inf", ["run", "s.yaml", "--set", "arrivals={kind: gamma, rate: 2, cv: .inf}"],
     "arrivals.cv"),
    ("run-mix-weight-huge", ["run", "s.yaml", "--set", "stream=[1, 1, 1, 1e300]"], "stream.mix"),
    ("run-kappa-inf", ["run", "s.yaml", "--set", "allocator.params.kappa=.inf"], "kappa"),
    ("run-sigma-nan", ["run", "s.yaml", "--set", "predictor.params.sigma=.nan"], "sigma"),
    ("run-piecewise-inf", ["run", "s.yaml", "--set",
                           "arrivals={kind: piecewise, schedule: [{time: 0, rate: .inf}]}"],
     "finite"),
    ("run-trace-inf", ["run", "s.yaml", "--set", "arrivals={kind: trace, path: trace.txt}",
                       "--out", "o"], "line 3"),
    # run: sizes
    ("run-tiny-period", ["run", "s.yaml", "--set", "allocator.period=1e-7"], "allocator ticks"),
    ("run-huge-n", ["run", "s.yaml", "--set", "n_queries=1e12"], "arrivals"),
    ("run-tiny-gpu-window", ["run", "s.yaml", "--set", "output.gpu_window=1e-9"], "GPU windows"),
    ("run-limit-zero", ["run", "s.yaml", "--set", "limits.max_ticks=0"], "limits.max_ticks"),
    # run: keys and paths
    ("run-unknown-key", ["run", "s.yaml", "--set", "bogus=1"], "unknown key"),
    ("run-set-no-equals", ["run", "s.yaml", "--set", "seed"], "KEY.PATH=VALUE"),
    ("run-set-deep", ["run", "s.yaml", "--set", "seed=" + "[" * 200], "nested more than"),
    ("run-out-under-file", ["run", "s.yaml", "--out", "afile/o"], "not a folder"),
    ("run-out-is-file", ["run", "s.yaml", "--out", "afile"], "not a folder"),
    # compare
    ("compare-twice", ["compare", "s.yaml", "--policies", "uniform,uniform"], "more than once"),
    ("compare-unknown-policy", ["compare", "s.yaml", "--policies", "nosuch"], "unknown policy"),
    ("compare-out-file", ["compare", "s.yaml", "--policies", "uniform", "--out", "afile"],
     "not a folder"),
    ("compare-param-inf", ["compare", "s.yaml", "--policies", "clear", "--param",
                           "clear.kappa=.inf", "--out", "c"], "finite"),
    # frontier
    ("frontier-budget-inf", ["frontier", "--budgets", "64,inf"], "finite"),
    ("frontier-budget-negative", ["frontier", "--budgets", "-5"], ">= 0"),
    ("frontier-huge-n", ["frontier", "--n", "100000000000"], "GB of memory"),
    ("frontier-noise-nan", ["frontier", "--noise", "nan"], "finite"),
    ("frontier-n-zero", ["frontier", "--n", "0"], ">= 1"),
    ("frontier-stream", ["frontier", "--stream", "1,2"], "--stream"),
    ("frontier-out-under-file", ["frontier", "--out", "afile/f.parquet"], "is a file"),
    ("frontier-param-yaml", ["frontier", "--param", "clear.kappa=["], "not valid YAML"),
    ("frontier-kappa-huge", ["frontier", "--param", "clear.kappa=1e300"], "kappa"),
    # stress-noise
    ("stress-sigma-nan", ["stress-noise", "--sigmas", "0,nan", "--out", "st"], "finite"),
    ("stress-compare-twice", ["stress-noise", "--compare", "clear,clear", "--out", "st"],
     "more than once"),
    ("stress-seeds-zero", ["stress-noise", "--seeds", "0", "--out", "st"], ">= 1"),
    ("stress-out-file", ["stress-noise", "--out", "afile"], "not a folder"),
    ("stress-huge-n", ["stress-noise", "--n", "10000000", "--out", "st"], "GB of memory"),
    ("stress-max-memory-zero", ["stress-noise", "--max-memory", "0", "--out", "st"], "> 0"),
    # pool
    ("pool-length-inf", ["pool", "import", "inf.csv", "-o", "p.parquet"], "column 'length'"),
    ("pool-length-1e400", ["pool", "import", "huge.csv", "-o", "p.parquet"], "row 2"),
    ("pool-length-fraction", ["pool", "import", "frac.csv", "-o", "p.parquet"], "integer"),
    ("pool-thip-1e400", ["pool", "import", "gen/generation.jsonl", "-o", "p.parquet"],
     "response_length"),
    ("pool-empty-benchmark", ["pool", "import", "ok.csv", "-o", "p.parquet", "--benchmark", ""],
     "empty"),
    ("pool-missing-source", ["pool", "import", "nope.csv", "-o", "p.parquet"], "nope.csv"),
    ("pool-out-folder", ["pool", "import", "ok.csv", "-o", "."], "is a folder"),
    ("pool-inspect-missing", ["pool", "inspect", "nope.parquet"], "not found"),
    # predictor
    ("train-test-frac", ["predictor", "train", "--out", "m.pt", "--test-frac", "1.5"],
     "--test-frac"),
    ("train-epochs-zero", ["predictor", "train", "--out", "m.pt", "--epochs", "0"], ">= 1"),
    ("evaluate-missing-model", ["predictor", "evaluate", "--model", "nope.pt"], "not found"),
    ("evaluate-garbage-model", ["predictor", "evaluate", "--model", "notamodel.pt"],
     "not a readable model"),
    # sweep
    ("sweep-huge-grid", ["sweep", "big.sweep.yaml"], "sweep cells"),
    ("sweep-axis-inf", ["sweep", "inf.sweep.yaml"], "finite"),
    ("sweep-duplicate-key", ["sweep", "dup.sweep.yaml"], "duplicate key 'store'"),
    ("sweep-status-file", ["sweep", "status", "afile"], "is a file"),
    ("sweep-status-missing", ["sweep", "status", "nothere"], "not a sweep store"),
    # capacity and report
    ("capacity-hi-inf", ["capacity", "s.yaml", "--slo", "accuracy>=0.3", "--param",
                         "arrivals.rate", "--hi", "inf"], "finite"),
    ("capacity-bad-slo", ["capacity", "s.yaml", "--slo", "garbage", "--param", "arrivals.rate"],
     "--slo"),
    ("report-missing-input", ["report", "nothere", "--out", "r.html"], "nothere"),
    ("report-out-under-file", ["report", "nothere", "--out", "afile/r.html"], "is a file"),
]
RESULTS: list[tuple[str, int, float, str]] = []


def _listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*")
            if "__pycache__" not in p.parts}


@pytest.mark.parametrize("argv,word", [(a, w) for _, a, w in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str], argv: list[str], word: str,
                   request: pytest.FixtureRequest) -> None:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)
    t0 = time.perf_counter()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse type errors exit from the parser
        code = int(exc.code or 0)
    seconds = time.perf_counter() - t0
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    RESULTS.append((request.node.callspec.id, code, seconds, lines[0] if lines else ""))
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert word in lines[0], lines[0]
    assert _listing(tmp_path) == before, "something was written"
    assert seconds < 5.0, f"took {seconds:.1f} s"


def test_table() -> None:
    """The result table of the corpus (run after it in the same session)."""
    if not RESULTS:
        pytest.skip("run with the corpus")
    width = max(len(r[0]) for r in RESULTS)
    print(f"\n{'case':<{width}}  exit  seconds  message")
    for case, code, seconds, line in RESULTS:
        print(f"{case:<{width}}  {code:>4}  {seconds:7.2f}  {line[:150]}")
    assert len(RESULTS) >= 40
