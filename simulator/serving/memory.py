"""KV-cache memory and the admission rule (docs/serving.md, "KV memory").

The pool holds ``kv_tokens`` tokens of KV cache (``inf`` = unlimited). The fluid engine
counts what is held in tokens: in ``on-demand`` mode each admitted sequence holds its
context (prompt, plus tokens generated so far), so holdings grow by one token per
decoding sequence per step; in ``reserve-cap`` mode each admitted sequence holds prompt
+ cap from admission to its end, so holdings never grow and memory never fills.
Admission rounds the new request up to whole blocks of ``block_size`` tokens:

* ``on-demand`` (vLLM V1): admit while the prompt's blocks fit below
  ``(1 - watermark) * kv_tokens``; the watermark keeps room for the running sequences to
  grow. When holdings reach the pool the engine preempts the newest sequence, which
  frees its KV and later re-prefills prompt + its tokens so far (recompute).
* ``reserve-cap``: admit only when prompt + cap fits, which is possible only because
  the allocator granted each query a cap.

A request that could never finish (on-demand: prompt + its tokens above the admission
limit, so it could not resume even alone; reserve-cap: prompt + cap above the pool)
expires when it reaches the GPU.
"""

from __future__ import annotations

import math

__all__ = ["KvPool"]


class KvPool:
    """The admission rule of one GPU's KV pool.

    Args:
        kv_tokens: pool size (tokens), or None for unlimited memory.
        block_size: KV block (tokens).
        admission: ``on-demand`` or ``reserve-cap``.
        watermark: on-demand: fraction of the pool kept free at admission.
    """

    def __init__(self, kv_tokens: int | None, block_size: int, admission: str,
                 watermark: float) -> None:
        self.capacity = math.inf if kv_tokens is None else float(kv_tokens)
        self.limited = kv_tokens is not None
        self.block = float(block_size)
        self.reserve = admission == "reserve-cap"
        #: holdings (tokens) above which nothing new is admitted
        self.limit = self.capacity if self.reserve else self.capacity * (1.0 - watermark)
        #: fits' bounds, computed once (FluidGpu._fill applies the same rule in line)
        self.at_most = self.limit + 1e-9
        self.below = self.capacity * (1.0 - 1e-9)

    def blocks(self, tokens: float) -> float:
        """``tokens`` rounded up to whole blocks (tokens)."""
        return math.ceil(tokens / self.block - 1e-9) * self.block

    def hold(self, context: float, cap: int) -> float:
        """Tokens a sequence with ``context`` tokens to prefill holds once admitted
        (:meth:`simulator.serving.fluid.FluidGpu._load` has it in line)."""
        return context + cap if self.reserve else context

    def fits(self, held: float, context: float, cap: int) -> bool:
        """Whether a request fits now, with ``held`` tokens already held (the rule;
        :meth:`simulator.serving.fluid.FluidGpu._fill` has it in line, the same floats)."""
        block = self.block  # (blocks and hold in line, on the hot path: the same floats)
        if self.reserve:
            return held + math.ceil((context + cap) / block - 1e-9) * block <= self.at_most
        after = held + math.ceil(context / block - 1e-9) * block
        # strictly below the pool: a full pool preempts at once, so admitting up to it
        # would preempt the newcomer at the same instant, again and again
        return after <= self.at_most and after < self.below

    def possible(self, prompt: int, generated: int, cap: int) -> bool:
        """Whether the request could ever finish (see the module docstring; the rule
        :meth:`simulator.serving.fluid.FluidGpu.admit` has in line, the same floats)."""
        if self.reserve:
            return self.blocks(prompt + cap) <= self.capacity
        return self.blocks(prompt + generated) <= self.limit
