"""Scenario models: the validated form of a scenario YAML file.

Every section is a pydantic v2 model with unknown keys forbidden. The models do no
I/O: paths are only strings here and are opened when a run starts. Loading YAML,
``--set`` overrides and error formatting live in :mod:`simulator.scenario.io`.

Units: times in seconds, rates in queries/s, budgets in tokens and tokens/s.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from simulator.checks import StrictModel
from simulator.scenario.size import LimitSpec, check_run_size
from simulator.serving.spec import GpuSpec, Patience
from simulator.traffic.arrivals import ArrivalSpec
from simulator.traffic.streams import MIXES

__all__ = ["AllocatorSpec", "GpuSpec", "MixChange", "NamedStream", "OutputSpec", "PoolSpec",
           "PredictorSpec", "Scenario", "StreamSpec"]

Mix = str | list[float]


class _Section(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_mix(v: Mix) -> Mix:
    if isinstance(v, str):
        if v not in MIXES:
            raise ValueError(f"unknown mix {v!r}; valid: {', '.join(MIXES)} "
                             "or four tier weights [easy, medium, hard, very-hard]")
    elif len(v) != 4 or any(w < 0 for w in v) or sum(v) <= 0:
        raise ValueError("tier weights must be four numbers >= 0 with a positive sum "
                         "[easy, medium, hard, very-hard]")
    return v


def _check_ascending(v: list[MixChange]) -> list[MixChange]:
    times = [c.time for c in v]
    if times != sorted(times):
        raise ValueError("mix changes must be listed by ascending time")
    return v


class PoolSpec(_Section):
    """Where the queries come from. ``pool: default`` is shorthand for ``source``."""

    source: str = Field(default="default", description="'default' (embedded synthetic pool, K = 8), "
                        "'default-greedy' (the same queries, K = 1) or a pool Parquet path, "
                        "relative to the scenario file")
    seed: int = Field(default=0, ge=0, description="seed of an embedded synthetic pool")


class MixChange(_Section):
    """From ``time`` on (s), arrivals follow ``mix``."""

    time: float = Field(ge=0)
    mix: Mix

    _mix = field_validator("mix")(_check_mix)


class StreamSpec(_Section):
    """Difficulty mix of the arrivals; ``stream: balanced`` is shorthand for ``mix``."""

    mix: Mix = Field(default="balanced", description="mix name or four tier weights easy..very-hard")
    schedule: list[MixChange] = Field(default_factory=list,
                                      description="later mix changes, by ascending time")

    _mix = field_validator("mix")(_check_mix)

    _ascending = field_validator("schedule")(_check_ascending)


class NamedStream(_Section):
    """One of several arrival streams: a name, a difficulty mix and an arrival process.

    Its random numbers are keyed by ``name``, so adding, removing or reordering other
    streams leaves its arrivals, queries, rollout draws and predictor noise unchanged.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                      description="stream name (letters, digits, _ . -), unique; keys its "
                      "random numbers and its row in summary.json by_stream")
    mix: Mix = Field(default="balanced", description="mix name or four tier weights easy..very-hard")
    schedule: list[MixChange] = Field(default_factory=list, max_length=10_000,
                                      description="later mix changes, by ascending time")
    arrivals: ArrivalSpec

    _mix = field_validator("mix")(_check_mix)
    _ascending = field_validator("schedule")(_check_ascending)


class AllocatorSpec(_Section):
    """The periodic allocator on the rolling token bank (model.md section 5)."""

    policy: str = Field(default="clear", description="allocation policy name")
    period: float = Field(default=1.0, ge=0, description="tick period Delta (s); 0 = decide "
                          "every arrival on its own, at its arrival time")
    budget_rate: float | Literal["unlimited"] = Field(
        description="token budget rate rho (tokens/s), or 'unlimited' (every admitted "
        "query gets its collection cap L_max)")
    window: float = Field(default=10.0, gt=0, description="rolling window W (s); the bank holds "
                          "at most rho * W free tokens")
    initial_fill: float = Field(default=0.0, ge=0, le=1, description="bank at t = 0, as a "
                                "fraction of rho * W")
    tick_budget: Literal["bank", "paced"] = Field(
        default="bank", description="budget B of one tick: 'bank' = all free tokens "
        "(model.md section 5); 'paced' = min(free, pending * rho / (arrival rate over the "
        "window) + tokens the bank would lose at its cap by the next tick)")
    params: dict[str, Any] = Field(default_factory=dict, description="policy parameters")

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        from simulator.policies import POLICIES

        if v not in POLICIES:
            raise ValueError(f"unknown policy {v!r}; valid: {', '.join(sorted(POLICIES))}")
        return v

    @field_validator("params")
    @classmethod
    def _known_params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        from simulator.policies import check_params

        if "policy" in info.data:  # else the policy itself was invalid and is reported
            check_params(info.data["policy"], v)  # raises naming the valid parameters
        return v

    @field_validator("budget_rate")
    @classmethod
    def _positive_rate(cls, v: float | str) -> float | str:
        if not isinstance(v, str) and not v > 0:
            raise ValueError("must be > 0 tokens/s or 'unlimited'")
        return v

    @property
    def unlimited(self) -> bool:
        """True when the budget is unlimited."""
        return self.budget_rate == "unlimited"


