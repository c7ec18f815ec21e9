"""Online policies that decide each query at its arrival: ``pacing`` and ``learned-price``.

Both price tokens with one shadow price lambda (utility per token) and fund each query
with its best response at the current price on the ``shadow-price`` utility (the
surge-integral centred on T with the predictor's spread by default, solved on its concave
envelope: :mod:`simulator.allocation.envelope`), clipped to what is left of the budget.
They differ in how lambda moves:

* ``pacing`` - dual mirror descent (Balseiro, Lu & Mirrokni 2020, "Dual mirror descent
  for online allocation problems"; Balseiro & Gur 2019): after each decision the price
  takes a multiplicative step (mirror descent on the dual with the entropy mirror map,
  i.e. a subgradient step on ln lambda)::

      ln lambda <- ln lambda + step * (spend - rho * dt) / m_hat

  where ``spend`` is the tokens taken from the bank since the last decision (caps
  committed minus unused tokens refunded) plus the tokens the best responses asked for
  that the bank could not pay (else a drained bank pins the spend at the accrual and the
  price never rises), ``rho * dt`` the budget accrued meanwhile
  and ``m_hat`` the budget per query (rho / arrival rate), which makes the step
  dimensionless: overspending by one query's budget raises the price by a factor
  exp(step). The overspend of one decision is clipped to 10 query budgets (the
  bounded costs the regret bounds assume; a query can ask for far more than its
  share); the budget accrued over a long gap between arrivals is not clipped. Default ``step`` 0.02, about 1/sqrt(T) for the T = 2,400 arrivals of a
  bundled scenario (Balseiro et al.'s step is of order 1/sqrt(T)); docs/allocation.md
  has the figures at 0.01 to 0.1.
* ``learned-price`` - re-solving on past arrivals (Agrawal, Wang & Ye 2014, "A dynamic
  near-optimal algorithm for online linear programming"): at re-solve points the price
  is lambda* of the recent predictions (the allocator's last 512, ``prior_thresholds``)
  under their share of the budget, m_hat per query, and it stays fixed in between.
  The budget share is the remaining budget over the remaining arrivals, as Agrawal et
  al. re-solve: m_hat plus the free bank spread over the next window's arrivals.
  ``schedule: geometric`` (default) re-solves after 1, 2, 4, ... decisions, then every
  ``every`` decisions (default 16) once the doubling reaches it; ``schedule: fixed``
  every ``every`` decisions from the start.

Caps never exceed the budget they are given (in the DES: the bank's free tokens), so
neither policy overdraws the bank. The DES drives a stateful :class:`OnlineState` per run
through :mod:`simulator.des.online`; the registered functions below are the same rule
applied to one batch in order (the static frontier), with the batch's budget spread
evenly over its queries as the budget rate: pure, deterministic, ``sum(caps) <= B``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.allocation.envelope import Envelope, solve_envelope
from simulator.allocation.forms import FORMS, get_form, lognormal_to
from simulator.policies.base import (
    Allocation,
    AllocationInput,
    check_input,
    flag,
    param,
    register_policy,
)
from simulator.policies.calibrated import shrink_inputs
from simulator.policies.shadow import _spread_q

__all__ = ["ONLINE", "Context", "LearnedPrice", "OnlineState", "Pacing", "online_state"]

SCHEDULES = ("geometric", "fixed")
COMMON = ("utility", "spread", "min_spread", "use_solvability", "shrink")
S_SHAPED = tuple(f for f in FORMS if f != "surge")
MAX_GRADIENT = 10.0    #: (spend - budget) / m_hat per decision is clipped above to this
LOG_LAM_BOUND = 700.0  #: |ln lambda| is kept below this (exp stays finite)


@dataclass(frozen=True)
class Context:
    """What the engine tells an online policy at a decision.

    Attributes:
        time: now (s).
        spent: tokens taken from the bank so far (committed caps minus refunds).
        accrued: budget received so far, rho * time plus the initial fill (tokens),
            counted without the bank's cap.
        per_query: m_hat, the budget per query (tokens): rho / the arrival rate.
        free: the bank's free tokens now.
        horizon: arrivals expected in one window W (a_hat * W, >= 1).
    """

    time: float
    spent: float
    accrued: float
    per_query: float
    free: float = 0.0
    horizon: float = 1.0


def _envelope(inp: AllocationInput, t: np.ndarray, params: Mapping[str, Any], name: str
              ) -> Envelope:
    """The queries' envelopes on the policy's utility (as ``shadow-price`` builds them)."""
    utility = str(params.get("utility", "surge-integral"))
    if utility not in S_SHAPED:
        raise ValueError(f"{name}: unknown utility {utility!r}; valid: {', '.join(S_SHAPED)}")
    min_spread = param(params, "min_spread", 0.001)
    if min_spread <= 0:
        raise ValueError(f"{name}: min_spread must be > 0")
    s, q = _spread_q(inp, t.size, params, name)
    if flag(params, "shrink", True):
        t, s = shrink_inputs(inp, t, s, name)
    return Envelope.of(get_form(utility), lognormal_to(utility, q, t, np.maximum(s, min_spread)))


def _fund(env: Envelope, log_lam: float, budget: float) -> tuple[np.ndarray, float]:
    """Best responses at exp(log_lam), in order, within the budget left.

    A query whose best response does not fit gets what is left only if that still earns
    more than it costs at the price (U(left) > lambda * left), else nothing: a cap cut
    short of the threshold mostly buys a wrong answer.

    Returns:
        (caps, the tokens the best responses asked for beyond what was granted).
    """
    caps, _ = env.caps(log_lam)
    out = np.zeros(caps.size)
    left, unmet = budget, 0.0
    lam = math.exp(log_lam)
    for i, c in enumerate(caps.tolist()):
        if c <= left:
            out[i] = max(c, 0.0)
        elif left > 0:
            gain = float(env.form.curve(np.array([[left]]), env.theta[i:i + 1])[0, 0])
            out[i] = left if gain > lam * left else 0.0
        unmet += c - out[i]
        left -= out[i]
    return out, unmet


def _price(inp: AllocationInput, sample: np.ndarray, per_query: float,
           params: Mapping[str, Any], name: str) -> float:
    """ln lambda* of ``sample`` (thresholds) sharing ``per_query`` tokens each."""
    probe = AllocationInput(sample, per_query * sample.size, threshold_sd=inp.threshold_sd,
                            prior_thresholds=inp.prior_thresholds)
    env = _envelope(probe, sample, params, name)
    _, lam, _, _ = solve_envelope(env, sample, per_query * sample.size)
    return math.log(lam) if lam > 0 else float(env.abandon.min()) - 1.0


class OnlineState:
    """One run's price; :meth:`decide` is called once per decision, in time order."""

    name = "online"

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self.log_lam: float | None = None
        self.decisions = 0
        self.unmet = 0.0   # tokens asked for at the price but not in the bank, since the
                           # last price update (tokens)

    def decide(self, inp: AllocationInput, ctx: Context) -> Allocation:
        """Caps for the queries arriving now (``inp.budget``: what may be spent)."""
        t, b = check_input(inp)
        env = _envelope(inp, t, self.params, self.name)
        self.update(inp, t, ctx)
        assert self.log_lam is not None
        self.log_lam = min(max(self.log_lam, -LOG_LAM_BOUND), LOG_LAM_BOUND)
        caps, unmet = _fund(env, self.log_lam, b)
        self.unmet += unmet
        self.decisions += t.size
        return Allocation(caps, math.exp(self.log_lam))

    def update(self, inp: AllocationInput, t: np.ndarray, ctx: Context) -> None:
        """Move the price before deciding (subclasses)."""
        raise NotImplementedError


