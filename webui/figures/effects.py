"""Effect charts: the difference between arms over calendar time and by week since launch.

Both show the treatment-minus-control difference in display units (points for rates), its interval as a band or
error bars, the zero line (no effect) and, for guardrails, the non-inferiority margin on the harmful side.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from webui.figures._style import (
    MARGIN_COLOUR,
    ZERO_COLOUR,
    arm_colour,
    base_layout,
    empty_figure,
    error_bars,
    padded_range,
    reference_line,
    translucent,
)
from webui.figures.scale import metric_label, scale_for


def harmful_margin(metric: dict[str, Any], margin: float | None) -> float | None:
    """Where the guardrail margin line sits on the difference axis (raw units): below zero when higher is better."""
    if margin is None:
        return None
    return -abs(margin) if metric.get("direction", "higher") == "higher" else abs(margin)


def _reference_lines(metric: dict[str, Any], margin: float | None, axis: str) -> tuple[list, list, list[float]]:
    scale = scale_for(metric)
    shape, note = reference_line(axis, 0.0, ZERO_COLOUR, "solid", "no change", label_at="start")
    shapes, notes, values = [shape], [note], [0.0]
    line = harmful_margin(metric, margin)
    if line is not None:
        shape, note = reference_line(axis, scale.show(line), MARGIN_COLOUR, "dash", "guardrail margin")
        shapes.append(shape)
        notes.append(note)
        values.append(scale.show(line))
    return shapes, notes, values


def _axis_title(metric: dict[str, Any]) -> str:
    unit = scale_for(metric).change_unit
    return f"Difference ({unit})" if unit else "Difference"


def effect_over_time(metric: dict[str, Any], *, margin: float | None = None) -> go.Figure:
    """The running estimate of each comparison by date, with its always-valid interval as a shaded band."""
    scale = scale_for(metric)
    title = f"{metric_label(metric)}: effect over time"
    comparisons = [c for c in metric.get("comparisons", []) if c.get("history")]
    if not comparisons:
        return empty_figure(title, "No looks at the data yet.")
    figure = go.Figure()
    values: list[float] = []
    for index, comparison in enumerate(comparisons):
        colour = arm_colour(index)
        history = comparison["history"]
        dates = [point["date"] for point in history]
        low = [scale.show(point["ci"][0]) for point in history]
        high = [scale.show(point["ci"][1]) for point in history]
        middle = [scale.show(point["difference"]) for point in history]
        values += low + high
        arm = comparison["arm"]
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=high,
                mode="lines",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=arm,
                name=f"{arm} upper",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=low,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=translucent(colour, 0.18),
                hoverinfo="skip",
                legendgroup=arm,
                name=f"{arm}: interval",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=dates,
                y=middle,
                mode="lines+markers",
                line={"color": colour, "width": 2},
                marker={"size": 5},
                legendgroup=arm,
                name=f"{arm} vs control",
                customdata=list(zip(low, high, strict=True)),
                hovertemplate="%{x}<br>difference %{y:.2f}<br>interval %{customdata[0]:.2f} to "
                "%{customdata[1]:.2f}<extra></extra>",
            )
        )
    shapes, notes, lines = _reference_lines(metric, margin, "y")
    layout = base_layout(title, shapes=shapes, annotations=notes)
    layout["yaxis"].update(title={"text": _axis_title(metric)}, range=padded_range(values + lines))
    layout["xaxis"].update(title={"text": "Data through"}, type="date")
    figure.update_layout(layout)
    return figure


def effect_by_week(metric: dict[str, Any], *, margin: float | None = None) -> go.Figure:
    """The effect within each week since launch, with intervals: shows whether it ramps up or fades."""
    scale = scale_for(metric)
    title = f"{metric_label(metric)}: effect by week since launch"
    weeks = metric.get("by_week") or []
    if not weeks:
        return empty_figure(title, "Week-by-week effects appear after the first full week.")
    figure = go.Figure()
    values: list[float] = []
    arms = list(dict.fromkeys(week.get("arm", "") for week in weeks))
    for index, arm in enumerate(arms):
        rows = [week for week in weeks if week.get("arm", "") == arm]
        middle = [scale.show(row["difference"]) for row in rows]
        low = [scale.show(row["ci"][0]) for row in rows]
        high = [scale.show(row["ci"][1]) for row in rows]
        values += low + high
        figure.add_trace(
            go.Scatter(
                x=[f"Week {row['week']}" for row in rows],
                y=middle,
                mode="markers+lines",
                name=f"{arm} vs control" if arm else "difference",
                line={"color": arm_colour(index), "width": 1, "dash": "dot"},
                marker={"size": 9, "color": arm_colour(index)},
                error_y=error_bars(middle, low, high),
            )
        )
    shapes, notes, lines = _reference_lines(metric, margin, "y")
    layout = base_layout(title, shapes=shapes, annotations=notes, showlegend=len(arms) > 1)
    layout["yaxis"].update(title={"text": _axis_title(metric)}, range=padded_range(values + lines))
    layout["xaxis"].update(title={"text": "Week since launch"}, type="category")
    figure.update_layout(layout)
    return figure
