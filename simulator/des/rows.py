"""Per-query pool facts of a whole arrival block as Python lists, gathered once.

A tick of a few queries reads, for each, its collection cap L_max, the length and
grade of the rollout it replays, its prompt length and arrival time. Gathering them
per tick costs a numpy call each; :class:`BlockRows` gathers them for the whole block
in one vectorised pass when its first small tick comes (only for a block drawn whole,
as :class:`~simulator.des.source.QuerySource` draws them), and the tick slices lists.
The values are those the array form reads (``tests/test_des_small_tick.py``).
"""

from __future__ import annotations

import numpy as np

from simulator.des.ledger import PoolView
from simulator.des.records import Block

__all__ = ["BlockRows"]


class BlockRows:
    """The per-row facts of ``block`` (see the module docstring).

    Attributes:
        limit: L_max per row (tokens, int).
        length: tokens of the row's replayed rollout (int).
        graded: whether that rollout was graded correct.
        prompt: prompt tokens (the trace's when the block has them, else the pool's;
            a trace's are whole-number floats, passed on as the array form does).
        arrival: arrival time (s).
        tau: (n,) true thresholds (tokens), for the policy's ``true_tau``.
        no_spread, no_solvability: the predictor gave no ``log_spread`` (or
            ``solvability``) for any row: every slice of it is all NaN.
        give_up: the allocator's give-up times per row (arrival + patience, s), or
            None until it first needs them.
    """

    def __init__(self, block: Block, view: PoolView) -> None:
        idx, roll = block.pool_index, block.rollout
        self.q0 = block.q0
        self.limit: list[int] = view.max_tokens[idx].tolist()
        self.length: list[int] = view.pool.lengths[idx, roll].tolist()
        self.graded: list[bool] = view.pool.correct[idx, roll].tolist()
        prompt = view.prompt_tokens[idx] if block.prompt is None else block.prompt
        self.prompt: list[int] = prompt.tolist()
        self.arrival: list[float] = block.time.tolist()
        self.tau: np.ndarray = view.tau[idx]
        self.no_spread = bool(np.isnan(block.spread).all())
        self.no_solvability = bool(np.isnan(block.solvability).all())
        #: give-up time per row (s; arrival + patience), set by the allocator on first use
        self.give_up: list[float] | None = None