class Pacing(OnlineState):
    """Dual mirror descent on ln lambda from spend vs the budget rate."""

    name = "pacing"

    def __init__(self, params: Mapping[str, Any]) -> None:
        super().__init__(params)
        self.step = param(params, "step", 0.02)
        if not (self.step > 0 and math.isfinite(self.step)):
            raise ValueError(f"pacing: step must be > 0, got {params.get('step')!r}")
        self._gap = 0.0   # (spend - budget) at the last decision (tokens)

    def update(self, inp: AllocationInput, t: np.ndarray, ctx: Context) -> None:
        # demand, not just what the bank could pay: a drained bank caps the spend at the
        # accrual, and the price must still rise when the queries ask for more
        # (the unmet tokens since the last decision are added to this step only, so a
        # huge request never swamps the running totals' precision)
        gap = ctx.spent - ctx.accrued
        if self.log_lam is None:
            self.log_lam = _price(inp, t, max(ctx.per_query, 1e-9), self.params, self.name)
        elif ctx.per_query > 0:  # a bounded gradient (Balseiro et al. bound the costs)
            excess = gap - self._gap + self.unmet
            # clip before dividing: a tiny per-query budget must not overflow to inf
            g = (MAX_GRADIENT if excess >= MAX_GRADIENT * ctx.per_query
                 else excess / ctx.per_query)
            self.log_lam += self.step * g
        self._gap, self.unmet = gap, 0.0


