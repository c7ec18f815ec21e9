"""Hardware presets: the roofline derivation, overrides, `clearsim gpu`, bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from simulator.errors import UserError
from simulator.scenario.io import parse_scenario
from simulator.serving import GpuSpec
from simulator.serving.presets import MODELS, PRESETS, preset_fields


def test_qwen_figures_match_the_back_of_envelope() -> None:
    # PROVENANCE.md: 56 KiB of KV per token, ~15 GB of weights, ~4.5 ms per step and
    # ~17 ns per cached token on an H100
    m = MODELS["qwen2.5-7b"]
    assert m.kv_bytes == 57344
    f = preset_fields("h100-qwen2.5-7b")
    assert 2 * m.params / 1e9 == pytest.approx(15.2, abs=0.1)
    assert f["s0"] == pytest.approx(4.55e-3, rel=0.01)
    assert f["s2"] == pytest.approx(1.71e-8, rel=0.01)
    assert f["kv_tokens"] == int((80 * 2**30 * 0.9 - 2 * m.params) // 57344)


def test_preset_fills_and_fields_override() -> None:
    g = GpuSpec(preset="a100-llama-3.1-8b", max_seqs=64)
    want = preset_fields("a100-llama-3.1-8b")
    assert g.max_seqs == 64 and g.s0 == want["s0"] and g.kv_tokens == want["kv_tokens"]
    assert g.extended
    assert {"h100-qwen2.5-7b", "a100-qwen2.5-7b", "h100-llama-3.1-8b",
            "a100-llama-3.1-8b"} <= set(PRESETS)
    # less memory, fewer KV tokens
    small = GpuSpec(preset="a100-llama-3.1-8b", memory_gib=40)
    assert 0 < small.kv_tokens < g.kv_tokens  # type: ignore[operator]


BASE = {"arrivals": {"kind": "poisson", "rate": 1.0}, "allocator": {"budget_rate": 100.0},
        "n_queries": 5}


@pytest.mark.parametrize(("gpu", "msg"), [
    ({"preset": "h100-nope"}, "gpu.preset: unknown preset 'h100-nope'; valid: h100-qwen2.5-7b"),
    ({"preset": "h100-qwen2.5-7b", "memory_gib": 10}, "gpu: model weights"),
    ({"kv_tokens": -1}, "gpu.kv_tokens"),
    ({"s2": float("inf")}, "gpu.s2"),
    ({"watermark": float("nan")}, "gpu.watermark"),
    ({"max_batched_tokens": 8, "max_seqs": 16}, "max_batched_tokens"),
])
def test_bad_gpu_input_is_one_line(gpu: dict[str, object], msg: str) -> None:
    with pytest.raises(UserError) as info:
        parse_scenario({**BASE, "gpu": gpu})
    assert msg in str(info.value) and "\n" not in str(info.value)


def test_cli_gpu_show_and_bad_name() -> None:
    cmd = [sys.executable, "-m", "simulator.cli.main"]
    out = subprocess.run([*cmd, "gpu", "show", "h100-qwen2.5-7b"], capture_output=True,
                         text=True, check=True).stdout
    assert "kv_tokens" in out and "s per step per cached token" in out
    bad = subprocess.run([*cmd, "gpu", "show", "tpu-x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "valid: h100-qwen2.5-7b" in bad.stderr
    assert bad.stderr.count("\n") == 1
