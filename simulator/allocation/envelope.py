"""Shadow-price allocation of S-shaped utilities, solved exactly on their concave envelopes.

Problem: maximise sum_i U_i(t_i) s.t. sum_i t_i <= B, t_i >= 0, where each U_i is an
S-shaped form of :mod:`simulator.allocation.forms` (convex below its inflection, concave
above, U(0) = 0). Such a per-query problem is not concave, but its concave envelope is:
the chord from (0, 0) to the tangent point t0 (where U'(t0) = U(t0) / t0, the best
utility per token), then U itself. At a price lambda (utility per token) a query's best
response on the envelope, which is also its best response on U, is

* t = 0 (abandon) when lambda >= U(t0) / t0 =: lambda_i, its abandonment price;
* otherwise the t > t0 on the concave branch with U'(t) = lambda (unique: U' falls there).

Demand is non-increasing in lambda with one jump per query, at lambda_i. lambda* is the
smallest price whose demand fits B (bisection on ln lambda), and the budget left below B
after the jump goes through :func:`simulator.allocation.shadow_price.spend_leftover`, the
marginal query being the unfunded one with the highest lambda_i. Everything is computed
in logs (ln t, ln U', ln lambda), so nothing over- or underflows however loose the budget.

The tangent point is found by vectorised bisection on ln t (:data:`INNER_ITER` halvings
of a bracket of :data:`LOG_SPAN`); the concave-branch caps come from the form's closed
form (``Form.best_response``: Lambert W_-1 for the surge-integral, the normal quantile
algebra for the lognormal, Newton for the logistic) or else by the same bisection, so a
form needs only ``ln U'`` and its inflection point. Pure numpy, deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.allocation.forms import Form, log_curve
from simulator.allocation.shadow_price import spend_leftover

__all__ = ["Envelope", "refill", "solve_envelope"]

INNER_ITER = 64   #: halvings of the ln t bracket (width LOG_SPAN): precision ~ 3e-18
LOG_SPAN = 60.0   #: the concave branch is searched on [ln t0, ln t0 + LOG_SPAN]
OUTER_ITER = 200  #: halvings of ln lambda at most (stops at a 1e-12 relative tolerance)


@dataclass(frozen=True)
class Envelope:
    """Each query's tangent point and abandonment price for one form.

    A query may instead be a *step* ``q 1[t >= T]`` (exact thresholds: the predictor's
    spread is at the floor). Its envelope is the chord to (T, q): tangent point T,
    abandonment price q / T, and at any lower price its best response is exactly T, so
    a batch of steps is solved as the knapsack on the known thresholds (best q / T
    first) and no margin past T is funded.

    Attributes:
        form: the utility form.
        theta: (n, 3) the queries' parameters.
        log_t0: (n,) ln of the tangent point (tokens).
        abandon: (n,) ln lambda_i = ln U(t0) - ln t0.
        step: (n,) the threshold T (tokens) of each step query, NaN for the others;
            None when there is none. (T itself, not exp(ln T), so a funded step's cap
            is never an ulp below its threshold.)
    """

    form: Form
    theta: np.ndarray
    log_t0: np.ndarray
    abandon: np.ndarray
    step: np.ndarray | None = None

    @classmethod
    def of(cls, form: Form, theta: np.ndarray, steps: np.ndarray | None = None,
           plateau: np.ndarray | None = None) -> Envelope:
        """Tangent points by bisection of ``ln U' + ln t - ln U`` (positive below t0).

        Args:
            form: the utility form.
            theta: (n, 3) the queries' parameters.
            steps: (n,) the threshold T (tokens) of each query that is a step at T, NaN
                for the others; None: no steps.
            plateau: (n,) each step's value q (needed with ``steps``).
        """
        if form.log_marginal is None or form.inflection is None:
            raise ValueError(f"utility {form.name!r} is not S-shaped; it has no envelope")
        theta = np.asarray(theta, dtype=np.float64)
        lo = np.log(np.maximum(form.inflection(theta), 1e-300))
        hi = lo + LOG_SPAN
        for _ in range(INNER_ITER):
            mid = 0.5 * (lo + hi)
            t = np.exp(mid)
            with np.errstate(divide="ignore", invalid="ignore"):
                h = form.log_marginal(t, theta) + mid - log_curve(form, t, theta)
            right = h > 0
            lo, hi = np.where(right, mid, lo), np.where(right, hi, mid)
        log_t0 = 0.5 * (lo + hi)
        abandon = log_curve(form, np.exp(log_t0), theta) - log_t0
        if steps is None:
            return cls(form, theta, log_t0, abandon)
        step = np.isfinite(steps)
        if plateau is None:
            raise ValueError("Envelope.of: steps need their plateau q")
        with np.errstate(divide="ignore", invalid="ignore"):
            log_step = np.log(np.where(step, steps, 1.0))
            log_t0 = np.where(step, log_step, log_t0)
            abandon = np.where(step, np.log(plateau) - log_step, abandon)
        return cls(form, theta, log_t0, abandon,
                   np.where(step, steps, np.nan) if step.any() else None)

    def caps(self, log_lam: float) -> tuple[np.ndarray, np.ndarray]:
        """(caps in tokens, funded mask) at price exp(log_lam); a step gets exactly T."""
        caps, funded = self._smooth_caps(log_lam)
        if self.step is not None:
            caps = np.where(np.isfinite(self.step) & funded, self.step, caps)
        return caps, funded

    def _smooth_caps(self, log_lam: float) -> tuple[np.ndarray, np.ndarray]:
        funded = log_lam < self.abandon
        if self.form.best_response is not None:
            with np.errstate(all="ignore"):
                log_t = np.maximum(self.form.best_response(log_lam, self.theta), self.log_t0)
            return np.where(funded, np.exp(log_t), 0.0), funded
        lo = self.log_t0.copy()
        hi = lo + LOG_SPAN
        lm = self.form.log_marginal
        assert lm is not None
        for _ in range(INNER_ITER):
            mid = 0.5 * (lo + hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                right = lm(np.exp(mid), self.theta) > log_lam   # U' still above the price
            lo, hi = np.where(right, mid, lo), np.where(right, hi, mid)
        return np.where(funded, np.exp(0.5 * (lo + hi)), 0.0), funded


def solve_envelope(env: Envelope, thresholds: np.ndarray, budget: float
                   ) -> tuple[np.ndarray, float, np.ndarray, int]:
    """lambda* and the caps for the queries of ``env`` under ``budget`` tokens.

    Args:
        env: the queries' envelopes.
        thresholds: (n,) the predicted thresholds (tokens), for leftover spending.
        budget: total tokens B >= 0.

    Returns:
        (caps, lambda*, funded at lambda*, bisection iterations); ``caps.sum() <= B``.
    """
    n = env.abandon.size
    if n == 0 or budget <= 0:
        return np.zeros(n), 0.0, np.zeros(n, dtype=bool), 0
    hi = float(env.abandon.max())          # nobody is funded at or above this price
    lo = float(env.abandon.min()) - 1.0    # everybody is funded below this one
    step, it = 1.0, 0
    while env.caps(lo)[0].sum() <= budget and step < 1e6:
        hi, lo, step = lo, lo - step, step * 4.0   # loose budget: demand fits lower still
    while it < OUTER_ITER and hi - lo > 1e-12 * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        if env.caps(mid)[0].sum() <= budget:
            hi = mid
        else:
            lo = mid
        it += 1
    caps, funded = env.caps(hi)
    caps = spend_leftover(caps, funded, thresholds, -env.abandon, budget)
    return caps, float(np.exp(hi)), funded, it


def _utility(env: Envelope, index: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """U_k(caps_k) for the queries ``index`` (utility units), elementwise."""
    caps = np.asarray(caps, dtype=np.float64)
    u = env.form.curve(caps[:, None], env.theta[index])[:, 0]
    if env.step is None:
        return u
    step = env.step[index]
    return np.where(np.isfinite(step), env.theta[index, 0] * (caps >= step), u)


def refill(env: Envelope, caps: np.ndarray, thresholds: np.ndarray, spread: np.ndarray,
           budget: float) -> np.ndarray:
    """Fund abandoned queries that fit by trimming the funded queries' margins.

    After the envelope solution an abandoned query j may miss the leftover only because
    every funded query holds a margin past its threshold (with exact thresholds the
    margins are a rounding of the step, worth almost nothing, and the leftover went to
    the funded queries). In order of abandonment price (most valuable first), j is
    offered ``c_j = T_j e^{2 s_j}`` tokens (about 98% of its plateau; a step exactly
    T_j), taken from the
    leftover and then from the funded caps above their own ``T e^{2 s}`` in proportion
    to that excess; the move is kept when it fits and the utility it adds, U_j(c_j),
    exceeds the utility the trimmed queries lose (computed exactly from the form). Stops at the first query that does not pass, so it is a
    greedy improvement of the same objective.

    Returns:
        new caps (a copy), ``sum <= budget``.
    """
    caps = caps.copy()
    floor = thresholds * np.exp(2.0 * spread)
    if env.step is not None:   # a step's plateau starts at T
        floor = np.where(np.isfinite(env.step), env.step, floor)
    order = np.argsort(-env.abandon, kind="stable")
    for j in order[caps[order] <= 0]:
        left = max(float(budget) - float(caps.sum()), 0.0)
        margin = np.where(caps > 0, np.maximum(caps - floor, 0.0), 0.0)
        room = float(margin.sum())
        want = float(floor[j])
        if want > left + room:
            break
        need = max(want - left, 0.0)
        new = caps - margin * (need / room) if need > 0 else caps.copy()
        touched = np.flatnonzero(new != caps)
        gain = float(_utility(env, np.array([j]), np.array([want]))[0])
        loss = float((_utility(env, touched, caps[touched])
                      - _utility(env, touched, new[touched])).sum())
        if gain <= loss:
            break
        new[j] = min(want, float(budget) - float(new.sum()))
        caps = new
    over = float(caps.sum()) - float(budget)
    if over > 0:   # float rounding
        k = int(np.argmax(caps))
        caps[k] = max(caps[k] - over, 0.0)
    return caps
