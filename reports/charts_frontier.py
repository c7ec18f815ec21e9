"""Charts of the static frontier: the Pareto curve and the phase transition (paper Fig. 5).

Inputs are :func:`reports.sweeps.frontier_points` frames; ``policies`` fixes the legend
order and colours. Nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from reports.theme import HEIGHT, WIDTH, finish, policy_color

__all__ = ["pareto_chart", "phase_chart"]

BUDGET_TITLE = "Mean budget (tokens / query, log scale)"


def _tooltip() -> list[alt.Tooltip]:
    return [alt.Tooltip("policy:N", title="Policy"),
            alt.Tooltip("mean_budget:Q", title="Mean budget (tokens)", format=",.0f"),
            alt.Tooltip("tokens_per_query:Q", title="Tokens / query", format=",.0f"),
            alt.Tooltip("accuracy:Q", title="Accuracy", format=".3f"),
            alt.Tooltip("abandonment_rate:Q", title="Abandoned", format=".3f")]


def pareto_chart(points: pl.DataFrame, policies: Sequence[str]) -> alt.Chart:
    """Accuracy against tokens actually generated per query; one curve per policy.

    Each point is one mean budget; the curve joins them in budget order.
    """
    chart = alt.Chart(points).mark_line(point=alt.OverlayMarkDef(size=45),
                                        strokeWidth=2).encode(
        x=alt.X("tokens_per_query:Q", title="Tokens generated per query",
                axis=alt.Axis(tickCount=6, labelFlush=False)),
        y=alt.Y("accuracy:Q", title="Accuracy (fraction correct)"),
        color=policy_color(policies),
        order=alt.Order("mean_budget:Q"),
        tooltip=_tooltip(),
    ).properties(width=WIDTH, height=HEIGHT + 100)
    return finish(chart, "Pareto frontier: accuracy vs tokens per query",
                  "Static batch; one point per mean budget, higher and further left is better")


def phase_chart(points: pl.DataFrame, policies: Sequence[str]) -> alt.HConcatChart:
    """Accuracy and abandonment against the mean budget (log axis), side by side."""
    base = alt.Chart(points).mark_line(point=alt.OverlayMarkDef(size=40), strokeWidth=2)
    x = alt.X("mean_budget:Q", title=BUDGET_TITLE, scale=alt.Scale(type="log", base=2),
              axis=alt.Axis(format=",.0f"))
    acc = base.encode(x=x, y=alt.Y("accuracy:Q", title="Accuracy (fraction correct)"),
                      color=policy_color(policies), tooltip=_tooltip())
    aband = base.encode(x=x, y=alt.Y("abandonment_rate:Q",
                                     title="Abandoned (fraction of queries)",
                                     scale=alt.Scale(domain=[0, 1])),
                        color=policy_color(policies), tooltip=_tooltip())
    chart = alt.hconcat(acc.properties(width=330, height=HEIGHT + 40),
                        aband.properties(width=330, height=HEIGHT + 40), spacing=24)
    return finish(chart, "Phase transition: accuracy and abandonment vs budget",
                  "Static batch; as the budget shrinks, shadow-price policies abandon "
                  "hopeless queries")
