"""clearsim: discrete-event simulator for shadow-price reasoning-token allocation.

The public Python API, loaded on first use so that ``import simulator`` stays light:

- ``simulator.run(scenario)`` -> ``simulator.RunResult`` (the DES, :mod:`simulator.des`);
- ``simulator.load_scenario(path, overrides)`` (:mod:`simulator.scenario`);
- ``simulator.get_policy(name)`` and ``simulator.AllocationInput`` (:mod:`simulator.policies`).

The layout and what each package may import: ``docs/architecture.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from simulator.version import __version__

__all__ = ["AllocationInput", "RunResult", "__version__", "get_policy", "load_scenario", "run"]

if TYPE_CHECKING:
    from simulator.des.runner import RunResult, run
    from simulator.policies import AllocationInput, get_policy
    from simulator.scenario import load_scenario

_LAZY = {
    "run": "simulator.des.runner",
    "RunResult": "simulator.des.runner",
    "load_scenario": "simulator.scenario",
    "get_policy": "simulator.policies",
    "AllocationInput": "simulator.policies",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
