"""The online acceptance table: accuracy, abandonment and time to outcome per policy.

Reads the ``comparison.json`` of ``clearsim compare`` folders (one per scenario) and
prints one Markdown table per folder: mean over seeds with the 95% t half-width, then
per seed whether every policy stays at or below ``hindsight`` and how pacing's p50 time
to outcome compares with clear's at its accuracy.

    clearsim compare scenarios/balanced.yaml --seeds 5 --out /tmp/acc/balanced \\
        --policies clear,pacing,learned-price,oracle,hindsight
    clearsim compare scenarios/burst.yaml --seeds 5 --out /tmp/acc/burst \\
        --policies clear,pacing,learned-price,oracle,hindsight
    python bench/online_table.py /tmp/acc/balanced /tmp/acc/burst
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = (("accuracy", "accuracy", "{:.4f}"), ("abandonment_rate", "abandoned", "{:.3f}"),
           ("time_to_outcome_p50", "p50 time to outcome (s)", "{:.2f}"),
           ("time_to_outcome_p95", "p95 time to outcome (s)", "{:.2f}"),
           ("latency_p50", "p50 latency, answered (s)", "{:.2f}"))


def _cell(res: dict[str, Any] | None, fmt: str) -> str:
    if res is None or res["stats"]["mean"] is None:
        return "-"
    hw = res["stats"].get("half_width")
    return fmt.format(res["stats"]["mean"]) + ("" if hw is None else " +- " + fmt.format(hw))


def table(folder: Path) -> None:
    doc = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
    rows = {(r["policy"], r["metric"]): r for r in doc["results"]}
    policies = [p["name"] for p in doc["policies"]]
    upper = {p["name"] for p in doc["policies"] if p["upper_bound"]}
    print(f"\n{doc['scenario'].get('name', folder.name)} ({folder}), seeds {doc['seeds']}\n")
    print("| policy | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for p in policies:
        label = f"{p} (upper bound)" if p in upper else p
        print(f"| {label} | " + " | ".join(_cell(rows.get((p, k)), f) for k, _, f in COLUMNS)
              + " |")
    if "hindsight" in policies:
        bound = rows[("hindsight", "accuracy")]["values"]
        for p in policies:
            if p == "hindsight":
                continue
            vals = rows[(p, "accuracy")]["values"]
            gap = min(h - v for v, h in zip(vals, bound, strict=True))
            ok = all(v <= h for v, h in zip(vals, bound, strict=True))
            print(f"{p}: <= hindsight on every seed: {ok} (smallest gap {gap:.4f})")
    if {"pacing", "clear"} <= set(policies):
        acc_p = rows[("pacing", "accuracy")]["values"]
        acc_c = rows[("clear", "accuracy")]["values"]
        p50_p = rows[("pacing", "time_to_outcome_p50")]["values"]
        p50_c = rows[("clear", "time_to_outcome_p50")]["values"]
        for s, ap, ac, tp, tc in zip(doc["seeds"], acc_p, acc_c, p50_p, p50_c, strict=True):
            print(f"seed {s}: pacing acc {ap:.4f} vs clear {ac:.4f}; p50 {tp:.2f} s vs "
                  f"{tc:.2f} s -> {'holds' if tp < tc and ap >= ac else 'FAILS'}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        table(Path(arg))
