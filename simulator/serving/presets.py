"""Hardware presets: a roofline of real GPU and model figures -> the ``gpu`` fields.

Sources (read, not copied as files): the hardware figures are those of BLIS
(github.com/inference-sim/inference-sim, commit f90a1e3a, ``hardware_config.json``,
Apache-2.0): peak bf16 TFLOP/s, HBM bandwidth (TB/s), calibrated prefill/decode MFU,
memory (GiB). The model figures are the Hugging Face ``config.json`` of each model
(layers, hidden size, MLP size, attention and KV heads, vocabulary), as bundled with BLIS.

Derivation (bf16, 2 bytes per element; P parameters; docs/serving.md):

* P = 2 V h (untied embedding and LM head) + L (2 h H d + 2 h K d + 3 h I), with L
  layers, hidden size h, H attention heads of dim d, K KV heads, MLP size I;
* weight bytes = 2 P; KV bytes per token = 2 (K and V) x L x K x d x 2;
* kv_tokens = (memory x 0.9 (vLLM's gpu_memory_utilization) - weight bytes) / KV bytes;
* s0 = weight bytes / HBM bandwidth (a decode step reads every weight once);
* s2 = KV bytes per token / HBM bandwidth (and reads every cached token);
* s1 = 2 P / peak FLOP/s (the decode matmuls of one more sequence; memory-bound
  steps overlap them, so no MFU discount);
* p1 = 2 P / (peak FLOP/s x prefill MFU) per prompt token; p0 = 0;
* vLLM's defaults for the rest: max_seqs 256, max_batched_tokens 8192, block 16.

For comparison, BLIS's fitted vLLM coefficients for Llama-3.1-8B on one H100 are 5.75 ms
per step, 17.25 us per prefill token and 6.0 us per decode token; this roofline gives
4.8 ms, 36 us and 16 us (``clearsim gpu show h100-llama-3.1-8b``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["GPUS", "MODELS", "PRESETS", "Gpu", "Model", "derive", "preset_fields"]

GIB = 2**30
MEMORY_UTILISATION = 0.9


@dataclass(frozen=True)
class Gpu:
    """One accelerator: peak bf16 TFLOP/s, HBM TB/s, prefill MFU, memory GiB."""

    tflops: float
    bandwidth_tbs: float
    mfu_prefill: float
    memory_gib: float


@dataclass(frozen=True)
class Model:
    """A decoder-only transformer's shape (Hugging Face config.json names in comments)."""

    layers: int        # num_hidden_layers
    hidden: int        # hidden_size
    mlp: int           # intermediate_size
    heads: int         # num_attention_heads
    kv_heads: int      # num_key_value_heads
    head_dim: int      # head_dim, or hidden_size / num_attention_heads
    vocab: int         # vocab_size

    @property
    def params(self) -> int:
        """Parameters P (embedding and LM head untied)."""
        h, d = self.hidden, self.head_dim
        layer = 2 * h * self.heads * d + 2 * h * self.kv_heads * d + 3 * h * self.mlp
        return 2 * self.vocab * h + self.layers * layer

    @property
    def kv_bytes(self) -> int:
        """KV-cache bytes per token (bf16)."""
        return 2 * self.layers * self.kv_heads * self.head_dim * 2


GPUS: dict[str, Gpu] = {  # BLIS hardware_config.json (commit f90a1e3a)
    "h100": Gpu(tflops=989.5, bandwidth_tbs=3.35, mfu_prefill=0.45, memory_gib=80.0),
    "a100": Gpu(tflops=312.0, bandwidth_tbs=2.039, mfu_prefill=0.38, memory_gib=80.0),
    "l40s": Gpu(tflops=362.05, bandwidth_tbs=0.864, mfu_prefill=0.32, memory_gib=48.0),
}
MODELS: dict[str, Model] = {  # Hugging Face config.json of each model
    "qwen2.5-7b": Model(28, 3584, 18944, 28, 4, 128, 152064),
    "llama-3.1-8b": Model(32, 4096, 14336, 32, 8, 128, 128256),
    "mistral-nemo-12b": Model(40, 5120, 14336, 32, 8, 128, 131072),
}
PRESETS: dict[str, tuple[str, str]] = {
    f"{g}-{m}": (g, m) for g in GPUS for m in MODELS
}


def derive(gpu: Gpu, model: Model) -> dict[str, Any]:
    """The ``gpu`` fields of ``model`` on ``gpu`` (see the module docstring).

    Raises:
        ValueError: the weights do not fit in the usable memory.
    """
    weights = 2.0 * model.params
    usable = gpu.memory_gib * GIB * MEMORY_UTILISATION
    if weights >= usable:
        raise ValueError(f"model weights ({weights / GIB:.1f} GiB) do not fit in "
                         f"{MEMORY_UTILISATION:.0%} of {gpu.memory_gib:g} GiB")
    bw = gpu.bandwidth_tbs * 1e12
    flops = gpu.tflops * 1e12
    return {
        "max_seqs": 256, "max_batched_tokens": 8192, "block_size": 16,
        "kv_tokens": int(math.floor((usable - weights) / model.kv_bytes)),
        "s0": weights / bw, "s1": 2.0 * model.params / flops,
        "s2": model.kv_bytes / bw, "p0": 0.0,
        "p1": 2.0 * model.params / (flops * gpu.mfu_prefill),
    }


def preset_fields(name: str) -> dict[str, Any]:
    """The derived fields of preset ``name``.

    Raises:
        ValueError: unknown name (lists the valid ones) or a model too large.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}")
    g, m = PRESETS[name]
    return derive(GPUS[g], MODELS[m])
