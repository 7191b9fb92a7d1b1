"""The planning chart: the smallest change the pilot can reliably detect, week by week."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from webui.figures._style import ARM_COLOURS, MARGIN_COLOUR, ZERO_COLOUR, base_layout, padded_range, reference_line


def detectable_effect(
    weeks: list[int],
    mde: list[float | None],
    unit: str,
    *,
    saturation_week: int | None = None,
    target: float | None = None,
) -> go.Figure:
    """MDE (already in display units: points or seconds) by week; a dotted line where more time stops helping, a
    dashed line at the effect the PM hopes for."""
    figure = go.Figure(
        go.Scatter(
            x=weeks,
            y=mde,
            mode="lines+markers",
            name="Smallest detectable change",
            line={"color": ARM_COLOURS[0], "width": 2.5},
            hovertemplate="Week %{x}: %{y:.2f} " + unit + "<extra></extra>",
        )
    )
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    if saturation_week is not None:
        shape, note = reference_line("x", saturation_week, ZERO_COLOUR, "dot", "more time barely helps")
        shapes.append(shape)
        notes.append(note)
    if target is not None:
        shape, note = reference_line("y", abs(target), MARGIN_COLOUR, "dash", "the change you hope for")
        shapes.append(shape)
        notes.append(note)
    values = [v for v in mde if v is not None] + ([abs(target)] if target is not None else [])
    low, high = padded_range([0.0, *values])
    layout = base_layout(
        "Smallest change the pilot can detect",
        height=320,
        showlegend=False,
        shapes=shapes,
        annotations=notes,
    )
    layout["xaxis"] = {**layout["xaxis"], "title": {"text": "Weeks since launch"}, "dtick": 1}
    layout["yaxis"] = {**layout["yaxis"], "title": {"text": unit}, "range": [max(0.0, low), high]}
    figure.update_layout(layout)
    return figure
