"""Step time s = s0 + s1 n + s2 C: the closed forms and the engine agree exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.des.runner import run
from simulator.serving.steptime import steps_in, time_for
from tests.des_helpers import scenario, tiny_pool


def _together(tmp_path: Path, n: int, g: int, prompt: int, **gpu: float) -> np.ndarray:
    f = tmp_path / "arrivals.txt"
    f.write_text("0\n" * n)
    sc = scenario(arrivals={"kind": "trace", "path": str(f)}, n_queries=n,
                  allocator={"budget_rate": "unlimited", "period": 0},
                  gpu={"max_seqs": None, "p0": 0.0, "p1": 0.0, **gpu})
    res = run(sc, pool=tiny_pool([[g]], prompt_tokens=prompt, max_tokens=max(g, 1000)))
    return res.queries["end_time"].to_numpy()


def test_closed_form_identical_sequences(tmp_path: Path) -> None:
    # n sequences with prompt P started together finish at
    # g (s0 + s1 n + s2 n P) + s2 n g^2 / 2, exactly (dyadic figures).
    s0, s1, s2, n, g, p = 0.5, 0.25, 0.125, 4, 16, 8
    ends = _together(tmp_path, n, g, p, s0=s0, s1=s1, s2=s2)
    want = g * (s0 + s1 * n + s2 * n * p) + s2 * n * g**2 / 2
    assert want == 152.0
    assert ends.tolist() == [want] * n


def test_closed_form_realistic_figures(tmp_path: Path) -> None:
    s0, s1, s2, n, g, p = 0.0045, 3e-5, 1.7e-8, 7, 3000, 700
    ends = _together(tmp_path, n, g, p, s0=s0, s1=s1, s2=s2)
    want = g * (s0 + s1 * n + s2 * n * p) + s2 * n * g**2 / 2
    assert np.allclose(ends, want, rtol=1e-12, atol=0)


def test_s2_zero_is_the_original_arithmetic() -> None:
    for dt, a in ((0.37, 0.012), (1e-9, 3.0), (12345.6, 0.0002 * 7 + 0.012)):
        assert steps_in(dt, a, 0.0) == dt / a
        assert time_for(dt, a, 0.0) == dt * a


@settings(max_examples=200, deadline=None)
@given(a=st.floats(1e-4, 10), b=st.floats(0, 1), dx=st.floats(1e-6, 1e5))
def test_steps_and_time_are_inverse(a: float, b: float, dx: float) -> None:
    t = time_for(dx, a, b)
    assert np.isclose(steps_in(t, a, b), dx, rtol=1e-9, atol=0)
    # the time is the integral of the step time a + b x over [0, dx]
    assert np.isclose(t, a * dx + b * dx * dx / 2, rtol=1e-12)


def test_extended_runs_add_serving_columns(tmp_path: Path) -> None:
    f = tmp_path / "arrivals.txt"
    f.write_text("0\n0\n")
    sc = scenario(arrivals={"kind": "trace", "path": str(f)}, n_queries=2,
                  allocator={"budget_rate": "unlimited", "period": 0},
                  gpu={"max_seqs": None, "s0": 0.5, "s1": 0.25, "s2": 0.125, "p0": 0.0,
                       "p1": 0.0})
    q = run(sc, pool=tiny_pool([[16]], prompt_tokens=8)).queries
    assert {"ttft", "tpot", "preemptions"} <= set(q.columns)
    # first token one fluid step after decoding starts: a = 0.5 + 2 * 0.25 + 0.125 * 16
    # = 3 s, growing by b = 0.125 * 2 s per step: a + b / 2 = 3.125 s
    assert q["ttft"].to_list() == [3.125, 3.125]
    assert np.allclose(q["tpot"].to_numpy(), (q["end_time"].to_numpy() - 3.125) / 15)
    assert q["preemptions"].to_list() == [0, 0]
