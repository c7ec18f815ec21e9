"""The serving (GPU) scenario section: ``gpu:`` and the client ``patience`` model.

Pydantic v2 models, unknown keys forbidden, no I/O. Every number carries its unit in
its description (seconds, tokens, seconds per token) and explicit bounds; NaN and
infinity are rejected. The defaults reproduce the original fluid GPU (s2 = 0, unlimited
KV memory, prefill on its own timer, no patience, one replica).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from simulator.checks import StrictModel
from simulator.serving.presets import GPUS, MODELS, PRESETS, derive

__all__ = ["ExponentialPatience", "FixedPatience", "GpuSpec", "LognormalPatience",
           "Patience"]


class _Spec(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class GpuSpec(_Spec):
    """A continuous-batching GPU (model.md section 6, docs/serving.md).

    Decode step time s = s0 + s1 n + s2 C (s), n sequences decoding, C their cached
    context (tokens); prefill on a timer p0 + p1 prompt (s), or in the step budget
    when ``max_batched_tokens`` is set. ``preset`` fills every field not written next
    to it from a roofline of real hardware and model figures (:mod:`.presets`).
    """

    max_seqs: int | None = Field(default=256, gt=0, description="concurrent sequences S "
                                 "(null = unlimited); extra requests queue FIFO")
    s0: float = Field(default=0.012, ge=0, le=3600, description="fixed decode-step time (s)")
    s1: float = Field(default=0.0002, ge=0, le=3600,
                      description="decode-step time per active sequence (s)")
    p0: float = Field(default=0.01, ge=0, le=3600,
                      description="fixed prefill time per sequence (s; timer prefill only)")
    p1: float = Field(default=0.00005, ge=0, le=1, description="prefill time per prompt "
                      "token (s/token)")
    max_queue: int | None = Field(default=None, ge=0, description="FIFO queue cap; a query "
                                  "admitted to a full queue expires (null = no cap)")
    deadline: float | None = Field(default=None, gt=0, le=1e9, description="a query still "
                                   "queued this long after arrival expires (s; null = never)")
    s2: float = Field(default=0.0, ge=0, le=1, description="decode-step time per cached "
                      "context token of the running batch (s/token); 0 = context-free")
    kv_tokens: int | None = Field(default=None, gt=0, le=10**12, description="KV-cache pool "
                                  "(tokens; null = unlimited memory)")
    block_size: int = Field(default=16, gt=0, le=4096, description="KV block size (tokens); "
                            "admission rounds a request's KV up to whole blocks")
    admission: Literal["on-demand", "reserve-cap"] = Field(
        default="on-demand", description="KV admission: 'on-demand' (vLLM: admit while the "
        "prompt fits above the watermark; when memory fills, preempt the newest sequence, "
        "which recomputes later) or 'reserve-cap' (admit only when prompt + cap fits; "
        "never preempts)")
    watermark: float = Field(default=0.01, ge=0, lt=1, description="on-demand: fraction of "
                             "the KV pool kept free when admitting (fraction)")
    max_batched_tokens: int | None = Field(
        default=None, gt=0, le=10**7, description="tokens per step (decode + prefill "
        "chunks; vLLM max_num_batched_tokens); set = chunked prefill inside the step "
        "budget at p1 s/token, null = prefill on its own p0 + p1 prompt timer")
    preset: str | None = Field(default=None, description="hardware preset GPU-MODEL, e.g. "
                               "h100-qwen2.5-7b (clearsim gpu list); fills the fields not "
                               "written here")
    memory_gib: float | None = Field(default=None, gt=0, le=1e5, description="with a "
                                     "preset: the GPU's memory (GiB) instead of the "
                                     "preset's, for the derived kv_tokens")
    replicas: int = Field(default=1, ge=1, le=1024, description="identical GPU replicas "
                          "(count), each its own engine with these fields; one shared "
                          "token bank and allocator")
    router: Literal["round-robin", "least-loaded", "least-kv"] = Field(
        default="round-robin", description="how an admitted request picks a replica: "
        "'round-robin' (in turn), 'least-loaded' (fewest requests in slots + queued) or "
        "'least-kv' (least KV memory held, tokens); ties go to the lowest replica number")

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str | None) -> str | None:
        if v is not None and v not in PRESETS:
            raise ValueError(f"unknown preset {v!r}; valid: {', '.join(PRESETS)}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _fill_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("preset"), str):
            return data
        if data["preset"] not in PRESETS:
            return data  # reported by _known_preset
        g, m = PRESETS[data["preset"]]
        gpu = GPUS[g]
        mem = data.get("memory_gib")
        if isinstance(mem, int | float) and not isinstance(mem, bool) and mem > 0:
            gpu = replace(gpu, memory_gib=float(mem))
        return {**derive(gpu, MODELS[m]), **data}

    @model_validator(mode="after")
    def _consistent(self) -> GpuSpec:
        if self.s0 + self.s1 <= 0:
            raise ValueError("s0 + s1 must be > 0 (a decode step takes time)")
        m = self.max_batched_tokens
        if m is not None and (self.max_seqs is None or self.max_seqs > m):
            raise ValueError("max_batched_tokens needs max_seqs set and <= "
                             "max_batched_tokens (every decoding sequence takes one "
                             "token of the step budget)")
        if self.router == "least-kv" and self.kv_tokens is None:
            raise ValueError("router 'least-kv' needs a KV pool: set kv_tokens (or a "
                             "preset), or use round-robin / least-loaded")
        return self

    @property
    def extended(self) -> bool:
        """True when a serving-v2 feature is on (the query table gains ttft, tpot and
        preemptions); False reproduces the original model and its outputs exactly."""
        return (self.s2 > 0 or self.kv_tokens is not None
                or self.max_batched_tokens is not None or self.preset is not None)


class FixedPatience(_Spec):
    """Every client waits ``seconds`` for its answer."""

    kind: Literal["fixed"] = "fixed"
    seconds: float = Field(gt=0, le=1e9, description="patience (s from arrival)")


class ExponentialPatience(_Spec):
    """Patience drawn from an exponential distribution with mean ``mean`` (s)."""

    kind: Literal["exponential"]
    mean: float = Field(gt=0, le=1e9, description="mean patience (s)")


class LognormalPatience(_Spec):
    """Patience drawn lognormal: median ``median`` (s), log-SD ``sigma``."""

    kind: Literal["lognormal"]
    median: float = Field(gt=0, le=1e9, description="median patience (s)")
    sigma: float = Field(gt=0, le=10, description="SD of ln(patience)")


Patience = Annotated[FixedPatience | ExponentialPatience | LognormalPatience,
                     Field(discriminator="kind")]
"""Client patience on time to answer: a query not finished ``patience`` seconds after
its arrival times out (outcome ``timed_out``) wherever it is."""
