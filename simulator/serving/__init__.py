"""The serving model: a GPU (or several replicas) running continuous batching.

:mod:`.spec` (the ``gpu`` section and client patience), :mod:`.steptime` (closed-form
step-time maths), :mod:`.memory` (KV pool and admission), :mod:`.fluid` (the fluid
resource), :mod:`.patience` (patience draws), :mod:`.router` (replicas), :mod:`.clock` (what the engine provides).
This package imports only the shared ground: the engine passes its clock in.
"""

from simulator.serving.fluid import Entry, FluidGpu
from simulator.serving.patience import PatienceDraws
from simulator.serving.router import Router
from simulator.serving.spec import GpuSpec, Patience

Gpu = FluidGpu | Router
"""The GPU resource types the allocator talks to (one replica, or a router)."""

__all__ = ["Entry", "FluidGpu", "Gpu", "GpuSpec", "Patience", "PatienceDraws", "Router"]
