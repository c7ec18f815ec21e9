"""Shared look of every report chart: sizes, fonts and one colour per policy.

Every chart function ends with :func:`finish`, so a chart saved alone as PNG looks the
same as in the HTML report. Colours follow the order policies are given in, so one
policy has one colour across all charts of a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import altair as alt

__all__ = ["HEIGHT", "OUTCOME_COLORS", "WIDTH", "finish", "policy_color", "policy_colors",
           "policy_scale"]

WIDTH = 560
HEIGHT = 200
# Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2002), then greys
# and darker tones. No two related policies (clear, clear-calibrated) are a red/green
# pair: clear is bluish green, clear-calibrated reddish purple.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#555555", "#d55e00", "#56b4e9",
           "#f0e442", "#000000", "#999999", "#1f3a5f", "#7f4f00")
# The built-in policies keep one colour in every chart and every report.
KNOWN_POLICY_COLORS = {"uniform": "#0072b2", "tale": "#e69f00", "clear": "#009e73",
                       "clear-calibrated": "#cc79a7", "oracle": "#555555",
                       "clear-heuristic": "#d55e00", "clear-cutoff": "#56b4e9"}
OUTCOME_COLORS = {"correct": "#009e73", "wrong": "#0072b2", "abandoned": "#d55e00",
                  "expired": "#999999"}
UPPER_BOUND_SUFFIX = " (upper bound)"

C = TypeVar("C", bound=alt.TopLevelMixin)


def policy_colors(policies: Sequence[str]) -> list[str]:
    """One distinct colour per policy: a built-in policy's own, else the next free one."""
    used: list[str] = []
    for name in dict.fromkeys(policies):
        color = KNOWN_POLICY_COLORS.get(name.removesuffix(UPPER_BOUND_SUFFIX))
        if color is None or color in used:
            free = [c for c in PALETTE if c not in used]
            color = free[0] if free else PALETTE[len(used) % len(PALETTE)]
        used.append(color)
    return used


def policy_scale(policies: Sequence[str]) -> alt.Scale:
    """A colour scale with a fixed colour per policy, legend in the given order."""
    domain = list(dict.fromkeys(policies))
    return alt.Scale(domain=domain, range=policy_colors(domain))


def policy_color(policies: Sequence[str], title: str = "Policy") -> alt.Color:
    """The ``color`` encoding of the ``policy`` field."""
    return alt.Color("policy:N", scale=policy_scale(policies), title=title,
                     sort=list(dict.fromkeys(policies)))


def finish(chart: C, title: str, subtitle: str | None = None) -> C:
    """Give a top-level chart its title and the report's fonts and legend placement."""
    params: dict[str, Any] = {"text": title, "anchor": "start", "fontSize": 16,
                              "subtitleFontSize": 12, "subtitleColor": "#555"}
    if subtitle:
        params["subtitle"] = subtitle
    # configure() replaces the whole config, so it comes before configure_*().
    return (chart.properties(title=alt.TitleParams(**params))
            .configure(background="white", font="sans-serif")
            .configure_axis(labelFontSize=12, titleFontSize=13, gridColor="#e6e6e6")
            .configure_legend(labelFontSize=12, titleFontSize=13, orient="right",
                              labelLimit=260)
            .configure_header(labelFontSize=13, titleFontSize=13)
            .configure_view(stroke="#ccc"))
