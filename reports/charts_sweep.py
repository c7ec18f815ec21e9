"""Charts of a sweep store: a heatmap over any two axes and faceted metric curves.

Input is the frame of :func:`simulator.sweep.load_store` (columns ``cell_id``, the axes,
``cell_seed``, the metrics, ``wall_seconds``); the axes are the columns between
``cell_id`` and ``cell_seed``. Every chart averages the metric over the axes it does not
show (replicate seeds included) and says how many cells each mark averages. Nothing
here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from reports.theme import finish

__all__ = ["axis_columns", "cell_means", "default_sweep_charts", "metric_columns",
           "sweep_heatmap", "sweep_lines"]

_AXIS_END = "cell_seed"


def axis_columns(frame: pl.DataFrame) -> list[str]:
    """The sweep's axes: the columns between ``cell_id`` and ``cell_seed``."""
    cols = frame.columns
    if "cell_id" not in cols or _AXIS_END not in cols:
        raise ValueError("not a sweep store frame (needs cell_id ... cell_seed columns)")
    return cols[cols.index("cell_id") + 1:cols.index(_AXIS_END)]


def metric_columns(frame: pl.DataFrame) -> list[str]:
    """Numeric result columns (after ``cell_seed``, wall-clock excluded)."""
    cols = frame.columns
    return [c for c in cols[cols.index(_AXIS_END) + 1:]
            if c != "wall_seconds" and frame.schema[c].is_numeric()]


def _safe(name: str) -> str:
    # Vega-Lite reads a dot in a field name as nested access.
    return name.replace(".", "·")


def cell_means(frame: pl.DataFrame, by: Sequence[str], metric: str) -> pl.DataFrame:
    """Mean of ``metric`` per combination of the ``by`` axes, with the cell count ``n``.

    Column names have dots replaced by ``·`` (chart-safe); rows sorted by ``by``.
    """
    keys = list(dict.fromkeys(by))
    for name in [*keys, metric]:
        if name not in frame.columns:
            raise ValueError(f"no column {name!r}; columns: {', '.join(frame.columns)}")
    out = (frame.group_by(keys).agg(pl.col(metric).cast(pl.Float64).mean(),
                                    pl.len().alias("n")).sort(keys))
    return out.rename({c: _safe(c) for c in out.columns})


def _kind(frame: pl.DataFrame, axis: str) -> str:
    return "Q" if frame.schema[axis].is_numeric() else "N"


def sweep_heatmap(frame: pl.DataFrame, x: str, y: str, metric: str = "accuracy",
                  facet: str | None = None) -> alt.TopLevelMixin:
    """``metric`` (mean over the other axes) on a grid of axis ``x`` by axis ``y``.

    Args:
        frame: a sweep store frame.
        x, y: two axis columns (e.g. ``arrivals.rate``, ``allocator.budget_rate``).
        metric: a metric column (e.g. ``accuracy``, ``latency_p95``).
        facet: an optional third axis: one panel per value.
    """
    data = cell_means(frame, [x, y] + ([facet] if facet else []), metric)
    sx, sy, sm = _safe(x), _safe(y), _safe(metric)
    enc_x = alt.X(f"{sx}:O", title=x, sort=sorted(set(data[sx].to_list())))
    enc_y = alt.Y(f"{sy}:O", title=y, sort="descending")
    tip = [alt.Tooltip(f"{sx}:N", title=x), alt.Tooltip(f"{sy}:N", title=y),
           alt.Tooltip(f"{sm}:Q", title=metric, format=".4g"),
           alt.Tooltip("n:Q", title="cells averaged")]
    if facet:
        tip.insert(0, alt.Tooltip(f"{_safe(facet)}:N", title=facet))
    values = [v for v in data[sm].to_list() if v is not None]
    mid = (min(values) + max(values)) / 2.0 if values else 0.0
    rect = alt.Chart().mark_rect().encode(
        x=enc_x, y=enc_y, tooltip=tip,
        color=alt.Color(f"{sm}:Q", title=metric, scale=alt.Scale(scheme="viridis")))
    text = alt.Chart().mark_text(fontSize=11).encode(
        x=enc_x, y=enc_y, text=alt.Text(f"{sm}:Q", format=".3g"),
        # dark label on the light (high) end of viridis, light label on the dark end
        color=alt.condition(f"datum['{sm}'] >= {mid!r}", alt.value("black"),
                            alt.value("white")))
    cells = max(1, len(set(data[sx].to_list())))
    layer = alt.layer(rect, text, data=data).properties(
        width=min(560, 48 * cells), height=min(360, 28 * len(set(data[sy].to_list())) + 20))
    chart = layer.facet(facet=alt.Facet(f"{_safe(facet)}:O", title=facet),
                        columns=3) if facet else layer
    return finish(chart, f"{metric} over {x} × {y}",
                  "Sweep store; each square is the mean over the other axes and seeds")


