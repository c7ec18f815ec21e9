"""The embedded default pool: synthetic rollouts (:mod:`.synthetic`) with query text
(:mod:`.text`), calibrated to the real figures in :mod:`.calibration` (source named there).
"""

from simulator.pools.embedded.synthetic import default_pool

__all__ = ["default_pool"]
