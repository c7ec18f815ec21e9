"""The noise robustness curve (paper Fig. 11): accuracy against predictor noise, and
each policy's paired difference to a reference policy.

Inputs are :func:`reports.sweeps.noise_band` and :func:`reports.sweeps.noise_paired`
frames; ``policies`` fixes the legend order and colours. Nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from reports.theme import finish, policy_color

__all__ = ["noise_chart", "paired_chart"]


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


def paired_chart(diff: pl.DataFrame, policies: Sequence[str], reference: str,
                 x_title: str = "Predictor noise σ") -> alt.FacetChart:
    """Mean paired difference to ``reference`` against the noise level, with its 95%
    band and a zero line; one panel per budget.

    Args:
        diff: :func:`reports.sweeps.noise_paired`.
        policies: legend order (the reference itself is not drawn).
        reference: the policy subtracted.
        x_title: what the noise level means.
    """
    x = alt.X("sigma:Q", title=x_title)
    y_title = f"Accuracy minus {reference}"
    area = alt.Chart().mark_area(fillOpacity=0.18).encode(
        x=x, y=alt.Y("lo:Q", title=y_title), y2="hi:Q", color=policy_color(policies))
    line = alt.Chart().mark_line(point=alt.OverlayMarkDef(size=35), strokeWidth=2).encode(
        x=x, y="diff:Q", color=policy_color(policies),
        tooltip=[alt.Tooltip("policy:N", title="Policy"),
                 alt.Tooltip("sigma:Q", title="Noise level", format=".2f"),
                 alt.Tooltip("diff:Q", title=f"Mean minus {reference}", format="+.4f"),
                 alt.Tooltip("lo:Q", title="95% low", format="+.4f"),
                 alt.Tooltip("hi:Q", title="95% high", format="+.4f"),
                 alt.Tooltip("seeds:Q", title="Seeds")])
    zero = alt.Chart().mark_rule(color="#555", strokeDash=[4, 3]).encode(
        y=alt.datum(0))
    budgets = sorted(set(diff["budget"].to_list()))
    shown = [p for p in dict.fromkeys(policies) if p in set(diff["policy"].to_list())]
    # one row per policy, each on its own y scale: a gain of 0.01 must not vanish next
    # to uniform's -0.2
    chart = alt.layer(area, line, zero, data=diff).properties(width=340, height=150).facet(
        column=alt.Column("budget:O", title="Mean budget (tokens / query)", sort=budgets),
        row=alt.Row("policy:N", title=None, sort=shown)
    ).resolve_scale(y="independent")
    return finish(chart, f"Paired difference to {reference} under predictor noise",
                  f"Per seed, each policy minus {reference} on the same queries and the "
                  "same predictor noise; mean and 95% t-interval over seeds")
