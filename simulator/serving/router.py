"""Several identical GPU replicas behind one ``admit`` (docs/serving.md, "Replicas").

Each replica is its own :class:`~simulator.serving.fluid.FluidGpu` (own clock callbacks,
slots, queue and KV pool); the token bank and the allocator stay shared. The router
sends each admitted request to one replica when it is admitted and never moves it:

* ``round-robin``: replicas in turn (0, 1, ..., R - 1, 0, ...), over the whole run;
* ``least-loaded``: the fewest requests in slots + queued (FIFO and resume queues);
* ``least-kv``: the least KV memory held (tokens: context on-demand, reservations
  reserve-cap), which needs a KV pool (``kv_tokens``).

Loads are read at the admission time (each replica advanced to it) and updated as a
tick's requests are placed one by one: +1 request, + the KV the request takes on
admission (prompt, plus its cap in reserve-cap mode). Ties go to the lowest replica
number, so routing is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from simulator.serving.fluid import Entry, FluidGpu

__all__ = ["ROUTERS", "Router", "choose"]

ROUTERS = ("round-robin", "least-loaded", "least-kv")


def choose(router: str, loads: Sequence[float], turn: int) -> int:
    """The replica for the next request: ``turn mod R`` for round-robin, else the index
    of the smallest load (lowest index on ties)."""
    if router == "round-robin":
        return turn % len(loads)
    best = 0
    for r in range(1, len(loads)):
        if loads[r] < loads[best]:
            best = r
    return best


class Router:
    """R replicas with one ``admit``/``close``, as the allocator expects of a GPU.

    Args:
        gpus: the replicas (replica r is ``gpus[r]``).
        router: one of :data:`ROUTERS`.
        on_route: called ``(query, replica)`` for each request placed.
        reserve: KV admission is reserve-cap (a request takes prompt + cap on admission).
    """

    def __init__(self, gpus: list[FluidGpu], router: str,
                 on_route: Callable[[int, int], None], reserve: bool = False) -> None:
        if router not in ROUTERS:
            raise ValueError(f"unknown router {router!r}; valid: {', '.join(ROUTERS)}")
        self.gpus, self.router, self.on_route, self.reserve = gpus, router, on_route, reserve
        self.turn = 0

    def loads(self, t: float) -> list[float]:
        """Each replica's load at ``t`` (s) under this router (requests or KV tokens)."""
        if self.router == "round-robin":
            return [0.0] * len(self.gpus)
        for g in self.gpus:
            g.sync(t)
        if self.router == "least-loaded":
            return [float(g.load) for g in self.gpus]
        return [g.kv_used for g in self.gpus]

    def admit(self, t: float, entries: list[Entry]) -> None:
        """Place each entry (:data:`~simulator.serving.fluid.Entry`) on a replica at
        ``t`` (s), then admit each replica's share in the entries' order."""
        loads = self.loads(t)
        parts: list[list[Entry]] = [[] for _ in self.gpus]
        for e in entries:
            r = choose(self.router, loads, self.turn)
            self.turn += 1
            parts[r].append(e)
            self.on_route(e[0], r)
            if self.router == "least-loaded":
                loads[r] += 1.0
            elif self.router == "least-kv":
                loads[r] += float(e[4] + (e[5] if self.reserve else 0))
        for g, part in zip(self.gpus, parts, strict=True):
            if part:
                g.admit(t, part)

    @property
    def preemptions(self) -> int:
        """Preemptions over all replicas."""
        return sum(g.preemptions for g in self.gpus)

    @property
    def never_fit(self) -> int:
        """Requests larger than KV memory, over all replicas (see FluidGpu)."""
        return sum(g.never_fit for g in self.gpus)

    def close(self, t: float) -> None:
        """Account every replica up to the end of the run at ``t`` (s)."""
        for g in self.gpus:
            g.close(t)
