"""The static name tables of ``simulator.cli.names`` (what ``--help`` lists without
importing the registries) are exactly the built-in registries.

The registries are read in a fresh interpreter: other tests register test-only
policies into this process's registry.
"""

from __future__ import annotations

import json
import subprocess
import sys

from simulator.cli import names

PROBE = """
import json
import predictors
from predictors.base import PREDICTORS
from simulator.allocation.forms import FORMS
from simulator.experiments.stress import NOISE_KINDS
from simulator.policies import POLICIES
from simulator.pools.stats import BUDGETS
from simulator.traffic.streams import TIER_NAMES
print(json.dumps({"policies": sorted(POLICIES), "predictors": sorted(PREDICTORS),
                  "forms": list(FORMS), "noise": list(NOISE_KINDS),
                  "tiers": list(TIER_NAMES), "budgets": list(BUDGETS)}))
"""


def _registries() -> dict[str, list[object]]:
    done = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True,
                          text=True)
    out: dict[str, list[object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_name_tables_are_the_registries() -> None:
    reg = _registries()
    assert tuple(reg["policies"]) == names.POLICY_NAMES, \
        "add the new policy to simulator/cli/names.py POLICY_NAMES"
    assert tuple(reg["predictors"]) == names.PREDICTOR_NAMES, \
        "add the new predictor to simulator/cli/names.py PREDICTOR_NAMES"
    assert tuple(reg["forms"]) == names.FORM_NAMES
    assert tuple(reg["noise"]) == names.NOISE_KIND_NAMES
    assert tuple(reg["tiers"]) == names.TIER_NAMES
    assert tuple(reg["budgets"]) == names.POOL_BUDGETS
