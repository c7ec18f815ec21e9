"""M/G/1 processor sharing: clearsim against Ciw and a plain SimPy server, side by side.

The workload is ``tests/test_des_theory.py``'s: Poisson arrivals, service sizes of
20..400 tokens (two rollouts per query of a 64-query pool, the balanced mix), a GPU
with s0 = 0, unlimited slots, no prefill and an unlimited budget (``period = 0``, so
each arrival is admitted at its arrival time): a PS server of capacity 1 / s1 tokens/s.
clearsim's full run draws the arrival times and sizes once per (rho, N); the same
times and sizes (work = tokens * s1 seconds) are then fed to

* ``clearsim-gpu``: clearsim's ``FluidGpu`` alone, each arrival admitted at its time;
* ``ciw``: Ciw's ``PSNode`` (Sequential inter-arrival and service times);
* ``simpy-ps``: a plain SimPy PS server (:func:`simpy_ps`, virtual time and a heap).

Each engine runs ``--repeats`` times, the engines alternating, on CPU time
(``time.process_time``; the median is printed). Each line gives the mean response time,
its error against E[S] / (1 - rho), and the CPU-time ratio of each peer to clearsim's
full run (>1: clearsim is faster).

    .venv/bin/python bench/peers.py                      # rho 0.5, 0.8; 1e5 and 1e6
    .venv/bin/python bench/peers.py --sizes 2e4 --repeats 1   # quick
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from heapq import heappop, heappush
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator.des.engine import TICK, At, Engine  # noqa: E402
from simulator.des.records import MemorySink, Occupancy, Spool  # noqa: E402
from simulator.des.runner import run  # noqa: E402
from simulator.serving import FluidGpu, GpuSpec  # noqa: E402
from tests.des_helpers import scenario  # noqa: E402
from tests.test_des_theory import S1, _mean_service, _pool  # noqa: E402

Workload = tuple[list[float], list[int]]   # arrival times (s), sizes (tokens)


def clearsim_full(rho: float, n: int) -> tuple[float, float, Workload]:
    """The whole clearsim run of the theory test (``simulator.run``, in memory): its CPU
    time, mean latency (s) and the arrival times and sizes it drew."""
    pool = _pool()
    sc = scenario(arrivals={"kind": "poisson", "rate": rho / _mean_service(pool)},
                  n_queries=n, seed=3, allocator={"budget_rate": "unlimited", "period": 0},
                  gpu={"max_seqs": None, "s0": 0.0, "s1": S1, "p0": 0.0, "p1": 0.0})
    c0 = time.process_time()
    res = run(sc, pool=pool)
    cpu = time.process_time() - c0
    q = res.queries.sort("query")
    return (cpu, float(q["latency"].mean()),  # type: ignore[arg-type]
            (q["arrival_time"].to_list(), q["tokens_generated"].to_list()))


def clearsim_gpu(work: Workload) -> float:
    """clearsim's fluid GPU alone; mean response time (s)."""
    arrival, tokens = work
    env = Engine()
    total = [0.0]
    occupancy = Occupancy(math.inf, Spool("gpu", MemorySink()))

    class Outcomes:  # the ledger's protocol (simulator.serving.clock.Outcomes)
        def left(self, q: int, t: float) -> None:
            total[0] += t - arrival[q]

        def started(self, q: int, t: float) -> None: ...
        def expired(self, q: int, t_end: float, t_now: float) -> None: ...
        def timed_out(self, q: int, t: float, used: int) -> None: ...
        def preempted(self, q: int) -> None: ...
        def first_token(self, q: int, t: float) -> None: ...

    gpu = FluidGpu(env, GpuSpec(max_seqs=None, s0=0.0, s1=S1, p0=0.0, p1=0.0), occupancy,
                   Outcomes())

    def feed() -> simpy.events.ProcessGenerator:
        for i, (t, g) in enumerate(zip(arrival, tokens, strict=True)):
            yield At(env, t, TICK)
            gpu.admit(t, [(i, g, 0.0, t, 0, g, math.inf)])

    env.process(feed())
    env.run()
    return total[0] / len(arrival)


