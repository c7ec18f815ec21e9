"""Allocation policies behind one registry keyed by the YAML ``kind`` name.

Importing this package registers every built-in policy. Adding a policy means adding
one module here that decorates its function with :func:`register_policy`.
"""

from simulator.policies import (  # noqa: F401  (registers)
    calibrated,
    clear,
    heuristics,
    online,
    oracle,
    shadow,
    simple,
)
from simulator.policies.base import (
    POLICIES,
    Allocation,
    AllocationInput,
    PolicyFn,
    UnknownNameError,
    check_params,
    get_policy,
    policy_params,
    register_policy,
    uses_curves,
)

__all__ = [
    "POLICIES",
    "Allocation",
    "AllocationInput",
    "PolicyFn",
    "UnknownNameError",
    "check_params",
    "get_policy",
    "policy_params",
    "register_policy",
    "uses_curves",
]
