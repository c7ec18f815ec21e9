"""Charts of a replicated comparison: each policy's mean with its 95% interval as a band,
and the paired difference to the reference with its band and a line at 0.

Inputs are frames built from ``comparison.json`` by :func:`reports.compare.interval_frame`
(columns policy, metric, label, mean, ci_low, ci_high). The policy is on the y axis of
every panel, so no legend is needed; colours still follow :mod:`reports.theme`.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from reports.theme import finish, policy_scale

__all__ = ["difference_chart", "interval_chart"]

PANEL_WIDTH = 250


def _panels(frame: pl.DataFrame, policies: Sequence[str], zero: bool) -> list[alt.LayerChart | alt.FacetChart]:
    order = [p for p in dict.fromkeys(policies) if p in set(frame["policy"].to_list())]
    panels: list[alt.LayerChart | alt.FacetChart] = []
    for label in frame["label"].unique(maintain_order=True).to_list():
        part = frame.filter(pl.col("label") == label)
        base = alt.Chart(part).encode(
            y=alt.Y("policy:N", title=None, sort=order),
            color=alt.Color("policy:N", scale=policy_scale(policies), legend=None))
        tips = [alt.Tooltip("policy:N", title="Policy"),
                alt.Tooltip("mean:Q", title="Mean", format=".4g"),
                alt.Tooltip("ci_low:Q", title="95% CI low", format=".4g"),
                alt.Tooltip("ci_high:Q", title="95% CI high", format=".4g")]
        band = base.mark_bar(opacity=0.35, height=14).encode(
            x=alt.X("ci_low:Q", title=label, scale=alt.Scale(zero=zero)),
            x2="ci_high:Q", tooltip=tips)
        dot = base.mark_point(filled=True, size=70, opacity=1).encode(x="mean:Q",
                                                                      tooltip=tips)
        layers: list[alt.Chart] = [band, dot]
        if zero:
            layers.insert(0, alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(
                color="#555", strokeDash=[4, 3]).encode(x="x:Q"))
        panels.append(alt.layer(*layers).properties(width=PANEL_WIDTH,
                                                    height=24 * len(order) + 10))
    return panels


def interval_chart(frame: pl.DataFrame, policies: Sequence[str], n_seeds: int
                   ) -> alt.ConcatChart:
    """One panel per metric: each policy's mean (dot) and 95% interval (band)."""
    chart = alt.concat(*_panels(frame.drop_nulls("mean"), policies, zero=False), columns=3,
                       spacing=18)
    return finish(chart, "Each policy with its 95% interval",
                  f"Mean over {n_seeds} seeds (dot) and 95% Student-t interval (band)")


def difference_chart(frame: pl.DataFrame, policies: Sequence[str], reference: str,
                     n_seeds: int) -> alt.ConcatChart:
    """One panel per metric: the mean paired difference to ``reference`` and its band."""
    chart = alt.concat(*_panels(frame.drop_nulls("mean"), policies, zero=True), columns=3,
                       spacing=18)
    return finish(chart, f"Paired difference to {reference}",
                  f"Per seed, policy minus {reference} on the same arrivals and draws; "
                  f"mean over {n_seeds} seeds and its 95% interval; a band clear of the "
                  "dashed 0 line is a resolved difference")