def simpy_ps(work: Workload) -> float:
    """A plain SimPy processor-sharing server of rate 1 / s1 tokens/s; mean response (s).

    One process waits for whichever comes first, the next arrival or the next departure;
    v is the work each present job has received (s of solo service), so a job of size x
    arriving at v leaves when v reaches v + x.
    """
    arrival, tokens = work
    n = len(arrival)
    env = simpy.Environment()
    total = [0.0]

    def server() -> simpy.events.ProcessGenerator:
        heap: list[tuple[float, int]] = []
        v, last, i = 0.0, 0.0, 0
        while i < n or heap:
            k = len(heap)
            t_dep = last + (heap[0][0] - v) * k if heap else math.inf
            t_arr = arrival[i] if i < n else math.inf
            yield env.timeout(max(min(t_dep, t_arr) - env.now, 0.0))
            if k:
                v += (env.now - last) / k
            last = env.now
            if t_dep <= t_arr:
                j = heappop(heap)[1]
                total[0] += env.now - arrival[j]
            else:
                heappush(heap, (v + tokens[i] * S1, i))
                i += 1

    env.process(server())
    env.run()
    return total[0] / n


def ciw_ps(work: Workload) -> float:
    """Ciw's processor-sharing node on the same times and sizes; mean response (s)."""
    import ciw

    arrival, tokens = work
    gaps = np.diff(np.asarray(arrival), prepend=0.0).tolist()
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Sequential([*gaps, 1e18])],  # then no more
        service_distributions=[ciw.dists.Sequential([g * S1 for g in tokens] + [1.0])],
        number_of_servers=[math.inf])
    ciw.seed(0)
    sim = ciw.Simulation(network, node_class=ciw.PSNode)
    sim.simulate_until_max_customers(len(arrival), method="Complete")
    recs = sim.get_all_records()
    return float(np.mean([r.exit_date - r.arrival_date for r in recs]))


def _cpu(fn: Callable[[Workload], float], work: Workload) -> tuple[float, float]:
    c0 = time.process_time()
    out = fn(work)
    return time.process_time() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e5,1e6", help="arrivals; default: %(default)s")
    ap.add_argument("--rhos", default="0.5,0.8", help="loads; default: %(default)s")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each engine")
    ap.add_argument("--engines", default="clearsim,clearsim-gpu,simpy-ps,ciw",
                    help="comma-separated; default: %(default)s")
    args = ap.parse_args()
    engines = args.engines.split(",")
    print(f"{'rho':>4} {'N':>9} {'engine':>14} {'CPU s':>8} {'mean W s':>9} {'theory':>8} "
          f"{'error':>7} {'clearsim faster':>16}")
    for rho in (float(r) for r in args.rhos.split(",")):
        theory = _mean_service(_pool()) / (1.0 - rho)
        for n in (int(float(s)) for s in args.sizes.split(",")):
            cpu: dict[str, list[float]] = {e: [] for e in engines}
            mean: dict[str, float] = {}
            work: Workload | None = None
            for _ in range(args.repeats):
                c, mean["clearsim"], work = clearsim_full(rho, n)
                cpu["clearsim"].append(c)
                for e in engines:
                    if e == "clearsim":
                        continue
                    fn = {"clearsim-gpu": clearsim_gpu, "simpy-ps": simpy_ps,
                          "ciw": ciw_ps}[e]
                    assert work is not None
                    c, mean[e] = _cpu(fn, work)
                    cpu[e].append(c)
            base = float(np.median(cpu["clearsim"]))
            for e in engines:
                med = float(np.median(cpu[e]))
                print(f"{rho:>4} {n:>9,} {e:>14} {med:>8.2f} {mean[e]:>9.5f} {theory:>8.5f} "
                      f"{mean[e] / theory - 1:>+7.2%} {med / base:>15.2f}x", flush=True)


if __name__ == "__main__":
    main()