class PredictorSpec(_Section):
    """Threshold predictor: a registered ``kind`` and its parameters."""

    kind: str = Field(default="noisy-oracle", description="predictor name")
    params: dict[str, Any] = Field(default_factory=dict, description="predictor "
                                   "parameters (noisy-oracle: sigma, default 0.3)")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        import predictors  # noqa: F401  (registers the built-ins)
        from predictors.base import PREDICTORS

        if v not in PREDICTORS:
            raise ValueError(f"unknown predictor {v!r}; valid: {', '.join(sorted(PREDICTORS))}")
        return v


class OutputSpec(_Section):
    """Where and how results are written."""

    dir: str | None = Field(default=None, description="output folder, relative to the "
                            "scenario file (default out/<scenario file name>)")
    gpu_window: float = Field(default=10.0, gt=0, description="width of gpu.parquet windows (s)")
    slo: float | None = Field(default=None, gt=0, description="latency SLO (s) for "
                              "correct_within_slo_per_s")


class Scenario(_Section):
    """A whole scenario. Exactly one of ``duration`` and ``n_queries`` is set."""

    name: str = Field(default="scenario", description="label used in reports")
    pool: PoolSpec = Field(default_factory=lambda: PoolSpec())
    stream: StreamSpec = Field(default_factory=lambda: StreamSpec())
    arrivals: ArrivalSpec | None = Field(default=None, description="the arrival process of "
                                         "the single stream (or give 'streams')")
    streams: list[NamedStream] | None = Field(
        default=None, min_length=1, max_length=64, description="several named streams, "
        "each with its own mix and arrivals, instead of 'stream' and 'arrivals'")
    gpu: GpuSpec = Field(default_factory=lambda: GpuSpec())
    allocator: AllocatorSpec
    predictor: PredictorSpec = Field(default_factory=lambda: PredictorSpec())
    patience: Patience | None = Field(default=None, description="client patience on time "
                                      "to answer (s from arrival): a number (fixed), or "
                                      "{kind: fixed, seconds}, {kind: exponential, mean}, "
                                      "{kind: lognormal, median, sigma}; null = clients wait")
    duration: float | None = Field(default=None, gt=0, description="arrivals in [0, duration) s")
    n_queries: int | None = Field(default=None, gt=0, description="stop after this many arrivals")
    seed: int = Field(default=0, ge=0, description="run seed (arrivals, stream, rollouts, predictor)")
    output: OutputSpec = Field(default_factory=lambda: OutputSpec())
    limits: LimitSpec = Field(default_factory=lambda: LimitSpec(), description="run-size "
                              "limits checked before the run (simulator.scenario.size)")

    @field_validator("patience", mode="before")
    @classmethod
    def _patience_shorthand(cls, v: Any) -> Any:
        return {"kind": "fixed", "seconds": v} if isinstance(v, int | float) else v

    @field_validator("pool", mode="before")
    @classmethod
    def _pool_shorthand(cls, v: Any) -> Any:
        return {"source": v} if isinstance(v, str) else v

    @field_validator("stream", mode="before")
    @classmethod
    def _stream_shorthand(cls, v: Any) -> Any:
        return {"mix": v} if isinstance(v, str | list) else v

    @model_validator(mode="after")
    def _one_horizon(self) -> Scenario:
        if (self.duration is None) == (self.n_queries is None):
            raise ValueError("set exactly one of 'duration' (s) and 'n_queries'")
        if self.streams is None:
            if self.arrivals is None:
                raise ValueError("set 'arrivals' (one stream) or 'streams' (several)")
            return self
        if self.arrivals is not None or "stream" in self.model_fields_set:
            raise ValueError("'streams' replaces 'stream' and 'arrivals'; give each "
                             "stream its own mix and arrivals")
        names = [s.name for s in self.streams]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise ValueError(f"stream names must be unique; {dup!r} appears twice")
        return self

    @model_validator(mode="after")
    def _size(self) -> Scenario:
        check_run_size(self)  # raises naming the estimate and the limit to raise
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if self.limits == LimitSpec():  # default limits are left out of dumps
            out.pop("limits", None)
        return out
