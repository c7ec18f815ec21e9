"""Pacing's step size: accuracy and p50 time to outcome per seed on one scenario.

    python bench/online_steps.py scenarios/balanced.yaml 0.01 0.02 0.05 0.1

Prints one line per step: accuracy/p50 time to outcome (s) for seeds 0-4 and the mean
accuracy (common random numbers: the same arrivals for every step).
"""

from __future__ import annotations

import sys

from simulator import load_scenario
from simulator.des.runner import run


def main(path: str, steps: list[float], seeds: int = 5) -> None:
    base = load_scenario(path)
    for step in steps:
        cells, accs = [], []
        for seed in range(seeds):
            res = run(base.model_copy(update={"seed": seed}), "pacing", {"step": step})
            p50 = res.queries["latency"].quantile(0.5, "linear")
            accs.append(float(res.summary["accuracy"]))
            cells.append(f"{accs[-1]:.4f}/{p50:.2f}")
        print(f"step {step}: {' '.join(cells)}  mean accuracy {sum(accs) / len(accs):.4f}")


if __name__ == "__main__":
    main(sys.argv[1], [float(x) for x in sys.argv[2:]])
