"""Floors for abandoned queries once a budget is ample, judged by the shadow price.

A shadow-price policy whose utility is centred on the predicted threshold T (a
lognormal or surge-integral of width s, the predictor's spread) abandons the queries
whose T is too long for the price, and once the price is low it funds the others past
their plateau. Its utility says a cap far below T buys nothing, but real accuracy
curves are not that thin-tailed: s is a robust width of ln(length) around T (a median
absolute deviation), and the rollouts it leaves out, short correct ones in particular,
are where a long-T query is answered early (docs/allocation.md, ample budgets: on the
THIP rollouts a query predicted at 13 000 tokens reaches 0.079 of accuracy by 1 024
tokens and only 0.095 by 12 000). A uniform split collects that; an abandoning policy
cannot. The rule:

* **When.** The *plateau point* of a query is ``P = T e^{k s}`` (k = 2: 97.7% of the
  lognormal's plateau; the point :func:`simulator.allocation.envelope.refill` also
  funds). A funded query's cap is at or past P exactly when the price lambda is below
  its marginal utility at P, so the share of funded caps past P says how far the price
  has fallen: the budget is *ample* when that share is at least ``ample``, i.e. the
  policy's own utility values the last tokens of many funded caps at almost nothing.
  At a scarce budget (256-512 tokens/query, sigma 0.3, on the bundled pools) almost no
  funded cap reaches P and nothing changes.
* **How much.** A floor buys an abandoned query its short correct rollouts, which are
  about as long as the traffic's typical queries, so the floor is the predicted T of
  the batch's median query (the caller passes a quantile of the batch's T). It is
  given only when it is at most a share of the mean budget B / N (the caller checks
  that: 0.6 in ``shadow-price``, so B / N is at least 1.67 times the median T) and
  when the unspent budget and the funded caps' margins above their T can
  pay it to every abandoned query; it is taken from those margins in proportion to
  them, so no funded cap is cut below its T. Otherwise nothing changes.

Step queries (exact thresholds, K = 1) are left out: their utility below T is exactly
zero, which is true of a single rollout.

Pure numpy, deterministic; ``caps >= 0`` and ``caps.sum() <= budget`` are kept.
"""

from __future__ import annotations

import numpy as np

__all__ = ["floor_abandoned", "plateau_point"]


def plateau_point(thresholds: np.ndarray, spread: np.ndarray, k: float,
                  step: np.ndarray | None = None) -> np.ndarray:
    """``T e^{k s}`` per query (tokens); a step query's plateau starts at its T."""
    point = thresholds * np.exp(k * spread)
    if step is not None:
        point = np.where(np.isfinite(step), step, point)
    return point


def floor_abandoned(caps: np.ndarray, thresholds: np.ndarray, plateau: np.ndarray,
                    budget: float, floor: float, ample: float,
                    eligible: np.ndarray | None = None) -> np.ndarray:
    """Give each abandoned query ``floor`` tokens when the budget is ample.

    Args:
        caps: (n,) the policy's caps (tokens, >= 0).
        thresholds: (n,) the predicted thresholds T (tokens): funded caps are not cut
            below them.
        plateau: (n,) each query's plateau point (tokens; :func:`plateau_point`).
        budget: total tokens B.
        floor: the floor per abandoned query (tokens, >= 0).
        ample: the share of funded queries whose caps must be at or past their plateau
            point for the budget to count as ample (in [0, 1]).
        eligible: (n,) bool, the abandoned queries that may get a floor (None: all).

    Returns:
        new caps (a copy): the caps unchanged unless the budget is ample and the
        unspent budget plus the funded margins above T hold ``floor`` for each of the m
        eligible abandoned queries; then each of those gets exactly ``floor``, paid
        first from the unspent budget and then from the margins in proportion to them.
        ``sum <= budget``.
    """
    caps = np.asarray(caps, dtype=np.float64).copy()
    funded = caps > 0
    gone = ~funded if eligible is None else ~funded & eligible
    m = int(gone.sum())
    if m == 0 or floor <= 0 or not funded.any():
        return caps
    if float(np.mean(caps[funded] >= plateau[funded])) < ample:
        return caps
    left = max(float(budget) - float(caps.sum()), 0.0)
    margin = np.where(funded, np.maximum(caps - thresholds, 0.0), 0.0)
    room = float(margin.sum())
    need = floor * m - left
    if need > room:
        return caps
    if need > 0:
        caps = caps - margin * (need / room)
    caps[gone] = floor
    over = float(caps.sum()) - float(budget)
    if over > 0:   # float rounding
        k = int(np.argmax(caps))
        caps[k] = max(caps[k] - over, 0.0)
    return caps
