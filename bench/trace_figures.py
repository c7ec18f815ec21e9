"""Figures of the Azure LLM code trace beside those of the project's generated trace.

    .venv/bin/python bench/trace_figures.py            # real (when ../shared has it) vs generated
    .venv/bin/python bench/trace_figures.py --real PATH

The real figures are what ``simulator/traffic/synthetic_trace.py`` records in
``FIGURES``; the generated column is ``scenarios/traces/azure-code-synthetic.csv``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "traces" / "azure-llm-2023" / \
    "AzureLLMInferenceTrace_code.csv"


def figures(path: Path) -> dict[str, object]:
    """The trace figures of an Azure-format CSV."""
    sys.path.insert(0, str(REPO))
    from simulator.traffic.synthetic_trace import figures_of
    from simulator.traffic.traces import load_trace

    tr = load_trace(str(path), "azure")
    assert tr.prompts is not None
    gen = pl.read_csv(path)["GeneratedTokens"].to_numpy()
    return asdict(figures_of(tr.times, tr.prompts, gen))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", type=Path, default=REAL)
    ap.add_argument("--generated", type=Path,
                    default=REPO / "scenarios" / "traces" / "azure-code-synthetic.csv")
    args = ap.parse_args()
    gen = figures(args.generated)
    real = figures(args.real) if args.real.is_file() else None
    print(f"{'figure':<24} {'real':>12} {'generated':>12}")
    for key, value in gen.items():
        if isinstance(value, tuple):
            for i, (p, v) in enumerate(value):
                r = real[key][i][1] if real else "-"  # type: ignore[index]
                print(f"{key[:-10] + ' q' + format(p, '.2f'):<24} {r!s:>12} {v:>12}")
        else:
            print(f"{key:<24} {(real or {}).get(key, '-')!s:>12} {value!s:>12}")


if __name__ == "__main__":
    main()
