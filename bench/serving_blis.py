"""Cross-simulator check: BLIS's golden workloads on clearsim's serving engine.

BLIS (github.com/inference-sim/inference-sim) is a vLLM-faithful discrete-event
simulator; ``../shared/data/serving/blis/goldendataset.json`` holds its own simulated
metrics for fixed workloads (see that folder's PROVENANCE.md). Each workload is replayed
here on :class:`simulator.serving.fluid.FluidGpu` with the same arrivals, length
distributions, KV blocks, block size, max_num_seqs, max_num_batched_tokens and alpha
overheads, and a step time mapped from BLIS's (docs/serving.md, "Cross-simulator check";
the mapping is :mod:`simulator.serving.blis`):

* ``roofline``: BLIS's roofline backend, which is what produced the golden metrics,
  linearised into s0, s1, s2 and p1;
* ``beta``: the blackbox beta coefficients stored with each workload (constant, per
  prefill token, per decode token) as s0, p1, s1 (s2 = 0). BLIS did not use them for
  these metrics, so this row shows what they would predict, not a like-for-like check.

Per workload it prints clearsim's and BLIS's output throughput (tokens/s), TTFT mean,
E2E mean and p99 (ms) and the relative errors, a reason for each workload missing the
target (throughput within 5%, E2E mean within 10%), and a summary line per mapping.

    .venv/bin/python bench/serving_blis.py
    .venv/bin/python bench/serving_blis.py --mapping roofline --golden PATH
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulator.des.gpu_trace import run_blis  # noqa: E402
from simulator.serving import blis  # noqa: E402

GOLDEN = REPO.parent / "shared" / "data" / "serving" / "blis" / "goldendataset.json"
THROUGHPUT_TARGET = 0.05
E2E_TARGET = 0.10


def rel(ours: float, theirs: float) -> float:
    """Relative error of ours against BLIS's."""
    return ours / theirs - 1.0 if theirs else float("nan")


def decode_step_ms(w: blis.Workload, fields: dict[str, float]) -> tuple[float, float]:
    """(batch size n, decode step ms) at the workload's typical batch: n by Little's
    law from BLIS's rate and E2E mean, each with context prefix + prompt + half its
    output."""
    n = w.rate * w.metrics["e2e_mean_ms"] / 1e3
    ctx = w.prefix + w.prompt[0] + w.output[0] / 2
    s1 = fields["s1"] - (fields["s2"] * w.cached)  # s1 includes the cached prefix reads
    step = fields["s0"] + s1 * n + fields["s2"] * n * ctx
    return n, step * 1e3


def reason(w: blis.Workload, mapping: str, fields: dict[str, float],
           errs: dict[str, float]) -> str:
    """A short reason for a workload that misses the target."""
    if mapping == "beta" and w.approach != "blackbox":
        roof = blis.gpu_fields(w, "roofline")
        n, ours = decode_step_ms(w, fields)
        _, theirs = decode_step_ms(w, roof)
        return (f"BLIS made these metrics with its {w.approach} step time, not beta: "
                f"beta gives a {ours:.2f} ms decode step at n={n:.0f}, the roofline "
                f"{theirs:.2f} ms")
    if fields["p1"] > 1e-6:
        return ("compute-bound chunked prefill: BLIS takes max(compute, memory) per "
                "step, clearsim adds s0 to the prefill compute")
    return f"unexplained (throughput {errs['thr']:+.1%}, E2E mean {errs['e2e']:+.1%})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="example: .venv/bin/python bench/serving_blis.py "
                                        "--mapping roofline")
    ap.add_argument("--golden", type=Path, default=GOLDEN, help="BLIS goldendataset.json")
    ap.add_argument("--mapping", choices=(*blis.MAPPINGS, "both"), default="both",
                    help="step-time mapping (default both: roofline, then beta)")
    args = ap.parse_args(argv)
    if not args.golden.exists():
        print(f"serving_blis: {args.golden} not found (the shared data folder is absent); "
              "nothing to check")
        return 0
    try:
        workloads = blis.load(args.golden)
    except ValueError as e:
        print(f"serving_blis: error: {e}", file=sys.stderr)
        return 2
    mappings = blis.MAPPINGS if args.mapping == "both" else (args.mapping,)
    print(f"golden: {args.golden} ({len(workloads)} workloads); target: throughput within "
          f"{THROUGHPUT_TARGET:.0%}, E2E mean within {E2E_TARGET:.0%}")
    for mapping in mappings:
        cpu0 = time.process_time()
        print(f"\n== mapping: {mapping}")
        print(f"{'workload':40} {'thr tok/s':>17} {'err':>6} {'TTFT ms':>13} {'err':>6} "
              f"{'E2E mean ms':>15} {'err':>6} {'E2E p99 ms':>15} {'err':>6}  ok")
        print(f"{'':40} {'ours / BLIS':>17} {'':>6} {'ours / BLIS':>13} {'':>6} "
              f"{'ours / BLIS':>15} {'':>6} {'ours / BLIS':>15}")
        misses = []
        worst = {"thr": 0.0, "e2e": 0.0}
        for w in workloads:
            ours, times, seed, fields = run_blis(w, mapping)
            b = w.metrics
            errs = {"thr": rel(ours["tokens_per_sec"], b["tokens_per_sec"]),
                    "ttft": rel(ours["ttft_mean_ms"], b["ttft_mean_ms"]),
                    "e2e": rel(ours["e2e_mean_ms"], b["e2e_mean_ms"]),
                    "p99": rel(ours["e2e_p99_ms"], b["e2e_p99_ms"])}
            ok = abs(errs["thr"]) <= THROUGHPUT_TARGET and abs(errs["e2e"]) <= E2E_TARGET
            for k in worst:
                worst[k] = max(worst[k], abs(errs[k]))
            name = f"{w.name[:36]} tp{w.tp}"
            print(f"{name:40} {ours['tokens_per_sec']:8.1f}/{b['tokens_per_sec']:<8.1f} "
                  f"{errs['thr']:+6.1%} {ours['ttft_mean_ms']:6.2f}/{b['ttft_mean_ms']:<6.2f} "
                  f"{errs['ttft']:+6.1%} {ours['e2e_mean_ms']:7.1f}/{b['e2e_mean_ms']:<7.1f} "
                  f"{errs['e2e']:+6.1%} {ours['e2e_p99_ms']:7.1f}/{b['e2e_p99_ms']:<7.1f} "
                  f"{errs['p99']:+6.1%}  {'yes' if ok else 'MISS'}")
            print(f"{'':4}draw seed {seed} (tokens in {ours['total_input_tokens']:.0f} vs "
                  f"{b['total_input_tokens']:.0f}, out {ours['total_output_tokens']:.0f} vs "
                  f"{b['total_output_tokens']:.0f}); s0 {fields['s0'] * 1e3:.3f} ms, s1 "
                  f"{fields['s1'] * 1e6:.3f} us, s2 {fields['s2'] * 1e9:.2f} ns, p1 "
                  f"{fields['p1'] * 1e6:.3f} us; ITL mean {ours['itl_mean_ms']:.3f} vs "
                  f"{b['itl_mean_ms']:.3f} ms; preemptions {int(times.preemptions.sum())}")
            if not ok:
                why = reason(w, mapping, fields, errs)
                misses.append(w.name)
                print(f"{'':4}miss: {why}")
        print(f"summary {mapping}: {len(workloads) - len(misses)}/{len(workloads)} within "
              f"target; worst |throughput err| {worst['thr']:.1%}, worst |E2E mean err| "
              f"{worst['e2e']:.1%}; CPU {time.process_time() - cpu0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
