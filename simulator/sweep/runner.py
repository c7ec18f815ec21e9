"""Driving a sweep: check, write the manifest, run the unfinished cells, store results.

The driver alone writes the store, one atomic part per finished cell as results arrive,
so a sweep killed at any moment keeps every cell it reported and ``--resume`` runs only
the rest. A cell that raises is recorded as failed and the others go on.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from tqdm import tqdm

from simulator.sweep.cells import CellTask
from simulator.sweep.executors import make_executor
from simulator.sweep.plan import SweepPlan
from simulator.sweep.store import Store

__all__ = ["SweepOutcome", "run_sweep"]


@dataclass(frozen=True)
class SweepOutcome:
    """What one invocation did.

    Attributes:
        total: cells in the grid.
        skipped: cells already done before this run (``--resume``).
        done: cells finished by this run.
        failed: cells that raised in this run.
    """

    total: int
    skipped: int
    done: int
    failed: int

    @property
    def pending(self) -> int:
        """Cells neither done before nor finished now (a broken worker pool)."""
        return self.total - self.skipped - self.done - self.failed


def run_sweep(plan: SweepPlan, executor: str | None = None, workers: int | None = None,
              resume: bool = False, address: str | None = None,
              progress: bool | None = None) -> SweepOutcome:
    """Run every cell of ``plan`` that is not done yet and record it in the store.

    Args:
        plan: a validated sweep (see :func:`~simulator.sweep.plan.load_sweep`).
        executor: ``local`` (default), ``serial`` or ``ray``; default from the sweep file.
        workers: processes / Ray CPUs (default: the sweep file, else all CPUs).
        resume: continue a store that already holds cells of this sweep.
        address: Ray cluster address (default: the sweep file's, else a local Ray).
        progress: show a progress bar on stderr (default: when stderr is a terminal).

    Raises:
        UserError: bad executor or address, or a store that holds another sweep or
            holds cells without ``resume``; raised before any cell runs.
    """
    spec = plan.spec
    ex = make_executor(executor or spec.executor or "local", workers or spec.workers,
                       address or spec.address)
    store = Store(plan.store)
    ex.start()
    try:
        manifest = plan.manifest()
        store.begin(manifest, resume)
        finished = store.done_ids()
        todo = [c for c in plan.cells if c.cell_id not in finished]
        by_id = {c.cell_id: c for c in todo}
        done = failed = 0
        show = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=len(todo), unit="cell", desc="sweep", disable=not show,
                  file=sys.stderr, dynamic_ncols=True) as bar:
            if todo:
                ctx = plan.context(todo)
                tasks = [CellTask(c.cell_id, c.coords, c.seed) for c in todo]
                for result in ex.run(ctx, tasks):
                    store.record(result, by_id[result.cell_id], manifest.axes)
                    if result.metrics is None:
                        failed += 1
                    else:
                        done += 1
                    bar.update(1)
                    bar.set_postfix(failed=failed, refresh=False)
    finally:
        ex.stop()
    return SweepOutcome(len(plan.cells), len(plan.cells) - len(todo), done, failed)
