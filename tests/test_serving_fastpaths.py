"""The fluid engine's fast path for memory-full step boundaries (FluidGpu._mem_due, also
handled in line by the callback that fired) gives exactly the outputs of the general
event handler."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.des.runner import run
from simulator.scenario.io import load_scenario
from simulator.serving import FluidGpu, GpuSpec
from tests.serving_reference import Request, fluid
from tests.test_serving_reference import traces

REPO = Path(__file__).resolve().parents[1]


def test_memory_full_fast_path_changes_no_output(monkeypatch: pytest.MonkeyPatch) -> None:
    sc = load_scenario(REPO / "scenarios" / "reasoning-h100-memory.yaml",
                       ["duration=120", "gpu.kv_tokens=60000"])
    calls: list[float] = []
    mem_due = FluidGpu._mem_due

    def counted(self: FluidGpu, t: float) -> None:
        calls.append(t)
        mem_due(self, t)

    monkeypatch.setattr(FluidGpu, "_mem_due", counted)
    fast = run(sc)
    assert len(calls) > 100  # (the path tested)
    assert fast.summary["preemptions"] > len(calls) / 2

    plan = FluidGpu._plan

    def general(self: FluidGpu, passive: bool = False) -> None:
        plan(self, passive)
        self._mem_next = False  # every event through _event and the engine

    monkeypatch.setattr(FluidGpu, "_plan", general)
    slow = run(sc)
    for name in ("queries", "ticks", "gpu"):
        assert getattr(fast, name).equals(getattr(slow, name)), name
    assert {k: v for k, v in fast.summary.items() if "wall" not in k} == {
        k: v for k, v in slow.summary.items() if "wall" not in k}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces(chunked=False), st.booleans())
def test_fast_path_equals_the_general_handler_on_small_traces(
        case: tuple[GpuSpec, list[Request]], chunked: bool) -> None:
    spec, reqs = case
    if chunked:
        spec = spec.model_copy(update={"max_seqs": 4, "max_batched_tokens": 16})
        reqs = [Request(r.time, r.g, max(r.prompt, 1), r.cap) for r in reqs]
    fast = fluid(spec, reqs)
    with pytest.MonkeyPatch.context() as mp:
        plan = FluidGpu._plan

        def general(self: FluidGpu, passive: bool = False) -> None:
            plan(self, passive)
            self._mem_next = False

        mp.setattr(FluidGpu, "_plan", general)
        slow = fluid(spec, reqs)
    assert fast.outcome == slow.outcome
    assert fast.preemptions == slow.preemptions
    assert fast.end == slow.end
