"""Hypothesis fuzzing of the scenario validator with extreme floats and random nesting:
it accepts a scenario whose numbers are all finite, bounded and within the run-size
limits, or refuses it with one UserError line; never another exception, never a hang."""

from __future__ import annotations

import copy
import math
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.checks import MAX_MAGNITUDE, finite_problem
from simulator.errors import UserError
from simulator.scenario.io import parse_scenario
from simulator.scenario.size import estimate
from simulator.scenario.yamlread import MAX_DEPTH, YamlRefused, load_yaml
from simulator.sweep.grid import set_dotted
from tests.sweep_helpers import TINY_SCENARIO

EXTREME = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324, 1e-300, 1e-7,
                     0.0, -0.0, MAX_MAGNITUDE, MAX_MAGNITUDE * (1 + 1e-12), 1e12]),
    st.integers(min_value=-(2**70), max_value=2**70),
)
LEAF = st.one_of(EXTREME, st.text(max_size=4), st.booleans(), st.none())
NESTED = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=25)
PATHS = ["arrivals.rate", "arrivals.cv", "arrivals", "allocator.budget_rate",
         "allocator.period", "allocator.window", "allocator.initial_fill", "allocator.params",
         "allocator.params.kappa", "gpu.s0", "gpu.s1", "gpu.p0", "gpu.p1", "gpu.max_seqs",
         "gpu.max_queue", "gpu.deadline", "output.gpu_window", "output.slo", "n_queries",
         "duration", "seed", "stream", "stream.mix", "pool.seed", "predictor.params",
         "predictor.params.sigma", "limits.max_ticks", "limits.max_arrivals", "extra"]
SETTINGS = settings(max_examples=80, deadline=5000,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.dictionaries(st.sampled_from(PATHS), st.one_of(EXTREME, NESTED), max_size=4))
def test_validator_accepts_only_safe_scenarios(changes: dict[str, Any]) -> None:
    raw: dict[str, Any] = copy.deepcopy(TINY_SCENARIO)
    for path, value in changes.items():
        try:
            raw = set_dotted(raw, path, value)
        except UserError:
            return  # the path runs through a scalar set earlier
    try:
        scenario = parse_scenario(raw)
    except UserError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return
    assert finite_problem(scenario.model_dump()) is None
    est = estimate(scenario)
    assert est is not None
    assert est["arrivals"] <= scenario.limits.max_arrivals
    assert est["gpu_windows"] <= scenario.limits.max_gpu_windows


CLEAN = st.recursive(
    st.one_of(st.integers(-1000, 1000), st.text(alphabet="abc xyz", max_size=5),
              st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False,
                                                  width=32)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(alphabet="kq", min_size=1, max_size=3),
                                            inner, max_size=3)),
    max_leaves=30)


@SETTINGS
@given(CLEAN)
def test_strict_reader_round_trips_what_it_accepts(value: Any) -> None:
    assert load_yaml(yaml.safe_dump(value)) == value


@SETTINGS
@given(st.integers(min_value=0, max_value=3000), st.sampled_from(["[", "{a: "]))
def test_random_nesting_loads_or_is_refused(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = "x: " + opener * depth + "1" * (opener == "{a: ") + closer * depth
    try:
        load_yaml(text)
    except YamlRefused as exc:
        assert depth >= MAX_DEPTH and "nested more than" in str(exc)
    else:
        assert depth < MAX_DEPTH
