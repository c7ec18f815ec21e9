"""Invariants of whole runs with the serving-v2 features on (hypothesis): KV memory,
s2, chunked prefill, patience, through the allocator, bank and ledger."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.des.runner import run
from simulator.pools.pool import Pool
from tests.des_helpers import scenario, tiny_pool


@st.composite
def runs(draw: Any) -> tuple[dict[str, Any], Pool]:
    rows = draw(st.lists(st.lists(st.integers(1, 200), min_size=1, max_size=3),
                         min_size=1, max_size=4))
    pool = tiny_pool(rows, max_tokens=200, prompt_tokens=draw(st.integers(1, 60)))
    chunked = draw(st.booleans())
    gpu: dict[str, Any] = {
        "max_seqs": draw(st.sampled_from([2, 4, 8])),
        "s0": 0.01, "s1": draw(st.sampled_from([0.001, 0.005])),
        "s2": draw(st.sampled_from([0.0, 1e-5])),
        "p0": draw(st.sampled_from([0.0, 0.02])), "p1": draw(st.sampled_from([0.0, 1e-4])),
        "kv_tokens": draw(st.sampled_from([300, 600, 2000])),
        "block_size": draw(st.sampled_from([1, 16])),
        "admission": draw(st.sampled_from(["on-demand", "reserve-cap"])),
        "watermark": draw(st.sampled_from([0.0, 0.05])),
        "max_queue": draw(st.one_of(st.none(), st.integers(0, 5))),
        "deadline": draw(st.one_of(st.none(), st.floats(0.5, 5))),
    }
    if chunked:
        gpu["max_batched_tokens"] = draw(st.sampled_from([16, 64]))
    sections: dict[str, Any] = {
        "arrivals": {"kind": "poisson", "rate": draw(st.floats(0.5, 30))},
        "n_queries": draw(st.integers(1, 80)),
        "seed": draw(st.integers(0, 2**16)),
        "allocator": {"policy": draw(st.sampled_from(["uniform", "clear"])),
                      "budget_rate": draw(st.one_of(st.just("unlimited"),
                                                    st.floats(50, 3000))),
                      "period": draw(st.sampled_from([0.0, 0.5]))},
        "gpu": gpu,
        "patience": draw(st.one_of(st.none(), st.floats(0.2, 5),
                                   st.just({"kind": "exponential", "mean": 1.0}))),
    }
    return sections, pool


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_serving_invariants(case: tuple[dict[str, Any], Pool]) -> None:
    sections, pool = case
    sc = scenario(**sections)
    res = run(sc, pool=pool)
    q = res.queries
    # every arrival exactly one outcome, including timed_out and preempted-then-finished
    assert q.height == sc.n_queries and q["query"].to_list() == list(range(q.height))
    assert set(q["outcome"].unique()) <= {"correct", "wrong", "abandoned", "expired",
                                          "timed_out"}
    assert not q["end_time"].is_nan().any() and (q["latency"] >= -1e-9).all()
    assert (q["tokens_generated"] <= q["cap"]).all()
    done = q.filter(q["outcome"].is_in(["correct", "wrong"]))
    rollout = pool.lengths[done["pool_index"].to_numpy(), done["rollout"].to_numpy()]
    assert (done["tokens_generated"].to_numpy() == np.minimum(rollout,
                                                                done["cap"].to_numpy())).all()
    if sc.gpu.admission == "reserve-cap":
        assert q["preemptions"].sum() == 0
    assert res.summary["preemptions"] == int(q["preemptions"].sum())
    # TTFT and TPOT are times; a first token comes before the end
    ttft = q["ttft"].to_numpy()
    has = ~np.isnan(ttft)
    assert (ttft[has] >= 0).all()
    assert (q["arrival_time"].to_numpy()[has] + ttft[has]
            <= q["end_time"].to_numpy()[has] + 1e-9).all()
    tpot = q["tpot"].to_numpy()
    assert (tpot[~np.isnan(tpot)] >= 0).all()
    # decode tokens conserved: the GPU's fluid integral vs the records (a timed-out
    # query counts its whole tokens only)
    timed = int((q["outcome"] == "timed_out").sum())
    total = float(q["tokens_generated"].sum())
    gpu_tokens = float(res.gpu["tokens"].sum())
    assert total - 1e-6 <= gpu_tokens <= total + timed + 1e-6 * max(1.0, total)
    # the bank never pays out more than it received
    if sc.allocator.budget_rate != "unlimited":
        end = float(q["end_time"].to_numpy().max())
        assert total <= float(sc.allocator.budget_rate) * end * (1 + 1e-9) + 1e-6
