"""The engine's scheduling primitives: exact (name, time) traces of At, call_at, the
movable Timer, again and next_is."""

from __future__ import annotations

import math

from simpy.events import Event

from simulator.des.engine import GPU, TICK, At, Engine


def test_timer_calls_back_only_when_due() -> None:
    env = Engine()
    calls: list[float] = []
    timer = env.timer(lambda: calls.append(env.now))
    timer.set(5.0)
    timer.set(8.0)           # later: the entry at 5 re-queues itself, no call at 5
    At(env, 5.0, TICK, lambda _ev: timer.set(3.0 + env.now))  # at 5 (after it): 8 -> 8
    env.run()
    assert calls == [8.0]
    timer.set(9.0)
    timer.set(8.5)           # earlier: queued at once, the entry at 9 runs nothing
    timer.set(math.inf)      # never: the entry at 8.5 comes due and calls nothing
    env.run()
    assert calls == [8.0] and env.now == 9.0


def test_timer_keeps_the_order_of_a_re_arm_at_the_old_time() -> None:
    # A timer moved from 1 to 2 re-queues at t = 1: after an event queued at t = 0 for
    # t = 2 at the same priority, which therefore runs first at t = 2.
    env = Engine()
    seen: list[str] = []
    timer = env.timer(lambda: seen.append("timer"))
    timer.set(1.0)
    At(env, 2.0, GPU, lambda _ev: seen.append("other"))
    timer.set(2.0)
    env.run()
    assert seen == ["other", "timer"]


def test_call_at_runs_before_a_tick_and_can_be_cancelled() -> None:
    env = Engine(trace=[])
    At(env, 1.0, TICK, lambda _ev: env.log("tick"))
    env.call_at(1.0, lambda: env.log("gpu"))
    env.call_at(0.5, lambda: env.log("never")).cancel()
    env.run()
    assert env.trace == [("gpu", 1.0), ("tick", 1.0)]


def test_again_and_next_is() -> None:
    env = Engine(trace=[])

    def step(ev: Event) -> None:
        env.log("step")
        if env.now < 3.0:
            env.again(ev, env.now + 1.0, TICK, step)

    At(env, 1.0, TICK, step)
    At(env, 2.0, GPU, lambda _ev: env.log("gpu"))
    env.run()
    assert env.trace == [("step", 1.0), ("gpu", 2.0), ("step", 2.0), ("step", 3.0)]
    At(env, 5.0, GPU)
    assert not env.next_is(5.0, GPU) and not env.next_is(6.0, TICK)
    assert env.now == 3.0 and env.next_is(4.0, TICK) and env.now == 4.0