def sweep_lines(frame: pl.DataFrame, x: str, metric: str = "accuracy",
                color: str | None = None, facet: str | None = None) -> alt.TopLevelMixin:
    """``metric`` against axis ``x``, one curve per ``color`` value, one panel per
    ``facet`` value (a faceted frontier when ``x`` is a budget)."""
    by = [x] + [a for a in (color, facet) if a]
    data = cell_means(frame, by, metric)
    sx, sm = _safe(x), _safe(metric)
    enc: dict[str, object] = {
        "x": alt.X(f"{sx}:{_kind(frame, x)}", title=x),
        "y": alt.Y(f"{sm}:Q", title=metric, scale=alt.Scale(zero=False)),
        "tooltip": [alt.Tooltip(f"{_safe(c)}:N", title=c) for c in by]
        + [alt.Tooltip(f"{sm}:Q", title=metric, format=".4g"),
           alt.Tooltip("n:Q", title="cells averaged")],
    }
    if color:
        enc["color"] = alt.Color(f"{_safe(color)}:N", title=color)
    base = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=35), strokeWidth=2) \
        .encode(**enc).properties(width=300 if facet else 560, height=220)
    chart = base.facet(facet=alt.Facet(f"{_safe(facet)}:N", title=facet), columns=3) \
        if facet else base
    return finish(chart, f"{metric} vs {x}",
                  "Sweep store; each point is the mean over the other axes and seeds")


def default_sweep_charts(frame: pl.DataFrame, metric: str | None = None
                         ) -> list[tuple[str, str, alt.TopLevelMixin]]:
    """(name, caption, chart) for a report: a heatmap over the two richest axes and
    curves against the richest numeric axis, coloured and faceted by the next axes.

    Axes with a single value and the replicate ``seed`` axis are not drawn.
    """
    metrics = metric_columns(frame)
    if frame.is_empty() or not metrics:
        return []
    m = metric or ("accuracy" if "accuracy" in metrics else metrics[0])
    axes = sorted((a for a in axis_columns(frame) if a != "seed" and frame[a].n_unique() > 1),
                  key=lambda a: -frame[a].n_unique())
    if not axes:
        return []
    numeric = [a for a in axes if frame.schema[a].is_numeric()]
    x = numeric[0] if numeric else axes[0]
    rest = [a for a in axes if a != x]
    out: list[tuple[str, str, alt.TopLevelMixin]] = [
        ("sweep-lines", f"{m} against {x}, averaged over seeds and any axis not shown.",
         sweep_lines(frame, x, m, rest[0] if rest else None,
                     rest[1] if len(rest) > 1 else None))]
    if rest:
        out.insert(0, ("sweep-heatmap", f"{m} over {axes[0]} × {axes[1]}, averaged over "
                       "seeds and the other axes.", sweep_heatmap(frame, axes[0], axes[1], m)))
    return out
