"""Batch experiments on a pool, outside the DES: the static frontier (:mod:`.frontier`),
the predictor-noise stress test (:mod:`.stress`) and their intervals (:mod:`.intervals`).
"""

from simulator.experiments.frontier import run_frontier, score_batch
from simulator.experiments.intervals import t_half_width
from simulator.experiments.stress import paired_difference, run_stress

__all__ = ["paired_difference", "run_frontier", "run_stress", "score_batch", "t_half_width"]
