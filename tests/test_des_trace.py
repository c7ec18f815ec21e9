"""Exact (name, env.now) traces: the event order at equal timestamps is pinned here.

Order at one instant: GPU events (leaves, then prefill ends) before arrivals before
allocator ticks; an arrival at exactly a tick's time is decided by that tick.
"""

from __future__ import annotations

from pathlib import Path

from simulator.des.runner import run
from tests.des_helpers import scenario, tiny_pool


def _trace_run(tmp_path: Path, times: list[float], lengths: int = 2, **kw: object
               ) -> list[tuple[str, float]]:
    f = tmp_path / "arrivals.txt"
    f.write_text("\n".join(str(t) for t in times) + "\n")
    sc = scenario(arrivals={"kind": "trace", "path": str(f)}, n_queries=len(times),
                  **kw)
    trace: list[tuple[str, float]] = []
    run(sc, pool=tiny_pool([[lengths]]), trace=trace)
    return trace


def test_completion_before_arrival_before_tick(tmp_path: Path) -> None:
    # q0 (2 tokens at 0.5 s/token) leaves at exactly t = 1.0, when tick 1 runs and q1
    # and q2 arrive. The leave frees the only slot before the tick admits q1, so q1
    # starts at once; q2 queues FIFO behind it.
    trace = _trace_run(tmp_path, [0.0, 1.0, 1.0],
                       allocator={"budget_rate": "unlimited", "period": 1.0},
                       gpu={"max_seqs": 1, "s0": 0.0, "s1": 0.5, "p0": 0.0, "p1": 0.0})
    assert trace == [
        ("tick 0", 0.0), ("admit q0", 0.0), ("start q0", 0.0),
        ("leave q0", 1.0),
        ("tick 1", 1.0), ("admit q1", 1.0), ("admit q2", 1.0), ("start q1", 1.0),
        ("leave q1", 2.0), ("start q2", 2.0),
        ("leave q2", 3.0),
    ]


def test_processor_sharing_and_prefill(tmp_path: Path) -> None:
    # Two sequences share the GPU: s(2) = 0.2 + 2 * 0.4 = 1.0 s per step. Prefill
    # 0.5 s holds a slot without slowing the other sequence.
    trace = _trace_run(tmp_path, [0.0, 0.0], lengths=3,
                       allocator={"budget_rate": "unlimited", "period": 0},
                       gpu={"max_seqs": 2, "s0": 0.2, "s1": 0.4, "p0": 0.5, "p1": 0.0})
    assert trace == [
        ("tick 0", 0.0), ("admit q0", 0.0), ("admit q1", 0.0),
        ("start q0", 0.0), ("start q1", 0.0),
        ("decode q0", 0.5), ("decode q1", 0.5),
        ("leave q0", 3.5), ("leave q1", 3.5),
    ]


def test_budget_abandons_at_the_tick(tmp_path: Path) -> None:
    # Bank accrues 1 token/s (cap 10); at t = 3 uniform splits 3 tokens over 4 queries:
    # every cap floors to 0, so all four are abandoned at the tick.
    trace = _trace_run(tmp_path, [2.5, 2.5, 3.0, 3.0],
                       allocator={"budget_rate": 1.0, "window": 10.0, "period": 3.0})
    assert trace == [
        ("tick 0", 0.0), ("tick 1", 3.0),
        ("abandon q0", 3.0), ("abandon q1", 3.0), ("abandon q2", 3.0), ("abandon q3", 3.0),
    ]


def test_deadline_expires_at_its_time_and_frees_the_queue(tmp_path: Path) -> None:
    # regression: a queued request past its deadline only expired when a slot freed
    # (here at t = 10), so its cap returned late and it still counted against
    # max_queue: q2 was expired as "queue full" at t = 2 behind the stale q1.
    f = tmp_path / "arrivals.txt"
    f.write_text("0\n0\n2\n")
    sc = scenario(arrivals={"kind": "trace", "path": str(f)}, n_queries=3,
                  allocator={"budget_rate": "unlimited", "period": 1.0},
                  gpu={"max_seqs": 1, "s0": 0.0, "s1": 1.0, "p0": 0.0, "p1": 0.0,
                       "max_queue": 1, "deadline": 1.5})
    trace: list[tuple[str, float]] = []
    res = run(sc, pool=tiny_pool([[10]]), trace=trace)
    assert trace == [
        ("tick 0", 0.0), ("admit q0", 0.0), ("admit q1", 0.0), ("start q0", 0.0),
        ("tick 1", 1.0), ("expire q1", 1.5),
        ("tick 2", 2.0), ("admit q2", 2.0), ("expire q2", 3.5),
        ("leave q0", 10.0),
    ]
    q = res.queries
    assert q["outcome"].to_list() == ["correct", "expired", "expired"]
    assert q["end_time"].to_list() == [10.0, 1.5, 3.5]
