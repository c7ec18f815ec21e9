"""The query ledger: where every arrival gets exactly one outcome.

The engine reports each query's fate here (abandoned at a tick, started, left the GPU,
expired). The ledger writes it into the query's :class:`~simulator.des.records.Block`,
settles the bank (unused tokens of a finished query return to it), and hands finished
blocks to the sink in query order, so at most a few blocks are ever in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from simulator.des.bank import TokenBank
from simulator.des.records import (
    ABANDONED,
    CORRECT,
    EXPIRED,
    TIMED_OUT,
    WRONG,
    Block,
    Sink,
    block_frame,
)
from simulator.des.source import BLOCK
from simulator.pools.pool import Pool
from simulator.traffic.streams import tiers

__all__ = ["Ledger", "PoolView"]

_SHIFT = BLOCK.bit_length() - 1
_MASK = BLOCK - 1


@dataclass(frozen=True)
class PoolView:
    """Per-query pool arrays computed once per run (``Pool`` properties recompute)."""

    pool: Pool
    tau: np.ndarray
    tier: np.ndarray
    max_tokens: np.ndarray
    prompt_tokens: np.ndarray
    good: np.ndarray
    ids: pl.Series
    benchmarks: pl.Series

    @classmethod
    def of(cls, pool: Pool) -> PoolView:
        """Snapshot ``pool``."""
        return cls(pool, pool.tau, tiers(pool), pool.max_tokens, pool.prompt_tokens,
                   pool.correct & pool.valid, pool.frame["id"], pool.frame["benchmark"])


class Ledger:
    """Outcome bookkeeping; see the module docstring.

    Args:
        blocks: the source's live blocks, by block number (finished ones are removed).
        view: the pool arrays.
        bank: the token bank to settle.
        sink: receives finished blocks as ``queries`` chunks.
        streams: stream names of a several-stream run (the ``stream`` column).
        extended: add the serving columns (ttft, tpot, preemptions) to the rows.
        replicas: add the ``replica`` column (several GPU replicas).
    """

    def __init__(self, blocks: dict[int, Block], view: PoolView, bank: TokenBank,
                 sink: Sink, streams: list[str] | None = None, extended: bool = False,
                 replicas: bool = False) -> None:
        self.blocks, self.view, self.bank, self.sink = blocks, view, bank, sink
        self.streams, self.extended, self.replicas = streams, extended, replicas
        self._next = 0

    def abandoned(self, block: Block, rows: np.ndarray, t: float) -> None:
        """Queries ``rows`` of ``block`` got no tokens at the tick at ``t`` (s)."""
        block.outcome[rows] = ABANDONED
        block.end[rows] = t
        self._resolve(block, int(rows.size))

    def started(self, q: int, t: float) -> None:
        """Query ``q`` took a GPU slot at ``t``."""
        self.blocks[q >> _SHIFT].start[q & _MASK] = t

    def left(self, q: int, t: float) -> None:
        """Query ``q`` generated all its tokens at ``t``; refund the rest of its cap."""
        block = self.blocks[q >> _SHIFT]
        j = q & _MASK
        block.end[j] = t
        block.outcome[j] = CORRECT if block.correct[j] else WRONG
        self.bank.settle(t, float(block.cap[j]), float(block.generated[j]))
        block.remaining -= 1
        if block.remaining == 0:
            self.flush(final=False)

    def expired(self, q: int, t_end: float, t_now: float) -> None:
        """Query ``q`` expired in the GPU queue at ``t_end``; its cap returns at ``t_now``."""
        block = self.blocks[q >> _SHIFT]
        j = q & _MASK
        block.end[j] = t_end
        block.outcome[j] = EXPIRED
        self.bank.settle(t_now, float(block.cap[j]), 0.0)
        block.generated[j] = 0
        self._resolve(block, 1)

    def timed_out(self, q: int, t: float, used: int) -> None:
        """Query ``q``'s client gave up at ``t`` after ``used`` tokens: they are spent,
        the rest of the cap returns to the bank."""
        block = self.blocks[q >> _SHIFT]
        j = q & _MASK
        block.end[j] = t
        block.outcome[j] = TIMED_OUT  # (block.correct is read only when a query leaves)
        self.bank.settle(t, float(block.cap[j]), float(used))
        block.generated[j] = used
        block.remaining -= 1  # (_resolve in line: most ends of an overloaded run)
        if block.remaining == 0:
            self.flush(final=False)

    def timed_out_at_tick(self, block: Block, rows: np.ndarray, ends: np.ndarray,
                          code: int) -> None:
        """Queries ``rows`` were past their patience (``TIMED_OUT``) or deadline
        (``EXPIRED``) when their tick came: no cap, ending at ``ends`` (s)."""
        block.outcome[rows] = code
        block.end[rows] = ends
        self._resolve(block, int(rows.size))

    def preempted(self, q: int) -> None:
        """Query ``q`` lost its KV memory (it will recompute)."""
        self.blocks[q >> _SHIFT].preemptions[q & _MASK] += 1

    def routed(self, q: int, replica: int) -> None:
        """Query ``q`` was sent to GPU replica ``replica``."""
        self.blocks[q >> _SHIFT].replica[q & _MASK] = replica

    def first_token(self, q: int, t: float) -> None:
        """Query ``q``'s first output token came at ``t`` (s)."""
        self.blocks[q >> _SHIFT].first[q & _MASK] = t

    def _resolve(self, block: Block, k: int) -> None:
        block.remaining -= k
        if block.remaining == 0:
            self.flush(final=False)

    def flush(self, final: bool) -> None:
        """Write finished blocks in order; with ``final`` every block must be finished."""
        while self._next in self.blocks and self.blocks[self._next].remaining == 0:
            block = self.blocks.pop(self._next)
            self.sink.write("queries", block_frame(block, self.view.ids,
                                                   self.view.benchmarks, self.view.tau,
                                                   self.streams, self.extended,
                                                   self.replicas))
            self._next += 1
        if final and self.blocks:
            raise RuntimeError(f"{len(self.blocks)} query blocks never finished")
