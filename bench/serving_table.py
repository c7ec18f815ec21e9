"""Policies x KV memory on a reasoning-scale scenario on one H100 preset (issue 11).

Runs ``scenarios/reasoning-h100-memory.yaml`` (h100-mistral-nemo-12b, mostly hard
queries at ~3,200 tokens per query, lognormal patience) for uniform, clear,
clear-calibrated and oracle, each with unlimited KV memory (``kv_tokens: null``),
on-demand admission (vLLM: preempt and recompute when memory fills) and reserve-cap
admission (admit only when prompt + cap fits), same seed (common random numbers).
Prints a markdown table: accuracy, abandonment, timed-out rate, p50/p95 time to
outcome over all arrivals (s) and preemptions.

``--routers`` instead runs ``scenarios/reasoning-h100-replicas.yaml`` (two H100
replicas) for each router and admission mode, with the same columns plus the mean KV
utilisation of each replica.

Usage: python bench/serving_table.py [--scenario PATH] [--seed 0] [--duration 600]
       python bench/serving_table.py --routers
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.des.runner import run
from simulator.scenario.io import load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[1]
POLICIES = ("uniform", "clear", "clear-calibrated", "oracle")
MEMORY = (("unlimited", None), ("on-demand", "on-demand"), ("reserve-cap", "reserve-cap"))
ROUTERS = ("round-robin", "least-loaded", "least-kv")


def _cells(s: dict[str, object]) -> str:
    return (f"{s['accuracy']:.3f} | {s['abandonment_rate']:.3f} | "
            f"{s['timed_out_rate']:.3f} | {s['time_to_outcome_p50']:.1f} | "
            f"{s['time_to_outcome_p95']:.1f} | {s['preemptions']}")


def routers(sets: list[str]) -> None:
    """Routers x admission on the two-replica scenario."""
    base = load_scenario(REPO / "scenarios" / "reasoning-h100-replicas.yaml", sets)
    print(f"scenario {base.name}, {base.gpu.replicas} x {base.gpu.preset}, kv_tokens "
          f"{base.gpu.kv_tokens:,} each, policy {base.allocator.policy}, seed {base.seed}\n")
    print("| router | admission | accuracy | abandoned | timed out | "
          "time to outcome p50 (s) | p95 (s) | preemptions | KV utilisation per replica |")
    print("|---|---|---|---|---|---|---|---|---|")
    for router in ROUTERS:
        for admission in ("on-demand", "reserve-cap"):
            data = base.model_dump()
            data["gpu"].update(router=router, admission=admission)
            s = run(parse_scenario(data)).summary
            kv = ", ".join(f"{u:.2f}" for u in s["kv_utilisation_by_replica"])
            print(f"| {router} | {admission} | {_cells(s)} | {kv} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(REPO / "scenarios" /
                                              "reasoning-h100-memory.yaml"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--routers", action="store_true",
                    help="routers x admission on the two-replica scenario instead")
    args = ap.parse_args()
    sets = [f"seed={args.seed}"] + ([] if args.duration is None
                                    else [f"duration={args.duration}"])
    if args.routers:
        routers(sets)
        return
    base = load_scenario(args.scenario, sets)
    print(f"scenario {base.name}, gpu preset {base.gpu.preset}, kv_tokens "
          f"{base.gpu.kv_tokens:,}, seed {base.seed}\n")
    print("| policy | KV memory | accuracy | abandoned | timed out | "
          "time to outcome p50 (s) | p95 (s) | preemptions |")
    print("|---|---|---|---|---|---|---|---|")
    for policy in POLICIES:
        for label, admission in MEMORY:
            data = base.model_dump()
            data["allocator"]["policy"] = policy
            data["allocator"]["params"] = {}
            if admission is None:
                data["gpu"]["kv_tokens"] = None
            else:
                data["gpu"]["admission"] = admission
            s = run(parse_scenario(data)).summary
            print(f"| {policy} | {label} | {_cells(s)} |")


if __name__ == "__main__":
    main()
