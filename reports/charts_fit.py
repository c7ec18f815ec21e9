"""The utility-fit panel: each group's empirical accuracy-vs-cap curve with the fitted forms.

Input: the curves table of ``clearsim pool fit --out`` (columns fit_group, form, reading,
cap, accuracy; ``form == "empirical"`` marks the data). Only the benchmark groups and
``all`` are drawn when present (tiers stay in the table). Nothing here reads files.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from reports.theme import finish

__all__ = ["fit_chart", "fit_lines"]

MAX_PANELS = 6


def fit_lines(curves: pl.DataFrame) -> pl.DataFrame:
    """The rows to draw, with a ``curve`` label ("form (reading)" or "empirical")."""
    groups = curves["fit_group"].unique(maintain_order=True).to_list()
    tiers = {"easy", "medium", "hard", "very-hard"}
    keep = [g for g in groups if g not in tiers][:MAX_PANELS]
    return curves.filter(pl.col("fit_group").is_in(keep)).with_columns(
        curve=pl.when(pl.col("form") == "empirical").then(pl.lit("empirical"))
        .otherwise(pl.concat_str(pl.col("form"), pl.lit(" ("), pl.col("reading"),
                                 pl.lit(")"))))


def fit_chart(curves: pl.DataFrame) -> alt.FacetChart:
    """Accuracy against the cap (log axis), one panel per group; data dashed black."""
    lines = fit_lines(curves)
    names = lines["curve"].unique(maintain_order=True).to_list()
    order = ["empirical"] + [n for n in names if n != "empirical"]
    palette = ["#000000", "#e45756", "#f58518", "#54a24b", "#4c78a8", "#b279a2", "#72b7b2",
               "#9d755d", "#eeca3b"]
    chart = alt.Chart(lines).mark_line(strokeWidth=1.8).encode(
        x=alt.X("cap:Q", title="Cap t (tokens, log scale)",
                scale=alt.Scale(type="log", base=2), axis=alt.Axis(format=",.0f")),
        y=alt.Y("accuracy:Q", title="Accuracy at cap"),
        color=alt.Color("curve:N", title="Curve", sort=order,
                        scale=alt.Scale(domain=order, range=palette[:len(order)])),
        strokeDash=alt.condition(alt.datum.curve == "empirical", alt.value([5, 3]),
                                 alt.value([1, 0])),
        tooltip=[alt.Tooltip("fit_group:N", title="Group"), alt.Tooltip("curve:N"),
                 alt.Tooltip("cap:Q", format=",.0f"), alt.Tooltip("accuracy:Q", format=".3f")],
    ).properties(width=250, height=170).facet(
        facet=alt.Facet("fit_group:N", title=None,
                        sort=lines["fit_group"].unique(maintain_order=True).to_list()),
        columns=3).resolve_scale(y="independent")
    return finish(chart, "Utility forms fitted to accuracy-vs-cap curves",
                  "clearsim pool fit: dashed black is the data; 'accuracy' reads the form "
                  "as A(t), 'density' as the density of correct lengths (paper Fig. 2)")