class LearnedPrice(OnlineState):
    """lambda* re-solved on the recent predictions at geometric or fixed intervals."""

    name = "learned-price"

    def __init__(self, params: Mapping[str, Any]) -> None:
        super().__init__(params)
        self.schedule = str(params.get("schedule", "geometric"))
        if self.schedule not in SCHEDULES:
            raise ValueError(f"learned-price: unknown schedule {self.schedule!r}; valid: "
                             f"{', '.join(SCHEDULES)}")
        every = params.get("every", 16)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"learned-price: every must be a whole number >= 1, got "
                             f"{every!r}")
        self.every = every
        self._next = 1    # decisions made before the next re-solve

    def update(self, inp: AllocationInput, t: np.ndarray, ctx: Context) -> None:
        if self.log_lam is not None and self.decisions < self._next:
            return
        sample = t if inp.prior_thresholds is None or inp.prior_thresholds.size == 0 \
            else np.asarray(inp.prior_thresholds, dtype=np.float64)
        # the remaining budget over the remaining arrivals (Agrawal, Wang & Ye): the
        # next window's accrual plus the free bank, over the next window's arrivals
        per = ctx.per_query + ctx.free / max(ctx.horizon, 1.0)
        self.log_lam = _price(inp, sample, max(per, 1e-9), self.params, self.name)
        done = max(self.decisions, 1)
        if self.schedule == "geometric" and 2 * done <= self.every:
            self._next = 2 * done
        else:
            self._next = done + self.every


ONLINE: dict[str, Callable[[Mapping[str, Any]], OnlineState]] = {
    "pacing": Pacing, "learned-price": LearnedPrice}


def online_state(name: str, params: Mapping[str, Any]) -> OnlineState | None:
    """A fresh state for online policy ``name``, or None for a tick policy."""
    make = ONLINE.get(name)
    return None if make is None else make(params)


def _batch(state: OnlineState, inp: AllocationInput) -> Allocation:
    """The online rule over one batch in order: query i arrives at time i, budget B/N."""
    t, b = check_input(inp)
    n = t.size
    caps = np.zeros(n)
    if n == 0:
        return Allocation(caps)
    per = b / n
    spent, lam = 0.0, None
    for i in range(n):
        one = AllocationInput(
            t[i:i + 1], max(b - spent, 0.0),
            log_spread=None if inp.log_spread is None else inp.log_spread[i:i + 1],
            solvability=None if inp.solvability is None else inp.solvability[i:i + 1],
            threshold_sd=inp.threshold_sd,
            prior_thresholds=t if inp.prior_thresholds is None else inp.prior_thresholds)
        alloc = state.decide(one, Context(float(i), spent, per * i, per, 0.0, float(n)))
        caps[i] = min(float(alloc.caps[0]), max(b - spent, 0.0))
        spent += caps[i]
        lam = alloc.shadow_price
    return Allocation(caps, lam)


@register_policy("pacing", params=(*COMMON, "step"))
def pacing(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """Decide each query at arrival with a price paced by dual mirror descent.

    Params:
        step: the mirror-descent step on ln lambda per query's budget of imbalance
            (default 0.02).
        utility, spread, min_spread, use_solvability, shrink: as ``shadow-price``.
    """
    return _batch(Pacing(params), inp)


@register_policy("learned-price", params=(*COMMON, "schedule", "every"))
def learned_price(inp: AllocationInput, params: Mapping[str, Any]) -> Allocation:
    """Decide each query at arrival with lambda* re-solved on the recent predictions.

    Params:
        schedule: geometric (default: after 1, 2, 4, ... decisions up to ``every``) or
            fixed (every ``every`` decisions).
        every: re-solve interval in decisions (default 16).
        utility, spread, min_spread, use_solvability, shrink: as ``shadow-price``.
    """
    return _batch(LearnedPrice(params), inp)
