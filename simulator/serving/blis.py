"""BLIS golden workloads as clearsim serving inputs (docs/serving.md, "Cross-simulator check").

BLIS (github.com/inference-sim/inference-sim, Apache-2.0) is a discrete-event simulator
of vLLM. Its ``goldendataset.json`` lists fixed workloads with BLIS's own simulated
metrics. This module reads that file (an importer: json and numpy only, no engine) and
maps each workload onto the ``gpu`` fields and a request list for
:class:`~simulator.serving.fluid.FluidGpu`; :mod:`simulator.des.replay` runs them.

What a golden workload means in BLIS (its ``sim/simulator_test.go`` at commit f90a1e3a):

* arrivals are deterministic, one every 1 / ``rate`` s from 0;
* each input is ``prefix_tokens`` shared tokens + a prompt, each output a length, both
  clamped Gaussians rounded to integers. BLIS's Go random stream cannot be reproduced,
  so :func:`draw` uses numpy and :func:`nearest_draw` takes, among a fixed set of seeds,
  the draw whose total input and output tokens are nearest BLIS's reported totals;
* the shared prefix is cached after the first request (whole blocks only): later
  requests prefill only the rest, and every sequence still reads the prefix's KV;
* the first output token comes from the prefill step; L output tokens take L - 1
  decode steps after it;
* alpha overheads (us): a request reaches the queue alpha0 + alpha1 x input tokens after
  it arrives; each output token is reported alpha2 later than its step ends (this
  counts in TTFT, ITL and E2E, not in the engine's clock or the run's duration);
* the step time is BLIS's ``roofline`` backend (the ``approach`` field), computed for a
  fixed Llama-like model config and H100 calibration (:data:`ROOFLINE`), divided by
  ``tp``; the ``beta-coeffs`` stored with each test are not what produced its metrics.

Two step-time mappings (:func:`gpu_fields`):

* ``roofline``: the roofline linearised. A decode step reads every weight once and each
  sequence's KV and activations: s0 = weight bytes / bandwidth, s1 = (KV + activation
  bytes per token) / bandwidth, s2 = KV bytes per token / bandwidth. The shared prefix
  every sequence reads adds s2 x cached prefix to s1. Prefill: p1 = the prompt's
  activation traffic per token (its KV is in s2 x C from admission) when the workload's
  typical prefill step is memory-bound, or
  its compute per token (at the prefill MFU, with attention at the mean context) when it
  is compute-bound. BLIS takes max(compute, memory) per step; clearsim adds, so a
  compute-bound prefill step is charged s0 more than BLIS charges;
* ``beta``: BLIS's blackbox coefficients (constant, per prefill token, per decode token):
  s0 = beta0, p1 = beta1, s1 = beta2, s2 = 0.

Both use the test's KV blocks (minus the cached prefix's one shared copy), block size,
max_num_seqs and max_num_batched_tokens (chunked prefill), and no watermark (BLIS has
none).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MAPPINGS", "ROOFLINE", "Draw", "Workload", "blis_metrics", "draw", "engine_requests",
           "gpu_fields",
           "load", "nearest_draw"]

MAPPINGS = ("roofline", "beta")

ROOFLINE = {  # BLIS sim/simulator_test.go rooflineModelConfig / rooflineHWCalib (f90a1e3a)
    "layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "bytes": 2,
    "tflops": 989.0, "bandwidth_tbs": 3.35, "mfu_prefill": 0.55, "mfu_decode": 0.30,
}
"""The model and hardware figures BLIS's golden test gives its roofline backend for every
workload (the workload's ``model`` and ``hardware`` are labels there): MLP size 4 x
hidden, two MLP matrices, bf16."""

US = 1e-6
DRAW_SEEDS = 400
"""Seeds tried by :func:`nearest_draw` (0 .. DRAW_SEEDS - 1)."""

_INT_FIELDS = ("num-requests", "prefix_tokens", "prompt_tokens", "prompt_tokens_stdev",
               "prompt_tokens_min", "prompt_tokens_max", "output_tokens",
               "output_tokens_stdev", "output_tokens_min", "output_tokens_max", "tp",
               "seed", "max-num-seqs", "max-num-batched-tokens", "total-kv-blocks",
               "block-size-in-tokens")
_METRICS = ("completed_requests", "total_input_tokens", "total_output_tokens",
            "vllm_estimated_duration_s", "responses_per_sec", "tokens_per_sec",
            "e2e_mean_ms", "e2e_p99_ms", "ttft_mean_ms", "itl_mean_ms")


@dataclass(frozen=True)
class Workload:
    """One golden test: its workload, limits, coefficients and BLIS's metrics."""

    name: str
    rate: float
    n: int
    prefix: int
    prompt: tuple[int, int, int, int]   # mean, stdev, min, max (tokens)
    output: tuple[int, int, int, int]
    seed: int
    max_seqs: int
    max_batched_tokens: int
    kv_blocks: int
    block_size: int
    tp: int
    alpha: tuple[float, float, float]   # us, us per input token, us per output token
    beta: tuple[float, float, float]    # us, us per prefill token, us per decode token
    approach: str
    metrics: dict[str, float]

    @property
    def cached(self) -> int:
        """Prefix tokens served from the prefix cache (whole blocks)."""
        return self.prefix // self.block_size * self.block_size


def _workload(i: int, t: Any) -> Workload:
    where = f"tests[{i}]"
    if not isinstance(t, dict):
        raise ValueError(f"{where}: expected an object")

    def num(key: str, src: dict[str, Any] = t, w: str = where) -> float:
        v = src.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                or v < 0:
            raise ValueError(f"{w}.{key}: expected a finite number >= 0 (got {v!r})")
        return float(v)

    def coeffs(key: str) -> tuple[float, float, float]:
        v = t.get(key)
        if not isinstance(v, list) or len(v) < 3:
            raise ValueError(f"{where}.{key}: expected a list of 3 numbers (got {v!r})")
        c = [num(str(k), {str(j): x for j, x in enumerate(v)}, f"{where}.{key}")
             for k in range(3)]
        return c[0], c[1], c[2]

    ints = {k: int(num(k)) for k in _INT_FIELDS}
    for k in ("num-requests", "tp", "max-num-seqs", "max-num-batched-tokens",
              "total-kv-blocks", "block-size-in-tokens"):
        if ints[k] <= 0:
            raise ValueError(f"{where}.{k}: must be > 0 (got {ints[k]})")
    if num("rate") <= 0:
        raise ValueError(f"{where}.rate: must be > 0 (got {t['rate']})")
    m = t.get("metrics")
    if not isinstance(m, dict):
        raise ValueError(f"{where}.metrics: expected an object")
    metrics = {k: num(k, m, f"{where}.metrics") for k in _METRICS}
    return Workload(
        name=f"{i}:{t.get('model', '?')}", rate=num("rate"), n=ints["num-requests"],
        prefix=ints["prefix_tokens"],
        prompt=(ints["prompt_tokens"], ints["prompt_tokens_stdev"],
                ints["prompt_tokens_min"], ints["prompt_tokens_max"]),
        output=(ints["output_tokens"], ints["output_tokens_stdev"],
                ints["output_tokens_min"], ints["output_tokens_max"]),
        seed=ints["seed"], max_seqs=ints["max-num-seqs"],
        max_batched_tokens=ints["max-num-batched-tokens"], kv_blocks=ints["total-kv-blocks"],
        block_size=ints["block-size-in-tokens"], tp=ints["tp"], alpha=coeffs("alpha-coeffs"),
        beta=coeffs("beta-coeffs"), approach=str(t.get("approach", "roofline")),
        metrics=metrics)


def load(path: str | Path) -> list[Workload]:
    """The workloads of a BLIS ``goldendataset.json``.

    Raises:
        ValueError: unreadable file or a missing/bad field (the message names it).
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read a JSON golden dataset ({e})") from None
    tests = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(tests, list) or not tests:
        raise ValueError(f"{path}: expected an object with a non-empty 'tests' list")
    return [_workload(i, t) for i, t in enumerate(tests)]


@dataclass(frozen=True)
class Draw:
    """One drawn workload: arrival (s), input and output tokens per request."""

    arrival: np.ndarray
    inputs: np.ndarray
    outputs: np.ndarray


def _gauss(rng: np.random.Generator, spec: tuple[int, int, int, int], n: int) -> np.ndarray:
    mean, sd, lo, hi = spec
    if lo == hi:
        return np.full(n, lo, dtype=np.int64)
    return np.rint(np.clip(rng.standard_normal(n) * sd + mean, lo, hi)).astype(np.int64)


def draw(w: Workload, seed: int) -> Draw:
    """The workload's requests with numpy seed ``seed`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    prompts = _gauss(rng, w.prompt, w.n)
    outputs = _gauss(rng, w.output, w.n)
    step_us = int(1.0 / (w.rate * US))  # BLIS: integer us between arrivals
    arrival = np.arange(w.n, dtype=np.float64) * step_us * US
    return Draw(arrival, prompts + w.prefix, outputs)


def nearest_draw(w: Workload, seeds: int = DRAW_SEEDS) -> tuple[int, Draw]:
    """The seed in ``range(seeds)`` whose total input and output tokens are nearest
    BLIS's (largest relative miss of the two, smallest wins) and its draw."""
    best: tuple[float, int] | None = None
    tin, tout = w.metrics["total_input_tokens"], w.metrics["total_output_tokens"]
    for s in range(seeds):
        d = draw(w, s)
        miss = max(abs(d.inputs.sum() / tin - 1) if tin else 0.0,
                   abs(d.outputs.sum() / tout - 1) if tout else 0.0)
        if best is None or miss < best[0]:
            best = (miss, s)
    assert best is not None
    return best[1], draw(w, best[1])


def _prefill_flops(tokens: float, context: float) -> float:
    """FLOPs of one prompt token at mean attention context ``context`` (roofline)."""
    r = ROOFLINE
    d, layers, heads = r["hidden"], r["layers"], r["heads"]
    dkv = r["kv_heads"] * d / heads
    gemm = 2 * (d * d + 2 * d * dkv) + 2 * d * d + 2 * 2 * d * 4 * d
    attn = 4 * heads * context * (d / heads) + 5 * heads * context + 2 * d
    return tokens * layers * (gemm + attn)


def gpu_fields(w: Workload, mapping: str = "roofline",
               mean_input: float | None = None) -> dict[str, Any]:
    """The ``gpu`` section (GpuSpec fields) for workload ``w`` under ``mapping``.

    ``mean_input``: mean input tokens of the drawn workload (default: prefix + mean
    prompt), which decides the roofline's prefill regime and attention context.

    Raises:
        ValueError: unknown mapping.
    """
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping: unknown {mapping!r}; valid: {', '.join(MAPPINGS)}")
    base: dict[str, Any] = {
        "max_seqs": w.max_seqs, "max_batched_tokens": w.max_batched_tokens,
        "block_size": w.block_size, "kv_tokens": w.kv_blocks * w.block_size - w.cached,
        "admission": "on-demand", "watermark": 0.0, "p0": 0.0,
    }
    if mapping == "beta":
        b0, b1, b2 = w.beta
        return {**base, "s0": b0 / 1e6, "s1": b2 / 1e6, "s2": 0.0, "p1": b1 / 1e6}
    r = ROOFLINE
    d, layers, heads, kvh, nb = (r["hidden"], r["layers"], r["heads"], r["kv_heads"],
                                 r["bytes"])
    dkv = kvh * d / heads
    weights = layers * (d * (d + 2 * dkv) + d * d + 2 * d * 4 * d) * nb
    kv = 2 * layers * kvh * (d / heads) * nb
    act = layers * d * nb
    bw = r["bandwidth_tbs"] * 1e12 * w.tp
    peak = r["tflops"] * 1e12 * w.tp
    s0, s2 = weights / bw, kv / bw
    s1 = (kv + act) / bw + s2 * w.cached
    mean_in = float(w.prefix + w.prompt[0]) if mean_input is None else mean_input
    new = max(mean_in - w.cached, 1.0)          # prompt tokens prefilled per request
    chunk = min(new, float(w.max_batched_tokens))
    context = w.cached + (chunk - 1) / 2.0       # mean attention context in the chunk
    compute = _prefill_flops(chunk, context) / (peak * r["mfu_prefill"])
    memory = (weights + kv * (chunk + w.cached) + act * chunk) / bw
    # memory-bound: the chunk's KV is already charged by s2 (its context is cached from
    # admission), so p1 is its activation traffic only
    p1 = compute / chunk if compute > memory else act / bw
    return {**base, "s0": s0, "s1": s1, "s2": s2, "p1": p1}


def blis_metrics(w: Workload, d: Draw, decoding: np.ndarray, left: np.ndarray,
                 end: float) -> dict[str, float]:
    """BLIS's metrics from clearsim's per-request times (s, engine clock).

    ``decoding``: when each request's prefill step ended (its first token, as BLIS
    counts it); ``left``: when its last token was generated; ``end``: the run's end.
    ``itl_mean_ms`` pools every inter-token gap (decode step + alpha2), as BLIS does.
    """
    a2 = w.alpha[2] * US
    ttft = decoding - d.arrival + a2
    e2e = left - d.arrival + a2 * d.outputs
    n = float(len(left))
    steps = float(np.sum(d.outputs - 1))
    itl = float(np.sum(left - decoding) + a2 * steps) / steps if steps else 0.0
    return {
        "itl_mean_ms": itl * 1e3,
        "completed_requests": n,
        "total_input_tokens": float(d.inputs.sum()),
        "total_output_tokens": float(d.outputs.sum()),
        "vllm_estimated_duration_s": end,
        "responses_per_sec": n / end,
        "tokens_per_sec": float(d.outputs.sum()) / end,
        "e2e_mean_ms": float(e2e.mean()) * 1e3,
        "e2e_p99_ms": float(np.percentile(e2e, 99)) * 1e3,
        "ttft_mean_ms": float(ttft.mean()) * 1e3,
    }


def engine_requests(w: Workload, d: Draw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What clearsim's GPU sees of ``d``: the time each request reaches the queue (s:
    arrival + alpha0 + alpha1 x input), the prompt tokens it prefills (the first request
    fills the prefix cache, the others prefill only the uncached rest) and the tokens it
    decodes (L - 1: BLIS's prefill step emits the first; at least 1)."""
    a0, a1, _ = w.alpha
    queued = d.arrival + (a0 + a1 * d.inputs) * US
    prompt = d.inputs - w.cached
    if len(prompt):
        prompt[0] = d.inputs[0]
    return queued, prompt, np.maximum(d.outputs - 1, 1)
