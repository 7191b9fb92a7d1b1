"""Effect charts: the difference between arms over calendar time and by week since launch.

Both show the treatment-minus-control difference in display units (points for rates), its interval as a band or
error bars, the zero line (no effect) and, for guardrails, the non-inferiority margin on the harmful side.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import plotly.graph_objects as go

from webui import plain
from webui.figures._style import (
    MARGIN_COLOUR,
    ZERO_COLOUR,
    arm_colour,
    base_layout,
    corner_note,
    empty_figure,
    error_bars,
    has_interval,
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


def _hover(date: str, middle: float, low: float | None, high: float | None) -> str:
    interval = f"interval {low:.2f} to {high:.2f}" if low is not None and high is not None else "no interval yet"
    return f"{date}<br>difference {middle:.2f}<br>{interval}"


def effect_over_time(
    metric: dict[str, Any],
    *,
    margin: float | None = None,
    empty: str = "No looks at the data yet.",
    names: dict[str, str] | None = None,
    data_through: str | None = None,
    adjusted: bool = False,
) -> go.Figure:
    """The running estimate of each comparison by date, with its design-valid interval as a shaded band.

    Points without an estimate are skipped; points without an interval keep their estimate but leave the band,
    and a note says when no interval exists yet. The date axis runs to `data_through` (group-sequential estimates
    exist only at reviews, so the last point can be days before the data end), marked by a dotted line.
    """
    scale = scale_for(metric)
    names = names or {}
    title = f"{metric_label(metric)}: effect over time{' (adjusted)' if adjusted else ''}"
    comparisons = [
        c for c in metric.get("comparisons", []) if any(p.get("difference") is not None for p in c.get("history") or [])
    ]
    if not comparisons:
        return empty_figure(title, empty)
    figure = go.Figure()
    values: list[float] = []
    missing = False
    for index, comparison in enumerate(comparisons):
        colour = arm_colour(index)
        history = [point for point in comparison["history"] if point.get("difference") is not None]
        banded = [point for point in history if has_interval(point.get("ci"))]
        missing = missing or len(banded) < len(history)
        band_dates = [point["date"] for point in banded]
        low = [scale.show(point["ci"][0]) for point in banded]
        high = [scale.show(point["ci"][1]) for point in banded]
        middle = [scale.show(point["difference"]) for point in history]
        values += low + high + middle
        arm = plain.arm_name(names, comparison["arm"])
        if banded:
            figure.add_trace(
                go.Scatter(
                    x=band_dates,
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
                    x=band_dates,
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
        ends = {point["date"]: point["ci"] for point in banded}
        figure.add_trace(
            go.Scatter(
                x=[point["date"] for point in history],
                y=middle,
                mode="lines+markers",
                line={"color": colour, "width": 2},
                marker={"size": 5},
                legendgroup=arm,
                name=f"{arm} vs {plain.arm_name(names, 'control')}",
                text=[
                    _hover(
                        point["date"],
                        value,
                        scale.show(ends[point["date"]][0]) if point["date"] in ends else None,
                        scale.show(ends[point["date"]][1]) if point["date"] in ends else None,
                    )
                    for point, value in zip(history, middle, strict=True)
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    shapes, notes, lines = _reference_lines(metric, margin, "y")
    if missing:
        notes.append(corner_note("no interval yet at some looks" if values else "no interval yet"))
    dates = [point["date"] for comparison in comparisons for point in comparison["history"]]
    if data_through and dates and data_through > max(dates):
        shape, note = reference_line("x", data_through, ZERO_COLOUR, "dot", "data through")
        note["xanchor"] = "right"  # inside the plot: the axis ends a day after this line
        shapes.append(shape)
        notes.append(note)
    layout = base_layout(title, shapes=shapes, annotations=notes)
    layout["yaxis"].update(title={"text": _axis_title(metric)}, range=padded_range(values + lines))
    # No x-axis title (the dates speak for themselves): on a phone the dates wrap onto two lines and a title would
    # run into the legend below them.
    layout["xaxis"].update(type="date")
    layout["legend"]["y"] = -0.25
    if dates:
        layout["xaxis"]["range"] = _date_range(min(dates), max([*dates, data_through or ""]))
    figure.layout = layout  # assigning validates once; update_layout re-parses every key (6x slower)
    return figure


def _date_range(first: str, last: str) -> list[str]:
    """A date axis from `first` to `last` with a day of room on each side (one look alone still gets a span)."""
    start, end = date.fromisoformat(first[:10]), date.fromisoformat(last[:10])
    return [(start - timedelta(days=1)).isoformat(), (end + timedelta(days=1)).isoformat()]


def _week_label(row: dict[str, Any]) -> str:
    return f"Week {row['week']}" + ("" if row.get("complete", True) else " (partial)")


def effect_by_week(
    metric: dict[str, Any], *, margin: float | None = None, names: dict[str, str] | None = None
) -> go.Figure:
    """The raw effect within each week since launch, with intervals: shows whether it ramps up or fades.

    Weeks without an estimate are left out and named in a note; weeks without an interval show the point only.
    """
    scale = scale_for(metric)
    names = names or {}
    title = f"{metric_label(metric)}: effect by week (raw)"
    weeks = metric.get("by_week") or []
    usable = [week for week in weeks if week.get("difference") is not None]
    if not usable:
        message = "Week-by-week effects appear after the first full week."
        if weeks:
            message = "No week has enough data for an estimate yet."
        return empty_figure(title, message)
    figure = go.Figure()
    values: list[float] = []
    arms = list(dict.fromkeys(week.get("arm", "") for week in usable))
    for index, arm in enumerate(arms):
        rows = [week for week in usable if week.get("arm", "") == arm]
        middle = [scale.show(row["difference"]) for row in rows]
        intervals = [row.get("ci") if has_interval(row.get("ci")) else [None, None] for row in rows]
        low = [scale.show(ci[0]) for ci in intervals]
        high = [scale.show(ci[1]) for ci in intervals]
        values += [v for v in low + high + middle if v is not None]
        figure.add_trace(
            go.Scatter(
                x=[_week_label(row) for row in rows],
                y=middle,
                mode="markers+lines",
                name=f"{plain.arm_name(names, arm)} vs {plain.arm_name(names, 'control')}" if arm else "difference",
                line={"color": arm_colour(index), "width": 1, "dash": "dot"},
                marker={"size": 9, "color": arm_colour(index)},
                error_y=error_bars(middle, low, high),
            )
        )
    shapes, notes, lines = _reference_lines(metric, margin, "y")
    gaps = sorted({row["week"] for row in weeks if row.get("difference") is None or not has_interval(row.get("ci"))})
    if gaps:
        notes.append(corner_note(f"no interval yet: week {', '.join(str(w) for w in gaps)}"))
    layout = base_layout(title, shapes=shapes, annotations=notes, showlegend=len(arms) > 1)
    layout["yaxis"].update(title={"text": _axis_title(metric)}, range=padded_range(values + lines))
    layout["xaxis"].update(title={"text": "Week since launch"}, type="category")
    figure.layout = layout  # assigning validates once; update_layout re-parses every key (6x slower)
    return figure
