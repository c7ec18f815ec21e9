"""The static name tables of ``simulator.cli.names`` (what ``--help`` lists without
importing the registries) are exactly the registries."""

from __future__ import annotations

from simulator.cli import names


def test_policy_names_are_the_registry() -> None:
    from simulator.policies import POLICIES

    assert tuple(sorted(POLICIES)) == names.POLICY_NAMES, \
        "add the new policy to simulator/cli/names.py POLICY_NAMES"


def test_predictor_names_are_the_registry() -> None:
    import predictors  # noqa: F401  (registers the built-ins)
    from predictors.base import PREDICTORS

    assert tuple(sorted(PREDICTORS)) == names.PREDICTOR_NAMES, \
        "add the new predictor to simulator/cli/names.py PREDICTOR_NAMES"


def test_form_tier_and_budget_tables() -> None:
    from simulator.allocation.forms import FORMS
    from simulator.pools.stats import BUDGETS
    from simulator.traffic.streams import TIER_NAMES

    assert tuple(FORMS) == names.FORM_NAMES
    assert tuple(TIER_NAMES) == names.TIER_NAMES
    assert tuple(BUDGETS) == names.POOL_BUDGETS


def test_noise_kind_names_are_the_registry() -> None:
    from simulator.experiments.stress import NOISE_KINDS

    assert tuple(NOISE_KINDS) == names.NOISE_KIND_NAMES
