"""Traffic: when queries arrive (:mod:`.arrivals`) and how hard they are (:mod:`.streams`).

Pure numpy and pydantic; the SimPy process that consumes them lives in :mod:`simulator.des`.
"""

from simulator.traffic.arrivals import ARRIVALS, ArrivalSpec, make_arrivals
from simulator.traffic.streams import MIXES, TIER_NAMES, mix_weights, sample_stream, tiers

__all__ = ["ARRIVALS", "MIXES", "TIER_NAMES", "ArrivalSpec", "make_arrivals", "mix_weights",
           "sample_stream", "tiers"]
