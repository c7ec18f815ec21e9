"""The tick budget rule (``allocator.tick_budget``): the pacing formula and the low-load
starvation it fixes.

Under the literal rule (``bank``) a lone pending query gets the whole free bank. Before
reserved caps stopped counting against the bank's cap, the tokens it held while decoding
blocked accrual, so at low load later ticks found the bank empty and abandoned queries
although the budget per query was ~6x the median threshold.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.des.pacing import ArrivalWindow, Pacer, paced_budget
from simulator.des.runner import run
from simulator.scenario.io import parse_scenario
from tests.des_helpers import scenario, tiny_pool


def _b(free: float, n_pending: int, period: float = 1.0, span: float = 10.0) -> float:
    """rho = 100 tokens/s, cap 1000, 5 arrivals in ``span``: a_hat = 0.5/s, m_hat = 200."""
    return paced_budget(free, capacity=1000.0, rate=100.0, period=period,
                        n_pending=n_pending, n_window=5, span=span)


def test_paced_budget_is_the_flow_share_plus_overflow() -> None:
    assert _b(free=500.0, n_pending=2) == pytest.approx(400.0)
    # 650 free + 100 accrued by the next tick stays under the cap: no overflow
    assert _b(free=650.0, n_pending=1) == pytest.approx(200.0)
    # 980 free + 100 accrued before the next tick would lose 80 tokens at the cap
    assert _b(free=980.0, n_pending=1) == pytest.approx(280.0)
    # never more than the free tokens
    assert _b(free=150.0, n_pending=2) == 150.0
    # period 0: the overflow looks ahead 0 s
    assert _b(free=1000.0, n_pending=1, period=0.0) == pytest.approx(200.0)
    # no rate estimate yet (span 0: period 0 at t = 0): the literal rule
    assert _b(free=900.0, n_pending=3, span=0.0) == 900.0
    # a longer span at the same count means a lower rate, so a larger share
    assert _b(free=900.0, n_pending=1, span=20.0) == pytest.approx(400.0)


def test_arrival_window_counts_the_half_open_window() -> None:
    w = ArrivalWindow(10.0)
    w.add(np.array([0.5, 1.0, 2.0]))
    assert w.count(2.0) == 3  # (-8, 2]
    w.add(np.array([]))
    w.add(np.array([9.0, 11.0, 12.0]))
    assert w.count(12.0) == 3  # (2, 12]: 2.0 is out, 9.0, 11.0, 12.0 are in
    w.add(np.array([12.5]))
    assert w.count(12.5) == 4  # (2.5, 12.5]
    assert w.count(30.0) == 0


def test_pacer_rate_estimate_and_guards() -> None:
    p = Pacer("paced", rate=100.0, window=10.0, period=1.0, capacity=1000.0)
    # first tick at t = 0: the batch counts as one period's arrivals (span = Delta)
    p.observe(np.array([0.0, 0.0]))
    assert p.budget(0.0, 2, free=1000.0) == pytest.approx(2 * 50.0 + 100.0)
    # t = 4: 3 arrivals in 4 s -> m_hat = 100 * 4 / 3
    p.observe(np.array([3.5]))
    assert p.budget(4.0, 1, free=500.0) == pytest.approx(400.0 / 3)
    # t = 20: window (10, 20] holds only this tick's arrival -> m_hat = rho * W
    p.observe(np.array([19.0]))
    assert p.budget(20.0, 1, free=500.0) == pytest.approx(500.0)  # m_hat = 1000, capped at free
    # period 0 at t = 0: no estimate, the free bank
    p0 = Pacer("paced", rate=100.0, window=10.0, period=0.0, capacity=1000.0)
    p0.observe(np.array([0.0]))
    assert p0.budget(0.0, 1, free=700.0) == 700.0
    assert Pacer("bank", 100.0, 10.0, 1.0, 1000.0).budget(5.0, 1, 321.0) == 321.0


def _low_load(rule: str, window: float) -> dict[str, float]:
    """0.5 queries/s with 1500 tokens/s (~3000 tokens per query, median threshold ~500)."""
    sc = parse_scenario({
        "pool": "default", "stream": "balanced", "arrivals": {"kind": "poisson", "rate": 0.5},
        "allocator": {"policy": "clear", "period": 1.0, "budget_rate": 1500,
                      "window": window, "tick_budget": rule},
        "duration": 600, "seed": 0})
    res = run(sc)
    ticks = res.ticks.drop_nulls("tick_budget")
    assert (ticks["tick_budget"] <= ticks["free_tokens"]).all()
    assert (ticks["committed_tokens"] <= ticks["tick_budget"] + 1e-9).all()
    return res.summary


def test_low_load_clear_abandons_little_when_the_budget_is_ample() -> None:
    # Regression: reserved caps used to count against the bank's cap, so queries holding
    # caps while decoding stopped accrual and 53% were abandoned (W = 10 s, bank rule).
    unlimited = run(parse_scenario({
        "pool": "default", "stream": "balanced", "arrivals": {"kind": "poisson", "rate": 0.5},
        "allocator": {"policy": "clear", "budget_rate": "unlimited"},
        "duration": 600, "seed": 0})).summary["accuracy"]
    for window in (10.0, 30.0):
        for rule in ("bank", "paced"):
            s = _low_load(rule, window)
            assert s["abandonment_rate"] < 0.1, (rule, window, s["abandonment_rate"])
            assert s["accuracy"] > 0.85 * unlimited, (rule, window, s["accuracy"])


def test_reserved_caps_do_not_stop_accrual() -> None:
    from simulator.des.bank import TokenBank

    bank = TokenBank(rate=100.0, window=10.0, initial_fill=1.0)   # cap 1000 free tokens
    bank.commit(1000.0)
    bank.accrue(5.0)
    assert bank.free == pytest.approx(500.0) and bank.reserved == 1000.0
    bank.settle(6.0, cap=1000.0, used=100.0)   # refund 900, but free is capped at 1000
    assert bank.free == pytest.approx(1000.0) and bank.reserved == 0.0


def test_unlimited_budget_is_not_paced() -> None:
    pool = tiny_pool([[50, 80], [200, 10]])
    runs = [run(scenario(allocator={"budget_rate": "unlimited", "tick_budget": rule}),
                pool=pool) for rule in ("paced", "bank")]
    assert runs[0].queries.equals(runs[1].queries)
    assert runs[0].ticks["tick_budget"].is_null().all()


def test_policies_see_recent_predictions_and_the_noise_sd(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The allocator hands a policy a sample of the last REFERENCE thresholds, renewed
    every REFRESH predictions, and the predictor's threshold_sd (clear-calibrated fits
    its prior to them)."""
    import simulator.des.runner as runner
    from simulator.des.allocator import REFERENCE, REFRESH
    from simulator.policies import get_policy

    seen: list[tuple[np.ndarray, np.ndarray, float | None]] = []
    real = get_policy("clear-calibrated")

    def spy(inp, params):  # type: ignore[no-untyped-def]
        if inp.prior_thresholds is not None:
            seen.append((inp.thresholds.copy(), inp.prior_thresholds.copy(), inp.threshold_sd))
        return real(inp, params)

    monkeypatch.setattr(runner, "get_policy", lambda name: spy)
    pool = tiny_pool([[20 * (i + 1)] * 2 for i in range(40)])
    sc = scenario(allocator={"policy": "clear-calibrated", "period": 1.0},
                  arrivals={"kind": "poisson", "rate": 10.0}, n_queries=REFERENCE + 400,
                  predictor={"kind": "noisy-oracle", "params": {"sigma": 0.4}})
    run(sc, pool=pool)
    assert len(seen) > 50
    history: list[float] = []
    renewals = 0
    for k, (current, ref, sd) in enumerate(seen):
        history.extend(current.tolist())
        assert sd == 0.4
        # a window of the history that ends fewer than REFRESH predictions ago
        ends = [e for e in range(len(history), max(len(history) - REFRESH, 0), -1)
                if e >= ref.size and np.array_equal(history[e - ref.size:e], ref)]
        assert ends, f"call {k}: sample is not a recent window"
        assert ref.size == min(ends[0], REFERENCE)
        renewals += ends[0] == len(history)
    assert len(history) > REFERENCE and renewals < len(seen) / 4   # mostly reused
