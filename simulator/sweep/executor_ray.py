"""The ``ray`` executor: cells as Ray tasks, the context through Ray's object store.

With an address (``host:port``, ``ray://host:port`` or ``auto``) it joins that cluster;
otherwise it starts a private local Ray with ``workers`` CPUs. If Ray is already
initialised in this process (a notebook, a test), that instance is used and left
running. The context (base and pools as Parquet bytes) is ``ray.put`` once; each worker
process fetches and decodes it once and caches it, so no shared filesystem is needed.
Results return to the driver, which writes the store.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from typing import Any

from simulator.errors import UserError
from simulator.sweep.cells import CellResult, CellTask, SweepContext, execute
from simulator.sweep.executors import THREAD_VARS, Executor, register_executor

__all__ = ["RayExecutor", "check_address"]

CONNECT_TIMEOUT = 3.0  # s, for the reachability probe of an address


def check_address(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail fast on an address that is malformed or has nothing listening.

    Raises:
        UserError: not ``HOST:PORT`` / ``ray://HOST:PORT`` / ``auto``, or unreachable.
    """
    if address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--address {address!r}: expected HOST:PORT, ray://HOST:PORT "
                        "or 'auto'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UserError(f"--address {address}: no Ray cluster reachable at {host}:{port} "
                        f"({exc.strerror or exc})") from None


# Decoded contexts per digest, in each Ray worker process.
_CONTEXTS: dict[str, SweepContext] = {}


def _ray_execute(box: list[Any], digest: str, task: CellTask) -> CellResult:
    """Ray task body: fetch the context once per worker process, then run the cell."""
    if digest not in _CONTEXTS:
        import ray

        _CONTEXTS.clear()
        _CONTEXTS[digest] = ray.get(box[0])
    return execute(_CONTEXTS[digest], task)


class RayExecutor:
    """Cells as Ray tasks (one CPU each); see the module docstring."""

    def __init__(self, workers: int | None, address: str | None) -> None:
        if importlib.util.find_spec("ray") is None:
            raise UserError("the ray executor needs Ray: pip install 'clearsim[ray]'")
        if address is not None:
            check_address(address)
        self.workers = workers or os.cpu_count() or 1
        self.address = address
        self._owned = False

    def start(self) -> None:
        """Join the cluster at ``address``, or start a local Ray with ``workers`` CPUs."""
        import ray

        if ray.is_initialized():
            return
        opts: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                "logging_level": logging.ERROR}
        try:
            if self.address is not None:
                ray.init(address=self.address, **opts)
            else:
                ray.init(address="local", num_cpus=self.workers, **opts)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a local Ray"
            raise UserError(f"ray executor: could not start {where}: "
                            f"{str(exc).splitlines()[0]}") from None
        self._owned = True

    def stop(self) -> None:
        """Shut down the Ray this executor started (an outside one is left running)."""
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False

    def run(self, ctx: SweepContext, tasks: Sequence[CellTask]) -> Iterator[CellResult]:
        """Submit the tasks (at most two per cluster CPU in flight); yield as they finish."""
        import ray

        if not tasks:
            return
        box = [ray.put(ctx)]  # in a list: Ray passes the reference, workers fetch once
        # Single-threaded workers, as with the local executor (see THREAD_VARS).
        env = {k: os.environ.get(k, "1") for k in THREAD_VARS}
        remote = ray.remote(num_cpus=1, max_retries=0,
                            runtime_env={"env_vars": env})(_ray_execute)
        window = 2 * max(1, int(ray.cluster_resources().get("CPU", 1)))
        queue = iter(tasks)
        running: dict[Any, CellTask] = {}
        try:
            for task in queue:
                running[remote.remote(box, ctx.digest, task)] = task
                if len(running) >= window:
                    break
            while running:
                done, _ = ray.wait(list(running), num_returns=1)
                task = running.pop(done[0])
                try:
                    result: CellResult = ray.get(done[0])
                except Exception as exc:  # the worker died or the task was lost
                    first = (str(exc).splitlines() or [""])[0]
                    result = CellResult(task.cell_id, None, f"{type(exc).__name__}: {first}")
                yield result
                nxt = next(queue, None)
                if nxt is not None:
                    running[remote.remote(box, ctx.digest, nxt)] = nxt
        finally:
            for ref in running:
                ray.cancel(ref, force=True)


@register_executor("ray")
def _ray(workers: int | None, address: str | None) -> Executor:
    return RayExecutor(workers, address)
