"""The fluid engine against the brute-force step-by-step reference (tests/serving_reference.py)
on random small traces with memory limits and preemption."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.serving import GpuSpec
from tests.serving_reference import Request, fluid, reference


@st.composite
def traces(draw: Any, chunked: bool) -> tuple[GpuSpec, list[Request]]:
    n = draw(st.integers(1, 12))
    times = sorted(draw(st.lists(st.floats(0, 20), min_size=n, max_size=n)))
    reqs = []
    for t in times:
        g = draw(st.integers(1, 120))
        cap = g + draw(st.integers(0, 60))
        # a prompt has >= 1 token when it is prefilled in the step budget (as in vLLM)
        reqs.append(Request(round(t, 3), g, draw(st.integers(int(chunked), 80)), cap))
    spec: dict[str, Any] = {
        "max_seqs": draw(st.sampled_from([None, 2, 4, 8])) if not chunked
        else draw(st.sampled_from([2, 4, 8])),
        "s0": draw(st.sampled_from([0.01, 0.02])),
        "s1": draw(st.sampled_from([0.001, 0.004])),
        "s2": draw(st.sampled_from([0.0, 1e-5, 1e-4])),
        "p0": draw(st.sampled_from([0.0, 0.03])),
        "p1": draw(st.sampled_from([0.0, 1e-4])),
        "kv_tokens": draw(st.sampled_from([200, 400, 800, 10**6])),
        "block_size": draw(st.sampled_from([1, 16])),
        "admission": draw(st.sampled_from(["on-demand", "reserve-cap"])),
        "watermark": draw(st.sampled_from([0.0, 0.05])),
    }
    if chunked:
        spec["max_batched_tokens"] = draw(st.sampled_from([16, 64]))
    return GpuSpec(**spec), reqs


def _agree(spec: GpuSpec, reqs: list[Request]) -> None:
    want = reference(spec, reqs)
    got = fluid(spec, reqs)
    assert got.outcome == want.outcome
    assert got.preemptions == want.preemptions
    for q, end in want.end.items():
        assert abs(got.end[q] - end) <= want.max_step * (1 + 1e-9) + 1e-12, (q, got.end[q], end)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces(chunked=False))
def test_fluid_matches_step_by_step(case: tuple[GpuSpec, list[Request]]) -> None:
    _agree(*case)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces(chunked=True))
def test_fluid_matches_step_by_step_chunked_prefill(case: tuple[GpuSpec, list[Request]]
                                                    ) -> None:
    _agree(*case)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(traces))
def test_kv_never_exceeds_the_pool(case: tuple[GpuSpec, list[Request]]) -> None:
    spec, reqs = case
    held: list[float] = []
    got = fluid(spec, reqs, watch=held)
    assert spec.kv_tokens is not None
    assert max(held, default=0.0) <= spec.kv_tokens + 1e-6
    assert abs(held[-1]) < 1e-6 if held else True  # everything freed at the end
    if spec.admission == "reserve-cap":
        assert sum(got.preemptions.values()) == 0
    assert set(got.outcome) == set(range(len(reqs)))  # one outcome per request


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.booleans().flatmap(traces), st.sampled_from([3.3e4, 1e7]))
def test_fluid_at_a_late_clock_makes_progress(case: tuple[GpuSpec, list[Request]],
                                              offset: float) -> None:
    """Late in a long run a time step of one event can fall below the clock's
    resolution; the engine must still end every request, once each (it once fired at
    one instant for ever: t = 3.3e4 s, a resumed prompt 6e-8 tokens short in the step
    budget). At 3.3e4 s it also agrees with the reference as at the start of a run."""
    spec, reqs = case
    late = [Request(r.time + offset, r.g, r.prompt, r.cap) for r in reqs]
    if offset < 1e6:
        _agree(spec, late)
    else:
        got = fluid(spec, late)
        assert set(got.outcome) == set(range(len(reqs)))
        assert all(got.end[q] >= late[q].time for q in got.end)


def test_watch_sees_every_gpu_event() -> None:
    """The harness's ``watch`` hook runs (the KV invariant above reads it)."""
    spec = GpuSpec(max_seqs=4, s0=0.01, s1=0.001, kv_tokens=400, block_size=1)
    held: list[float] = []
    fluid(spec, [Request(0.0, 30, 10, 40), Request(0.1, 20, 5, 30)], watch=held)
    assert len(held) >= 2 and max(held) > 0 and abs(held[-1]) < 1e-6


def test_admission_expires_exactly_the_requests_kv_pool_calls_impossible() -> None:
    """FluidGpu.admit has KvPool.possible in line: a request expires at admission iff
    the rule says it could never finish (both modes, on and around block edges)."""
    from simulator.serving.memory import KvPool

    for admission in ("on-demand", "reserve-cap"):
        spec = GpuSpec(max_seqs=1, s0=0.01, s1=0.001, kv_tokens=320, block_size=16,
                       admission=admission, watermark=0.1)
        pool = KvPool(320, 16, admission, 0.1)
        reqs = [Request(float(i), g, prompt, g + extra) for i, (g, prompt, extra) in
                enumerate((g, p, x) for g in (1, 100, 160) for p in (0, 127, 128, 144, 160, 290)
                          for x in (0, 17))]
        got = fluid(spec, reqs)
        for q, r in enumerate(reqs):
            never = not pool.possible(r.prompt, r.g, r.cap)
            assert (got.outcome[q] == "expired" and got.end[q] == r.time) == never, (
                admission, r)
        assert any(not pool.possible(r.prompt, r.g, r.cap) for r in reqs)
        assert any(pool.possible(r.prompt, r.g, r.cap) for r in reqs)


def test_a_request_admitted_mid_step_adds_its_context_from_the_next_step() -> None:
    """The batch of a step is fixed when it starts: a prompt that takes a slot mid-step
    is in the step time (s2 x context) from the step's end, as in the reference. With
    zero prefill time the two agree to rounding (before, the fluid charged the new
    context from its arrival: 6.5 ms late here)."""
    spec = GpuSpec(s0=0.01, s1=0.001, s2=1e-4, p0=0.0, p1=0.0)
    reqs = [Request(0.0, 50, 10, 50), Request(0.1234, 20, 200, 20),
            Request(0.377, 5, 50, 5), Request(0.3771, 8, 0, 8)]
    want, got = reference(spec, reqs), fluid(spec, reqs)
    assert got.outcome == want.outcome == dict.fromkeys(range(4), "done")
    for q, end in want.end.items():
        assert abs(got.end[q] - end) <= 1e-9 * end, (q, got.end[q], end)
