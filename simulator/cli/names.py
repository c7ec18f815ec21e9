"""The registry names the help texts list, written out so that ``clearsim --help``
imports no policy, predictor or solver module (issue 16: the CLI starts at once).

``tests/test_cli_names.py`` checks each tuple against its registry, so a new policy,
predictor or utility form fails that test until it is named here too.
"""

from __future__ import annotations

__all__ = ["FORM_NAMES", "NOISE_KIND_NAMES", "POLICY_NAMES", "POOL_BUDGETS", "PREDICTOR_NAMES", "TIER_NAMES"]

POLICY_NAMES: tuple[str, ...] = (
    "clear", "clear-calibrated", "clear-cutoff", "clear-heuristic", "clear-integral",
    "learned-price", "oracle", "pacing", "shadow-price", "tale", "uniform")
"""``simulator.policies.POLICIES``, sorted."""

PREDICTOR_NAMES: tuple[str, ...] = (
    "difficulty-oracle", "learned", "noisy-oracle", "oracle", "rank-swap-oracle")
"""``predictors.base.PREDICTORS`` (the built-ins ``predictors`` registers), sorted."""

FORM_NAMES: tuple[str, ...] = ("surge", "surge-integral", "logistic", "lognormal")
"""``simulator.allocation.forms.FORMS``, in its order."""

TIER_NAMES: tuple[str, ...] = ("easy", "medium", "hard", "very-hard")
"""``simulator.traffic.streams.TIER_NAMES``."""

POOL_BUDGETS: tuple[int, ...] = tuple(64 * 2**i for i in range(9))
"""``simulator.pools.stats.BUDGETS``: the caps of ``pool inspect``'s accuracy curve."""

NOISE_KIND_NAMES: tuple[str, ...] = ("lognormal", "bias", "rank-swap", "difficulty")
"""``simulator.experiments.stress.NOISE_KINDS``, in its order (``stress-noise --noise-kind``)."""
