"""Executors behind one registry keyed by name: ``local`` (default), ``serial``, ``ray``.

An executor runs :func:`~simulator.sweep.cells.execute` over tasks and yields each
:class:`~simulator.sweep.cells.CellResult` as it finishes (any order). It never writes
the store: the driver does, as results arrive. Constructing an executor checks its
arguments (a Ray address is probed) so a bad one fails before any cell runs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from simulator.errors import UserError
from simulator.registry import Registry
from simulator.sweep.cells import CellResult, CellTask, SweepContext, execute

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "SerialExecutor", "make_executor",
           "register_executor"]


class Executor(Protocol):
    """Runs cells and yields their results as they finish.

    ``start`` acquires resources (connects to a cluster) and fails fast with a
    :class:`UserError`; ``stop`` releases them. The driver calls ``start`` before it
    touches the store.
    """

    def start(self) -> None:
        """Acquire resources (may raise UserError)."""
        ...

    def stop(self) -> None:
        """Release resources."""
        ...

    def run(self, ctx: SweepContext, tasks: Sequence[CellTask]) -> Iterator[CellResult]:
        """Run every task under ``ctx``."""
        ...


ExecutorFactory = Callable[[int | None, str | None], Executor]
#: Every executor; ``simulator.sweep`` imports the plug-in modules (``executor_ray``).
EXECUTORS: Registry[ExecutorFactory] = Registry("executor")


def register_executor(name: str) -> Callable[[ExecutorFactory], ExecutorFactory]:
    """Decorator: list an executor factory ``f(workers, address)`` under ``name``."""
    return EXECUTORS.register(name)


def make_executor(name: str, workers: int | None = None,
                  address: str | None = None) -> Executor:
    """The executor ``name`` with ``workers`` processes (default: all CPUs).

    Raises:
        UserError: unknown name (lists the valid ones), bad workers, or a bad address.
    """
    factory = EXECUTORS.get(name)
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    if address is not None and name != "ray":
        raise UserError(f"--address {address!r} is for the ray executor, not {name!r}")
    return factory(workers, address)


class SerialExecutor:
    """Runs every cell in this process, in order (debugging, tiny sweeps).

    Cells run with this process's thread settings. The built-in kinds give the same
    bits as ``local`` or ``ray`` workers (single-threaded): run summaries are
    thread-independent (:mod:`simulator.metrics`) and the frontier kind reduces with
    numpy. A kind that reduces floats with a thread pool may differ in its last bits.
    """

    def start(self) -> None:
        """Nothing to acquire."""

    def stop(self) -> None:
        """Nothing to release."""

    def run(self, ctx: SweepContext, tasks: Sequence[CellTask]) -> Iterator[CellResult]:
        """Run the tasks one after another."""
        for task in tasks:
            yield execute(ctx, task)


_CTX: SweepContext | None = None
# Every worker process runs single-threaded, whatever the executor. This avoids
# oversubscription: N workers each with a full polars/BLAS thread pool. It is also a
# guard: the run summary no longer depends on the thread count (simulator.metrics sums
# latencies exactly), but a kind that reduces floats with a thread pool could still
# differ in its last bits, and a cell's result must not depend on where it ran.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "POLARS_MAX_THREADS")


def _init_worker(ctx: SweepContext) -> None:
    global _CTX
    _CTX = ctx


def _run_in_worker(task: CellTask) -> CellResult:
    assert _CTX is not None, "worker context not initialised"
    return execute(_CTX, task)


class LocalExecutor:
    """A process pool on this machine (spawned workers; the context is sent once each).

    At most ``2 * workers`` cells are in flight, so the pending queue stays small and a
    killed sweep has little to redo.
    """

    def __init__(self, workers: int | None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def start(self) -> None:
        """Workers are spawned per :meth:`run`."""

    def stop(self) -> None:
        """The pool is shut down at the end of :meth:`run`."""

    def run(self, ctx: SweepContext, tasks: Sequence[CellTask]) -> Iterator[CellResult]:
        """Run the tasks on ``workers`` processes; yield results as they finish."""
        if not tasks:
            return
        # One thread per worker process (see THREAD_VARS). Workers are spawned during
        # run() and read these variables when they import.
        saved = {k: os.environ.get(k) for k in THREAD_VARS}
        os.environ.update({k: "1" for k, v in saved.items() if v is None})
        # spawn, not fork: forking a process that holds polars' thread pool can deadlock.
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)),
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(ctx,))
        queue = iter(tasks)
        running: dict[Future[CellResult], CellTask] = {}

        def submit() -> None:
            task = next(queue, None)
            if task is not None:
                # A worker died (the pool is broken): leave the rest pending.
                with contextlib.suppress(BrokenProcessPool):
                    running[pool.submit(_run_in_worker, task)] = task

        try:
            for _ in range(2 * self.workers):
                submit()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield _result(fut, running.pop(fut))
                    submit()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)


def _result(fut: Future[CellResult], task: CellTask) -> CellResult:
    """The future's result, or a failure when the worker process itself died."""
    try:
        return fut.result()
    except Exception as exc:  # BrokenProcessPool, unpicklable result, ...
        return CellResult(task.cell_id, None, f"{type(exc).__name__}: {exc}")


@register_executor("local")
def _local(workers: int | None, address: str | None) -> Executor:
    return LocalExecutor(workers)


@register_executor("serial")
def _serial(workers: int | None, address: str | None) -> Executor:
    return SerialExecutor()
