"""Scenarios: the pydantic models of a scenario file (:mod:`.models`) and its YAML I/O
(:mod:`.io`: loading, ``--set`` overrides, dumping, the JSON Schema).
"""

from simulator.scenario.io import (
    apply_overrides,
    dump_scenario,
    load_scenario,
    parse_scenario,
    scenario_schema,
)
from simulator.scenario.models import Scenario

__all__ = ["Scenario", "apply_overrides", "dump_scenario", "load_scenario", "parse_scenario",
           "scenario_schema"]
