"""Shared look of every chart: system fonts (no web fonts), colour-blind-safe colours, reference lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
TEXT = "#1f2933"
GRID = "#e4e7eb"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
ARM_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
CONTROL_COLOUR = "#7b8794"
ZERO_COLOUR = "#3e4c59"
MARGIN_COLOUR = "#D55E00"


def arm_colour(index: int) -> str:
    return ARM_COLOURS[index % len(ARM_COLOURS)]


def translucent(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def base_layout(title: str, *, height: int = 340, **overrides: Any) -> dict[str, Any]:
    """Layout defaults: readable title, white background, light grid, legend below the plot."""
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": FONT, "size": 13, "color": TEXT},
        "height": height,
        "margin": {"l": 64, "r": 24, "t": 48, "b": 48},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.22, "x": 0, "yanchor": "top"},
        "xaxis": {"gridcolor": GRID, "zeroline": False, "automargin": True},
        "yaxis": {"gridcolor": GRID, "zeroline": False, "automargin": True},
    }
    layout.update(overrides)
    return layout


def reference_line(
    axis: str, value: float, colour: str, dash: str, label: str, label_at: str = "end"
) -> tuple[dict, dict]:
    """A full-width (axis="y") or full-height (axis="x") line at `value`, and its text label.

    `label_at` ("start" or "end") puts a horizontal line's label at the left or right edge, so two nearby lines
    (zero and a small margin) do not print their labels on top of each other.
    """
    if axis == "y":
        shape = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": value, "y1": value}
        edge = {"x": 0, "xanchor": "left"} if label_at == "start" else {"x": 1, "xanchor": "right"}
        note = {"xref": "paper", **edge, "yref": "y", "y": value, "yanchor": "bottom"}
    else:
        shape = {"type": "line", "yref": "paper", "y0": 0, "y1": 1, "xref": "x", "x0": value, "x1": value}
        note = {"yref": "paper", "y": 1, "yanchor": "bottom", "xref": "x", "x": value, "xanchor": "left"}
    shape["line"] = {"color": colour, "width": 1.5, "dash": dash}
    note.update({"text": label, "showarrow": False, "font": {"size": 11, "color": colour}})
    return shape, note


def padded_range(values: Iterable[float | None], pad: float = 0.08) -> list[float]:
    """An axis range covering every value with a margin, so bands and reference lines never touch the frame."""
    finite = [v for v in values if v is not None]
    if not finite:
        return [-1.0, 1.0]
    low, high = min(finite), max(finite)
    span = high - low or max(abs(high), 1.0)
    return [low - pad * span, high + pad * span]


def empty_figure(title: str, message: str) -> go.Figure:
    """A chart frame with a centred message, for metrics that have no data for a chart yet."""
    layout = base_layout(title, height=220, showlegend=False)
    layout["xaxis"] = {"visible": False}
    layout["yaxis"] = {"visible": False}
    layout["annotations"] = [
        {"text": message, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False}
    ]
    return go.Figure(layout=layout)


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def error_bars(middle: list[float | None], low: list[float | None], high: list[float | None]) -> dict[str, Any]:
    """Asymmetric error bars from interval ends (plotly wants distances from the point); a point without an
    interval gets no bar rather than breaking the chart."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [_gap(h, m) for h, m in zip(high, middle, strict=True)],
        "arrayminus": [_gap(m, lo) for m, lo in zip(middle, low, strict=True)],
        "thickness": 1.5,
    }


def has_interval(ci: Any) -> bool:
    """Whether an interval `[low, high]` from the document has both ends."""
    return isinstance(ci, list | tuple) and len(ci) == 2 and ci[0] is not None and ci[1] is not None


def corner_note(text: str) -> dict[str, Any]:
    """A small grey note in the chart's top right corner, e.g. "no interval yet for week 5"."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 1,
        "y": 1,
        "xanchor": "right",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 11, "color": "#52606d"},
    }
