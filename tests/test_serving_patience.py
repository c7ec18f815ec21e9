"""Client patience (outcome timed_out) and the deadline-at-tick rule, as exact traces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from simulator.des.records import MemorySink, Occupancy, Spool
from simulator.des.runner import run
from simulator.errors import UserError
from simulator.scenario.io import parse_scenario
from simulator.serving.patience import PatienceDraws
from simulator.serving.spec import LognormalPatience
from tests.des_helpers import scenario, tiny_pool


def _run(tmp_path: Path, times: list[float], lengths: int, **kw: Any
         ) -> tuple[list[tuple[str, float]], Any]:
    f = tmp_path / "arrivals.txt"
    f.write_text("\n".join(str(t) for t in times) + "\n")
    sc = scenario(arrivals={"kind": "trace", "path": str(f)}, n_queries=len(times), **kw)
    trace: list[tuple[str, float]] = []
    res = run(sc, pool=tiny_pool([[lengths]]), trace=trace)
    return trace, res


def test_patience_times_out_running_and_queued(tmp_path: Path) -> None:
    # one slot, 1 s per token: q0 has 1.5 tokens when its client gives up at 1.5 s (1
    # whole token is spent); q1, queued behind it since 0.5 s, gives up at 2.0 s.
    trace, res = _run(tmp_path, [0.0, 0.5], 10, patience=1.5,
                      allocator={"budget_rate": "unlimited", "period": 0},
                      gpu={"max_seqs": 1, "s0": 0.0, "s1": 1.0, "p0": 0.0, "p1": 0.0})
    assert trace == [
        ("tick 0", 0.0), ("admit q0", 0.0), ("start q0", 0.0),
        ("tick 1", 0.5), ("admit q1", 0.5),
        ("timeout q0", 1.5), ("start q1", 1.5),
        ("timeout q1", 2.0),
    ]
    q = res.queries
    assert q["outcome"].to_list() == ["timed_out", "timed_out"]
    assert q["end_time"].to_list() == [1.5, 2.0]
    assert q["tokens_generated"].to_list() == [1, 0]
    assert res.summary["timed_out_rate"] == 1.0


def test_timed_out_tokens_are_spent_and_the_rest_refunded(tmp_path: Path) -> None:
    # bank 10 tokens/s, W = 10 s, full at t = 0: q0 gets a cap of 100, times out at 2 s
    # after 2 tokens; 98 return to the bank, so the tick at 3 s sees 100 - 2 + 30 free
    # (capped at 100).
    _, res = _run(tmp_path, [0.0, 3.0], 50, patience=2.0,
                  allocator={"budget_rate": 10.0, "window": 10.0, "initial_fill": 1.0,
                             "period": 0, "policy": "uniform"},
                  gpu={"max_seqs": 1, "s0": 0.0, "s1": 1.0, "p0": 0.0, "p1": 0.0})
    q, ticks = res.queries, res.ticks
    assert q["outcome"].to_list() == ["timed_out", "timed_out"]
    assert q["tokens_generated"][0] == 2
    assert ticks["free_tokens"].to_list() == [100.0, 100.0]


def test_deadline_at_the_tick_takes_no_share(tmp_path: Path) -> None:
    # ticks every 2 s, deadline 1 s: q0 (arrival 0.5) is already past its deadline when
    # tick 1 decides it at t = 2: it gets no cap and ends at 0.5 + 1 = 1.5; q1 (arrival
    # 1.8) gets the whole tick budget.
    trace, res = _run(tmp_path, [0.5, 1.8], 5,
                      allocator={"budget_rate": 10.0, "window": 10.0, "period": 2.0,
                                 "policy": "uniform"},
                      gpu={"max_seqs": 1, "s0": 0.0, "s1": 0.1, "p0": 0.0, "p1": 0.0,
                           "deadline": 1.0})
    assert ("expire q0", 2.0) in trace and ("admit q1", 2.0) in trace
    q = res.queries
    assert q["outcome"].to_list() == ["expired", "correct"]
    assert q["cap"].to_list() == [0, 20]
    assert q["end_time"][0] == 1.5


def test_patience_past_at_the_tick_ends_at_arrival_plus_patience(tmp_path: Path) -> None:
    trace, res = _run(tmp_path, [0.25, 1.0], 5, patience=1.5,
                      allocator={"budget_rate": "unlimited", "period": 2.0},
                      gpu={"max_seqs": 1, "s0": 0.0, "s1": 0.1, "p0": 0.0, "p1": 0.0})
    q = res.queries
    assert q["outcome"].to_list() == ["timed_out", "correct"]
    assert q["end_time"][0] == 1.75 and q["cap"][0] == 0


def test_patience_draws_are_per_query_and_common_to_policies(tmp_path: Path) -> None:
    base = {"arrivals": {"kind": "poisson", "rate": 5.0}, "n_queries": 200,
            "patience": {"kind": "exponential", "mean": 0.5},
            "gpu": {"max_seqs": 4, "s0": 0.01, "s1": 0.01, "p0": 0.0, "p1": 0.0}}
    pool = tiny_pool([[40], [80], [160], [20]])
    a = run(scenario(**base, allocator={"policy": "uniform", "budget_rate": 3000.0}),
            pool=pool).queries
    b = run(scenario(**base, allocator={"policy": "clear", "budget_rate": 3000.0}),
            pool=pool).queries
    assert 0 < (a["outcome"] == "timed_out").sum() < a.height
    # a query that timed out under both policies, having never started, ended at
    # arrival + the same patience
    both = (a["outcome"] == "timed_out") & (b["outcome"] == "timed_out")
    la, lb = a.filter(both)["latency"].to_numpy(), b.filter(both)["latency"].to_numpy()
    sa = a.filter(both)["queue_wait"].to_numpy() == la
    sb = b.filter(both)["queue_wait"].to_numpy() == lb
    assert np.allclose(la[sa & sb], lb[sa & sb])


@pytest.mark.parametrize("spans", [[(0, 5), (5, 6), (6, 70000)], [(65530, 65542)],
                                   [(65535, 65536), (65536, 131100)]])
def test_patience_span_is_of_as_floats(spans: list[tuple[int, int]]) -> None:
    # the small-tick fast path reads spans of query numbers, across block edges too;
    # an independent draw in the same order must give the same floats as of()
    spec = LognormalPatience(kind="lognormal", median=60.0, sigma=0.5)
    a = PatienceDraws(spec, np.random.default_rng(7))
    b = PatienceDraws(spec, np.random.default_rng(7))
    for q0, q1 in spans:
        assert a.span(q0, q1) == b.of(np.arange(q0, q1)).tolist()


@pytest.mark.parametrize(("patience", "msg"), [
    (-1, "patience.seconds"),
    ({"kind": "exponential", "mean": float("inf")}, "patience.mean"),
    ({"kind": "weibull"}, "patience"),
])
def test_bad_patience_names_the_field(patience: Any, msg: str) -> None:
    with pytest.raises(UserError, match=msg.replace(".", r"\.")):
        parse_scenario({"arrivals": {"kind": "poisson", "rate": 1.0},
                        "allocator": {"budget_rate": 100.0}, "n_queries": 5,
                        "patience": patience})


@pytest.mark.parametrize("window", [7.0, 1e6])
def test_queued_level_counts_clients_who_give_up_in_the_queue(window: float) -> None:
    # Most clients give up in the FIFO queue behind a full GPU; the GPU handles those
    # give-ups without advancing its state (Levels.drop), so gpu.parquet's queued
    # level must still integrate to the time each GPU-bound query spent queued.
    sc = scenario(arrivals={"kind": "poisson", "rate": 4.0}, n_queries=400,
                  patience={"kind": "exponential", "mean": 5.0},
                  allocator={"budget_rate": "unlimited", "period": 0.5},
                  gpu={"max_seqs": 4, "s0": 0.05, "s1": 0.01, "p0": 0.0, "p1": 0.0},
                  output={"gpu_window": window})
    res = run(sc, pool=tiny_pool([[20, 40, 60]]))
    q = res.queries.join(res.ticks.select("tick", pl.col("time").alias("tick_time")),
                         on="tick").filter(pl.col("cap") > 0)
    assert float((q["outcome"] == "timed_out").sum()) > 0.5 * q.height  # (the path tested)
    queued = float(((q["end_time"] - q["generation_time"]) - q["tick_time"]).sum())
    g = res.gpu
    area = float(((g["window_end"] - g["window_start"]) * g["mean_queued"]).sum())
    assert area == pytest.approx(queued, rel=1e-12)


def test_occupancy_drop_is_a_split_interval() -> None:
    # add(t0, t1, queued=k) + drop(t0, g) for each give-up g is add split at each g
    def rows(drops: bool) -> pl.DataFrame:
        sink = MemorySink()
        occ = Occupancy(10.0, Spool("gpu", sink))
        occ.add(0.0, 3.0, 1, 5, 3.0)
        if drops:
            assert occ.drop(3.0, 4.0) and occ.drop(3.0, 9.5)
            assert not occ.drop(3.0, 10.0)  # past the window: the GPU must split
            occ.add(3.0, 25.0, 1, 3, 22.0)
        else:
            for t0, t1, k in [(3.0, 4.0, 5), (4.0, 9.5, 4), (9.5, 25.0, 3)]:
                occ.add(t0, t1, 1, k, t1 - t0)
        occ.finish(25.0)
        occ.spool.flush()
        return pl.concat(sink.parts["gpu"])

    a, b = rows(True), rows(False)
    assert a["mean_queued"].to_list() == pytest.approx(b["mean_queued"].to_list(), rel=1e-12)
    assert a["mean_active"].to_list() == b["mean_active"].to_list()
