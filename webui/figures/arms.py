"""Per-arm charts: each arm's mean, and segment effects as a forest plot."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from webui import plain
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


def arm_means(
    metric: dict[str, Any],
    *,
    control: str = "control",
    units: str = "people",
    names: dict[str, str] | None = None,
) -> go.Figure:
    """Each arm's raw mean as a dot labelled with its value and the audits behind it.

    The axis spans the means with room around them rather than starting at zero: bars from zero make a 2-point gap
    between 92% and 94% invisible, and the gap is what the reader needs to see.
    """
    scale = scale_for(metric)
    names = names or {}
    title = f"{metric_label(metric)} by group (raw averages)"
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
    # The value only on the chart (longer labels run off a phone-width plot); audits and units are in the hover
    # text and in the table of numbers under the chart.
    labels = [scale.level(arm["mean"], decimals) for arm in arms]
    details = [
        f"{scale.level(arm['mean'], decimals)} · {arm.get('audits', 0):,} audits, {arm.get('units', 0):,} {units}"
        for arm in arms
    ]
    groups = [plain.arm_name(names, arm["arm"]) for arm in arms]
    figure = go.Figure(
        go.Scatter(
            x=means,
            y=groups,
            mode="markers+text",
            marker={"color": colours, "size": 14},
            text=labels,
            textposition="top center",
            cliponaxis=False,
            customdata=details,
            hovertemplate="%{y}: %{customdata}<extra></extra>",
        )
    )
    layout = base_layout(title, height=130 + 64 * len(arms), showlegend=False)
    low, high = padded_range(means, pad=0.6)
    layout["xaxis"].update(title={"text": AXIS_TITLES.get(scale.level_unit, scale.level_unit)}, range=[low, high])
    if scale.level_unit == "%":
        layout["xaxis"]["ticksuffix"] = "%"
    layout["yaxis"].update(autorange="reversed", type="category")
    figure.layout = layout  # assigning validates once; update_layout re-parses every key (6x slower)
    return figure


def segment_label(segment: dict[str, Any]) -> str:
    """ "Language: German" from `{"segment": "language", "level": "de"}` (or the segment's own `label`)."""
    if segment.get("label"):
        return str(segment["label"])
    level = segment.get("level", segment.get("value", ""))
    return plain.segment(str(segment["segment"]), level) if segment.get("segment") else str(level)


def segment_forest(metric: dict[str, Any], *, names: dict[str, str] | None = None) -> go.Figure:
    """One row per segment: the raw effect and its interval, against the zero line (descriptive, not a verdict)."""
    scale = scale_for(metric)
    names = names or {}
    title = f"{metric_label(metric)}: effect by segment (raw)"
    segments = sorted(
        (s for s in metric.get("segments") or [] if s.get("difference") is not None), key=plain.segment_order
    )
    if not segments:
        return empty_figure(title, "No segment has enough data for an estimate yet.")
    arms = {s.get("arm") for s in segments}
    labels = [
        segment_label(s)
        + (f" ({plain.arm_name(names, s['arm'])})" if s.get("arm") and len(arms) > 1 else "")
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
    figure.layout = layout  # assigning validates once; update_layout re-parses every key (6x slower)
    return figure
