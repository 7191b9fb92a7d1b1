"""Per-arm charts: each arm's mean, and segment effects as a forest plot."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from webui.figures._style import (
    CONTROL_COLOUR,
    ZERO_COLOUR,
    arm_colour,
    base_layout,
    empty_figure,
    error_bars,
    has_interval,
    padded_range,
    reference_line,
)
from webui.figures.scale import decimals_for, metric_label, scale_for

AXIS_TITLES = {"%": "Percent", "s": "Seconds"}


def arm_means(metric: dict[str, Any], *, control: str = "control", units: str = "people") -> go.Figure:
    """Horizontal bars of each arm's mean, labelled with the value and the audits behind it."""
    scale = scale_for(metric)
    title = f"{metric_label(metric)} by group"
    arms = [arm for arm in metric.get("arms", []) if arm.get("mean") is not None]
    if not arms:
        return empty_figure(title, "No audits yet.")
    means = [scale.show(arm["mean"]) for arm in arms]
    decimals = decimals_for(means)
    colours, treatment = [], 0
    for arm in arms:
        if arm["arm"] == control:
            colours.append(CONTROL_COLOUR)
        else:
            colours.append(arm_colour(treatment))
            treatment += 1
    labels = [
        f"{scale.level(arm['mean'], decimals)} · {arm.get('audits', 0):,} audits, {arm.get('units', 0):,} {units}"
        for arm in arms
    ]
    figure = go.Figure(
        go.Bar(
            x=means,
            y=[arm["arm"] for arm in arms],
            orientation="h",
            marker={"color": colours},
            text=labels,
            textposition="inside",
            insidetextanchor="start",
            textfont={"color": "white"},
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    layout = base_layout(title, height=120 + 56 * len(arms), showlegend=False)
    layout["xaxis"].update(
        title={"text": AXIS_TITLES.get(scale.level_unit, scale.level_unit)},
        range=[0, max(means) * 1.05 if max(means) > 0 else 1],
    )
    layout["yaxis"].update(autorange="reversed")
    layout["bargap"] = 0.35
    figure.update_layout(layout)
    return figure


def segment_label(segment: dict[str, Any]) -> str:
    """ "Site: Manila" from `{"segment": "site", "level": "Manila"}` (or the segment's own `label`)."""
    if segment.get("label"):
        return str(segment["label"])
    name = str(segment.get("segment", "")).replace("_", " ").capitalize()
    level = segment.get("level", segment.get("value", ""))
    return f"{name}: {level}" if name else str(level)


def segment_forest(metric: dict[str, Any]) -> go.Figure:
    """One row per segment: the effect and its interval, against the zero line (descriptive, not a verdict)."""
    scale = scale_for(metric)
    title = f"{metric_label(metric)}: effect by segment"
    segments = [s for s in metric.get("segments") or [] if s.get("difference") is not None]
    if not segments:
        return empty_figure(title, "No segment has enough data for an estimate yet.")
    arms = {s.get("arm") for s in segments}
    labels = [
        segment_label(s)
        + (f" ({s['arm']})" if s.get("arm") and len(arms) > 1 else "")
        + ("" if has_interval(s.get("ci")) else " · no interval")
        for s in segments
    ]
    middle = [scale.show(s["difference"]) for s in segments]
    intervals = [s["ci"] if has_interval(s.get("ci")) else [None, None] for s in segments]
    low = [scale.show(ci[0]) for ci in intervals]
    high = [scale.show(ci[1]) for ci in intervals]
    figure = go.Figure(
        go.Scatter(
            x=middle,
            y=labels,
            mode="markers",
            marker={"size": 10, "color": arm_colour(0), "symbol": "square"},
            error_x=error_bars(middle, low, high),
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
            name="segment effect",
        )
    )
    shape, note = reference_line("x", 0.0, ZERO_COLOUR, "solid", "no change")
    layout = base_layout(title, height=140 + 34 * len(segments), showlegend=False, shapes=[shape], annotations=[note])
    unit = scale.change_unit
    span = padded_range([*low, *high, *middle, 0.0])
    layout["xaxis"].update(title={"text": f"Difference ({unit})" if unit else "Difference"}, range=span)
    layout["yaxis"].update(autorange="reversed", type="category")
    layout["margin"] = {**layout["margin"], "l": 140}
    figure.update_layout(layout)
    return figure
