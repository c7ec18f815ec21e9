"""The noise robustness curve (paper Fig. 11): accuracy against predictor noise.

Input is a :func:`reports.sweeps.noise_band` frame; ``policies`` fixes the legend order
and colours. Nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from reports.theme import finish, policy_color

__all__ = ["noise_chart"]


def noise_chart(band: pl.DataFrame, policies: Sequence[str],
                x_title: str = "Predictor noise σ") -> alt.FacetChart:
    """Mean accuracy against the noise level with its 95% band; one panel per budget.

    Args:
        band: :func:`reports.sweeps.noise_band`.
        policies: legend order.
        x_title: what the noise level means (:func:`reports.sweeps.noise_title`).
    """
    # fillOpacity (not opacity) keeps the shared legend's symbols solid.
    x = alt.X("sigma:Q", title=x_title)
    area = alt.Chart().mark_area(fillOpacity=0.18).encode(
        x=x, y=alt.Y("lo:Q", title="Accuracy (fraction correct)",
                     scale=alt.Scale(zero=False)),
        y2="hi:Q", color=policy_color(policies))
    line = alt.Chart().mark_line(point=alt.OverlayMarkDef(size=35), strokeWidth=2).encode(
        x=x, y="accuracy:Q", color=policy_color(policies),
        tooltip=[alt.Tooltip("policy:N", title="Policy"),
                 alt.Tooltip("sigma:Q", title="Noise level", format=".2f"),
                 alt.Tooltip("accuracy:Q", title="Mean accuracy", format=".3f"),
                 alt.Tooltip("lo:Q", title="95% low", format=".3f"),
                 alt.Tooltip("hi:Q", title="95% high", format=".3f"),
                 alt.Tooltip("seeds:Q", title="Seeds")])
    budgets = sorted(set(band["budget"].to_list()))
    chart = alt.layer(area, line, data=band).properties(width=340, height=240).facet(
        column=alt.Column("budget:O", title="Mean budget (tokens / query)", sort=budgets))
    return finish(chart, "Noise robustness: accuracy vs predictor noise",
                  "Mean over seeds; the band is the 95% confidence interval of the mean")
