"""The BLIS golden-workload adapter (simulator.serving.blis) and the fixed-request replay
(simulator.des.gpu_trace); one real workload when ../shared is present."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from simulator.des.gpu_trace import run_blis, run_requests
from simulator.serving import blis
from simulator.serving.spec import GpuSpec

GOLDEN = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "serving"
          / "blis" / "goldendataset.json")


def _test(**over: Any) -> dict[str, Any]:
    t: dict[str, Any] = {
        "model": "toy", "workload": "distribution", "approach": "roofline", "rate": 4,
        "num-requests": 20, "prefix_tokens": 40, "prompt_tokens": 30,
        "prompt_tokens_stdev": 10, "prompt_tokens_min": 5, "prompt_tokens_max": 60,
        "output_tokens": 12, "output_tokens_stdev": 4, "output_tokens_min": 1,
        "output_tokens_max": 30, "hardware": "H100", "tp": 2, "seed": 42,
        "max-num-seqs": 8, "max-num-batched-tokens": 512, "max-model-len": 4096,
        "total-kv-blocks": 100, "block-size-in-tokens": 16,
        "alpha-coeffs": [200.0, 2.0, 1000.0], "beta-coeffs": [5000.0, 20.0, 6.0],
        "metrics": {"completed_requests": 20, "total_input_tokens": 1400,
                    "total_output_tokens": 240, "vllm_estimated_duration_s": 5.5,
                    "responses_per_sec": 3.6, "tokens_per_sec": 43.6, "e2e_mean_ms": 100.0,
                    "e2e_p99_ms": 150.0, "ttft_mean_ms": 8.0, "itl_mean_ms": 7.0},
    }
    t.update(over)
    return t


def _write(tmp_path: Path, *tests: dict[str, Any]) -> Path:
    p = tmp_path / "golden.json"
    p.write_text(json.dumps({"tests": list(tests)}))
    return p


def test_load_and_draw(tmp_path: Path) -> None:
    (w,) = blis.load(_write(tmp_path, _test()))
    assert (w.n, w.prefix, w.tp, w.block_size, w.cached) == (20, 40, 2, 16, 32)
    assert w.alpha == (200.0, 2.0, 1000.0) and w.beta == (5000.0, 20.0, 6.0)
    d = blis.draw(w, 7)
    assert np.array_equal(d.arrival, np.arange(20) * 0.25)  # one every 1 / rate s
    prompts = d.inputs - 40
    assert prompts.min() >= 5 and prompts.max() <= 60
    assert d.outputs.min() >= 1 and d.outputs.max() <= 30
    d2 = blis.draw(w, 7)
    assert np.array_equal(d.inputs, d2.inputs) and np.array_equal(d.outputs, d2.outputs)
    seed, best = blis.nearest_draw(w, seeds=20)
    miss = max(abs(best.inputs.sum() / 1400 - 1), abs(best.outputs.sum() / 240 - 1))
    for s in range(20):
        o = blis.draw(w, s)
        assert miss <= max(abs(o.inputs.sum() / 1400 - 1), abs(o.outputs.sum() / 240 - 1))
    assert np.array_equal(best.inputs, blis.draw(w, seed).inputs)


def test_fixed_lengths_when_min_equals_max(tmp_path: Path) -> None:
    (w,) = blis.load(_write(tmp_path, _test(prompt_tokens_min=9, prompt_tokens_max=9)))
    assert set((blis.draw(w, 0).inputs - 40).tolist()) == {9}


def test_gpu_fields_beta_and_roofline(tmp_path: Path) -> None:
    (w,) = blis.load(_write(tmp_path, _test()))
    beta = blis.gpu_fields(w, "beta")
    assert (beta["s0"], beta["p1"], beta["s1"], beta["s2"]) == (5000e-6, 20e-6, 6e-6, 0.0)
    assert beta["kv_tokens"] == 100 * 16 - 32 and beta["watermark"] == 0.0
    assert (beta["max_seqs"], beta["max_batched_tokens"], beta["block_size"]) == (8, 512, 16)
    roof = blis.gpu_fields(w, "roofline")
    # 32 layers x (4096 x 6144 + 4096^2 + 2 x 4096 x 16384) params x 2 bytes, over 2 GPUs
    weights = 32 * (4096 * 6144 + 4096**2 + 2 * 4096 * 16384) * 2
    bw = 3.35e12 * 2
    kv, act = 2 * 32 * 8 * 128 * 2, 32 * 4096 * 2
    assert roof["s0"] == pytest.approx(weights / bw, rel=1e-12)
    assert roof["s2"] == pytest.approx(kv / bw, rel=1e-12)
    assert roof["s1"] == pytest.approx((kv + act) / bw + 32 * kv / bw, rel=1e-12)
    assert roof["p1"] == pytest.approx(act / bw, rel=1e-12)  # short prompts: memory-bound
    long = blis.gpu_fields(w, "roofline", mean_input=2000.0)
    assert long["p1"] > 1e-5  # long prompts: compute-bound, FLOPs at the prefill MFU
    GpuSpec(**roof)
    GpuSpec(**beta)
    with pytest.raises(ValueError, match="mapping"):
        blis.gpu_fields(w, "nope")


def test_engine_requests(tmp_path: Path) -> None:
    (w,) = blis.load(_write(tmp_path, _test()))
    d = blis.draw(w, 3)
    queued, prompt, tokens = blis.engine_requests(w, d)
    assert np.allclose(queued, d.arrival + (200 + 2 * d.inputs) * 1e-6)
    assert prompt[0] == d.inputs[0]  # the first request fills the prefix cache
    assert np.array_equal(prompt[1:], d.inputs[1:] - 32)
    assert np.array_equal(tokens, np.maximum(d.outputs - 1, 1))


def test_blis_metrics(tmp_path: Path) -> None:
    (w,) = blis.load(_write(tmp_path, _test(**{"num-requests": 2})))
    d = blis.Draw(np.array([0.0, 1.0]), np.array([50, 60]), np.array([3, 5]))
    m = blis.blis_metrics(w, d, np.array([0.01, 1.02]), np.array([0.1, 1.3]), 2.0)
    assert m["ttft_mean_ms"] == pytest.approx((11 + 21) / 2)       # + alpha2 = 1 ms
    assert m["e2e_mean_ms"] == pytest.approx((103 + 305) / 2)      # + 1 ms per token
    assert m["tokens_per_sec"] == pytest.approx(4.0)
    assert m["responses_per_sec"] == pytest.approx(1.0)
    assert m["itl_mean_ms"] == pytest.approx((90 + 280 + 6) / 6)  # 6 gaps, + 1 ms each


@pytest.mark.parametrize("field,value", [("rate", 0), ("tp", -1), ("alpha-coeffs", [1]),
                                         ("num-requests", "x"), ("metrics", None),
                                         ("beta-coeffs", [1.0, float("nan"), 2.0])])
def test_bad_golden_names_the_field(tmp_path: Path, field: str, value: Any) -> None:
    p = tmp_path / "g.json"
    t = _test(**{field: value})
    p.write_text(json.dumps({"tests": [t]}))
    with pytest.raises(ValueError, match=field.split("-")[0]):
        blis.load(p)


def test_bad_golden_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        blis.load(tmp_path / "missing.json")
    p = tmp_path / "empty.json"
    p.write_text('{"tests": []}')
    with pytest.raises(ValueError, match="tests"):
        blis.load(p)


def test_one_request_step_by_step() -> None:
    """Alone on the GPU: one prefill step (s0 + s2 P + p1 P), then g decode steps."""
    spec = GpuSpec(s0=0.004, s1=1e-5, s2=0.0, p1=2e-5, p0=0.0, max_seqs=8,
                   max_batched_tokens=512, kv_tokens=10_000, watermark=0.0)
    t = run_requests(spec, np.array([0.5]), np.array([100]), np.array([5]))
    assert t.decoding[0] == pytest.approx(0.5 + 0.004 + 100 * 2e-5, rel=1e-12)
    assert t.left[0] == pytest.approx(t.decoding[0] + 5 * (0.004 + 1e-5), rel=1e-12)
    assert t.end == pytest.approx(t.left[0]) and int(t.preemptions[0]) == 0


def test_run_requests_rejects_bad_lists() -> None:
    spec = GpuSpec(max_batched_tokens=512, kv_tokens=1000)
    with pytest.raises(ValueError, match="sorted"):
        run_requests(spec, np.array([1.0, 0.0]), np.array([1, 1]), np.array([1, 1]))
    with pytest.raises(ValueError, match="at least 1"):
        run_requests(spec, np.array([0.0]), np.array([1]), np.array([0]))


def test_small_golden_runs_end_to_end(tmp_path: Path) -> None:
    (w,) = blis.load(_write(tmp_path, _test()))
    for mapping in blis.MAPPINGS:
        m, times, _, _ = run_blis(w, mapping)
        assert m["completed_requests"] == 20
        assert np.all(times.left > times.decoding) and np.all(times.decoding >= times.started)
        assert math.isfinite(m["e2e_p99_ms"])


@pytest.mark.skipif(not GOLDEN.exists(), reason=f"{GOLDEN} absent (../shared not mounted)")
def test_real_golden_within_achieved_errors() -> None:
    """Every BLIS golden workload, roofline mapping: achieved worst 0.9% throughput and
    4.0% E2E mean (bench/serving_blis.py); asserted with margin. The beta mapping is
    far off on the first workload, because BLIS did not use beta for these metrics."""
    workloads = blis.load(GOLDEN)
    for w in workloads:
        m, times, _, _ = run_blis(w, "roofline")
        b = w.metrics
        assert m["completed_requests"] == b["completed_requests"]
        assert abs(m["tokens_per_sec"] / b["tokens_per_sec"] - 1) < 0.02, w.name
        assert abs(m["e2e_mean_ms"] / b["e2e_mean_ms"] - 1) < 0.06, w.name
        assert abs(m["ttft_mean_ms"] / b["ttft_mean_ms"] - 1) < 0.10, w.name
        assert abs(m["itl_mean_ms"] / b["itl_mean_ms"] - 1) < 0.05, w.name
        assert int(times.preemptions.sum()) == 0
    m, *_ = run_blis(workloads[0], "beta")
    assert m["e2e_mean_ms"] / workloads[0].metrics["e2e_mean_ms"] - 1 > 0.2
