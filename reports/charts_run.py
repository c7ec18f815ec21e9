"""Charts of simulator runs: pure functions from aggregated polars frames to altair charts.

Inputs are the small frames of :mod:`reports.aggregate` (each with a ``policy``
column); ``policies`` fixes the legend order and colours. Nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from reports.theme import HEIGHT, OUTCOME_COLORS, WIDTH, finish, policy_color

__all__ = ["allocation_scatter", "breakdown_chart", "latency_cdf", "over_time_chart"]

PANEL_HEIGHT = 140


TIME_TITLE = "Time since start (s)"
SYMLOG_TICKS = (0, 100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000)


def _time_x(last: bool) -> alt.X:
    """The shared time axis; only the bottom panel carries its title."""
    return alt.X("t:Q", title=TIME_TITLE if last else None, scale=alt.Scale(nice=False))


def _panel(frame: pl.DataFrame, field: str, title: str, policies: Sequence[str],
           fmt: str = ".3f", last: bool = False, log: bool = False) -> alt.Chart:
    """One line panel of ``field`` against window centre time."""
    return alt.Chart(frame).mark_line(point=False, strokeWidth=1.8).encode(
        x=_time_x(last),
        y=alt.Y(f"{field}:Q", title=title,
                scale=alt.Scale(type="log") if log else alt.Undefined),
        color=policy_color(policies),
        tooltip=[alt.Tooltip("policy:N", title="Policy"),
                 alt.Tooltip("t:Q", title="Window centre (s)", format=".1f"),
                 alt.Tooltip(f"{field}:Q", title=title, format=fmt)],
    ).properties(width=WIDTH, height=PANEL_HEIGHT)


def kv_panel(kv: pl.DataFrame, policies: Sequence[str], last: bool = False) -> alt.Chart:
    """KV utilisation (fraction of the pool held) against time, one line per policy
    and replica (dashes tell replicas apart)."""
    return alt.Chart(kv).mark_line(strokeWidth=1.8).encode(
        x=_time_x(last),
        y=alt.Y("kv_utilisation:Q", title="KV memory held (fraction of pool)",
                scale=alt.Scale(domain=[0, 1])),
        color=policy_color(policies),
        strokeDash=alt.StrokeDash("replica:N", title="Replica"),
        tooltip=[alt.Tooltip("policy:N", title="Policy"),
                 alt.Tooltip("replica:N", title="Replica"),
                 alt.Tooltip("t:Q", title="Window centre (s)", format=".1f"),
                 alt.Tooltip("kv_utilisation:Q", title="KV held (fraction)", format=".3f")],
    ).properties(width=WIDTH, height=PANEL_HEIGHT)


def over_time_chart(outcomes: pl.DataFrame, lam: pl.DataFrame, gpu: pl.DataFrame,
                    policies: Sequence[str], window_s: float,
                    kv: pl.DataFrame | None = None) -> alt.VConcatChart:
    """Accuracy, abandonment, latency, KV utilisation (or, without a KV pool, the GPU
    busy fraction) and lambda* over time.

    Args:
        outcomes: :func:`reports.aggregate.windowed_outcomes`.
        lam: :func:`reports.aggregate.windowed_lambda` (panel left out when empty).
        gpu: :func:`reports.aggregate.windowed_gpu` (panel left out when empty or
            when ``kv`` has rows).
        kv: :func:`reports.aggregate.windowed_kv`: KV utilisation per replica, which
            replaces the GPU busy panel when the runs had a KV pool.
        policies: legend order.
        window_s: the window width (s), shown in the subtitle.
    """
    latency = outcomes.unpivot(index=["policy", "t"], on=["latency_p50", "latency_p95"],
                               variable_name="quantile", value_name="latency"
                               ).with_columns(pl.col("quantile").str.replace("latency_", "")
                                              ).drop_nulls("latency")
    lam = lam.filter(pl.col("lambda") > 0)  # log axis; lambda* = 0 means no scarcity
    if kv is not None and kv.height:
        gpu = gpu.clear()  # KV utilisation replaces the flat busy fraction
    else:
        kv = None
    n_panels = (2 + bool(latency.height) + bool(gpu.height) + (kv is not None)
                + bool(lam.height))
    panels: list[alt.Chart] = [
        _panel(outcomes, "accuracy", "Accuracy (correct / arrivals)", policies),
        _panel(outcomes, "abandonment_rate", "Abandoned (fraction)", policies,
               last=n_panels == 2),
    ]
    if latency.height:  # none when no query completed
        panels.append(alt.Chart(latency).mark_line(strokeWidth=1.8).encode(
            x=_time_x(n_panels == 3),
            y=alt.Y("latency:Q", title="Latency of answered (s)"),
            color=policy_color(policies),
            strokeDash=alt.StrokeDash("quantile:N", title="Latency quantile",
                                      sort=["p50", "p95"]),
            tooltip=[alt.Tooltip("policy:N", title="Policy"),
                     alt.Tooltip("quantile:N", title="Quantile"),
                     alt.Tooltip("t:Q", title="Window centre (s)", format=".1f"),
                     alt.Tooltip("latency:Q", title="Latency (s)", format=".2f")],
        ).properties(width=WIDTH, height=PANEL_HEIGHT))
    if kv is not None:
        panels.append(kv_panel(kv, policies, last=not lam.height))
    if gpu.height:
        panels.append(_panel(gpu, "busy_fraction", "GPU busy (fraction of time)", policies,
                             last=not lam.height))
    if lam.height:
        panels.append(_panel(lam, "lambda", "λ* (utility / token, log)", policies,
                             fmt=".4g", last=True, log=True))
    # the quantile legend sits beside the latency panel it explains, not atop the stack
    chart = alt.vconcat(*panels, spacing=14).resolve_scale(
        x="shared", strokeDash="independent").resolve_legend(strokeDash="independent")
    return finish(chart, "Over time",
                  f"Arrivals grouped in {window_s:g} s windows; λ* is the allocator's mean "
                  "shadow price per window (shadow-price policies only; windows with "
                  "λ* = 0 not drawn)" + ("; KV held per replica, as a fraction of its pool"
                                         if kv is not None else ""))


def allocation_scatter(sample: pl.DataFrame, policies: Sequence[str]) -> alt.FacetChart:
    """Cap against predicted threshold, one panel per policy, coloured by outcome.

    Abandoned queries have cap 0; both axes are symmetric-log so they stay visible.
    """
    outcomes = [o for o in OUTCOME_COLORS if o in set(sample["outcome"].to_list())]
    order = list(dict.fromkeys(policies))
    top = float(sample.select(pl.max_horizontal(pl.col("predicted_threshold", "cap").max())
                              ).item() or 0.0)
    ticks = [v for v in SYMLOG_TICKS if v <= top * 1.05] or [0]
    scale = alt.Scale(type="symlog", constant=100)
    axis = alt.Axis(values=ticks, format=",.0f", labelFlush=False, labelOverlap="greedy")
    diagonal = alt.Chart().mark_line(color="#888", strokeDash=[4, 4], strokeWidth=1).encode(
        x="predicted_threshold:Q", y="predicted_threshold:Q")
    points = alt.Chart().mark_point(filled=True, size=16, opacity=0.45).encode(
        x=alt.X("predicted_threshold:Q", title="Predicted threshold (tokens)", scale=scale,
                axis=axis),
        y=alt.Y("cap:Q", title="Allocated cap (tokens)", scale=scale, axis=axis),
        color=alt.Color("outcome:N", title="Outcome", sort=outcomes,
                        scale=alt.Scale(domain=outcomes,
                                        range=[OUTCOME_COLORS[o] for o in outcomes])),
        shape=alt.Shape("outcome:N", title="Outcome", sort=outcomes,
                        scale=alt.Scale(domain=outcomes, range=[
                            "cross" if o == "abandoned" else "circle" for o in outcomes])),
        tooltip=[alt.Tooltip("predicted_threshold:Q", title="Predicted (tokens)",
                             format=",.0f"),
                 alt.Tooltip("cap:Q", title="Cap (tokens)", format=",.0f"),
                 alt.Tooltip("outcome:N", title="Outcome")],
    )
    columns = min(3, max(1, len(order)))
    chart = alt.layer(diagonal, points, data=sample).properties(width=250, height=220).facet(
        facet=alt.Facet("policy:N", title=None, sort=order), columns=columns)
    if len(order) % columns:  # a short last row: a shared footer axis would sit under
        chart = chart.resolve_axis(x="independent")  # an empty cell; each panel its own
    return finish(chart, "Allocation: cap vs predicted threshold",
                  f"A sample of {sample.height:,} queries; abandoned queries get cap 0 "
                  "(crosses); dashed: cap = predicted threshold; symmetric-log axes")


def breakdown_chart(frame: pl.DataFrame, by_title: str,
                    policies: Sequence[str]) -> alt.HConcatChart:
    """Accuracy, abandonment and tokens per query per group, bars grouped by policy.

    Args:
        frame: :func:`reports.aggregate.breakdown`.
        by_title: what the groups are ('Difficulty tier', 'Benchmark').
        policies: legend order.
    """
    groups = frame["group"].unique(maintain_order=True).sort().to_list()
    n_pol = max(1, frame["policy"].n_unique())
    height = max(120, 8 * n_pol * len(groups) + 6 * len(groups))

    def bars(field: str, title: str, fmt: str) -> alt.Chart:
        return alt.Chart(frame).mark_bar().encode(
            y=alt.Y("group:N", title=by_title, sort=groups),
            yOffset=alt.YOffset("policy:N", sort=list(dict.fromkeys(policies))),
            x=alt.X(f"{field}:Q", title=title),
            color=policy_color(policies),
            tooltip=[alt.Tooltip("policy:N", title="Policy"),
                     alt.Tooltip("group:N", title=by_title),
                     alt.Tooltip("arrivals:Q", title="Arrivals", format=","),
                     alt.Tooltip(f"{field}:Q", title=title, format=fmt)],
        ).properties(width=230, height=height)

    chart = alt.hconcat(
        bars("accuracy", "Accuracy (correct / arrivals)", ".3f"),
        bars("abandonment_rate", "Abandoned (fraction)", ".3f"),
        bars("tokens_per_query", "Tokens per query", ",.0f"),
        spacing=12,
    ).resolve_scale(y="shared")
    return finish(chart, f"By {by_title.lower()}",
                  "Each bar is one policy's arrivals in that group")


def latency_cdf(quantiles: pl.DataFrame, policies: Sequence[str]) -> alt.Chart:
    """Empirical CDF of the latency of completed queries, log time axis.

    Args:
        quantiles: :func:`reports.aggregate.latency_quantiles`.
        policies: legend order.
    """
    data = quantiles.filter(pl.col("latency") > 0)
    chart = alt.Chart(data).mark_line(strokeWidth=2).encode(
        x=alt.X("latency:Q", title="Latency: arrival to answer (s, log scale)",
                scale=alt.Scale(type="log", nice=False)),
        y=alt.Y("fraction:Q", title="Fraction of completed queries",
                scale=alt.Scale(domain=[0, 1])),
        color=policy_color(policies),
        tooltip=[alt.Tooltip("policy:N", title="Policy"),
                 alt.Tooltip("latency:Q", title="Latency (s)", format=".2f"),
                 alt.Tooltip("fraction:Q", title="Fraction", format=".2f")],
    ).properties(width=WIDTH, height=HEIGHT + 60)
    return finish(chart, "Latency CDF", "Completed (correct or wrong) queries only")
