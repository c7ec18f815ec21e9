"""clearsim: discrete-event simulator for shadow-price reasoning-token allocation.

``simulator.run(scenario)`` and ``simulator.RunResult`` are loaded on first use, so
``import simulator`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["RunResult", "__version__", "run"]

if TYPE_CHECKING:
    from simulator.des.runner import RunResult, run


def __getattr__(name: str) -> Any:
    if name in ("run", "RunResult"):
        from simulator.des import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
