"""The query ledger: where every arrival gets exactly one outcome.

The engine reports each query's fate here (abandoned at a tick, started, left the GPU,
expired). The ledger writes it into the query's :class:`~simulator.des.records.Block`,
settles the bank (unused tokens of a finished query return to it), and hands finished
blocks to the sink in query order, so at most a few blocks are ever in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from simulator.des.bank import TokenBank
from simulator.des.records import (
    ABANDONED,
    CORRECT,
    EXPIRED,
    WRONG,
    Block,
    Sink,
    block_frame,
)
from simulator.des.source import BLOCK
from simulator.pools.pool import Pool
from simulator.traffic.streams import tiers

__all__ = ["Ledger", "PoolLists", "PoolView"]

_SHIFT = BLOCK.bit_length() - 1
_MASK = BLOCK - 1


@dataclass(frozen=True)
class PoolLists:
    """Pool rows as Python lists: ``lengths[i][k]``, ``correct[i][k]``, ``prompt_tokens[i]``,
    ``max_tokens[i]`` (indexing a list costs far less than a numpy call on a few queries)."""

    lengths: list[list[int]]
    correct: list[list[bool]]
    prompt_tokens: list[float]
    max_tokens: list[int]


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

    @cached_property
    def lists(self) -> PoolLists:
        """The per-query arrays the small-tick path reads, as Python lists (built once)."""
        return PoolLists(self.pool.lengths.tolist(), self.pool.correct.tolist(),
                         self.prompt_tokens.tolist(), self.max_tokens.tolist())

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
    """

    def __init__(self, blocks: dict[int, Block], view: PoolView, bank: TokenBank,
                 sink: Sink) -> None:
        self.blocks, self.view, self.bank, self.sink = blocks, view, bank, sink
        self._next = 0
        self.counts = [0] * 5   #: outcomes so far, by code

    def abandoned(self, block: Block, rows: np.ndarray, t: float) -> None:
        """Queries ``rows`` of ``block`` got no tokens at the tick at ``t`` (s)."""
        block.outcome[rows] = ABANDONED
        block.end[rows] = t
        self.counts[ABANDONED] += int(rows.size)
        self._resolve(block, int(rows.size))

    def started(self, q: int, t: float) -> None:
        """Query ``q`` took a GPU slot at ``t``."""
        self.blocks[q >> _SHIFT].start[q & _MASK] = t

    def left(self, q: int, t: float) -> None:
        """Query ``q`` generated all its tokens at ``t``; refund the rest of its cap."""
        block = self.blocks[q >> _SHIFT]
        j = q & _MASK
        block.end[j] = t
        code = CORRECT if block.correct[j] else WRONG
        block.outcome[j] = code
        self.counts[code] += 1
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
        self.counts[EXPIRED] += 1
        self.bank.settle(t_now, float(block.cap[j]), 0.0)
        block.generated[j] = 0
        self._resolve(block, 1)

    def _resolve(self, block: Block, k: int) -> None:
        block.remaining -= k
        if block.remaining == 0:
            self.flush(final=False)

    def flush(self, final: bool) -> None:
        """Write finished blocks in order; with ``final`` every block must be finished."""
        while self._next in self.blocks and self.blocks[self._next].remaining == 0:
            block = self.blocks.pop(self._next)
            self.sink.write("queries", block_frame(block, self.view.ids,
                                                   self.view.benchmarks, self.view.tau))
            self._next += 1
        if final and self.blocks:
            raise RuntimeError(f"{len(self.blocks)} query blocks never finished")
