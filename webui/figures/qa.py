"""QA-domain charts: where a change helps or hurts (effects by policy or queue) and how lenient each auditor is.

Both are forest plots on a difference axis in display units (points for rates), one row per cell or auditor with its
interval as error bars and a zero line. Colour and marker shape both carry the reading (better, worse, unclear), so
the charts work for colour-blind readers and in greyscale print.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from webui import plain
from webui.figures._style import (
    CONTROL_COLOUR,
    MARGIN_COLOUR,
    ZERO_COLOUR,
    base_layout,
    empty_figure,
    error_bars,
    has_interval,
    padded_range,
    reference_line,
)
from webui.figures.scale import RATE, metric_label, scale_for

BETTER_COLOUR = "#009E73"  # Okabe-Ito bluish green
WORSE_COLOUR = "#D55E00"  # Okabe-Ito vermillion
UNCLEAR_COLOUR = "#0072B2"
STATES = {
    "better": ("better (interval above no change)", BETTER_COLOUR, "triangle-up"),
    "worse": ("worse (interval below no change)", WORSE_COLOUR, "triangle-down"),
    "unclear": ("could be noise", UNCLEAR_COLOUR, "circle"),
}
CRITICAL_MARK = "\u2605"  # a star before a pre-registered critical policy
DIMENSIONS = {"policy": "policy", "queue": "queue"}


def cell_state(row: dict[str, Any], higher_is_better: bool) -> str:
    """ "better", "worse", "unclear" (the interval includes zero) or "small" (no estimate or no interval)."""
    if row.get("difference") is None or not has_interval(row.get("ci")):
        return "small"
    low, high = row["ci"]
    if low > 0 or high < 0:
        return "better" if (low > 0) == higher_is_better else "worse"
    return "unclear"


def critical_lookup(metric: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The metric's registered critical policies by (policy, arm)."""
    return {(str(c.get("policy")), str(c.get("arm"))): c for c in metric.get("critical_policies") or []}


def cell_label(row: dict[str, Any], names: dict[str, str], several_arms: bool, critical: bool) -> str:
    """ "★ Violent extremism" (critical), "Hate speech · AI assist" (with several treatment arms)."""
    text = plain.humanize(str(row.get("value", "")))
    if several_arms:
        text += f" · {plain.arm_name(names, row.get('arm'))}"
    return f"{CRITICAL_MARK} {text}" if critical else text


def margin_position(metric: dict[str, Any], row: dict[str, Any], segment: dict[str, Any]) -> float | None:
    """Where a critical policy's margin sits on the difference axis (raw units), on the harmful side of zero."""
    margin = segment.get("margin")
    if margin is None:
        return None
    margin = float(margin)
    if segment.get("relative"):
        control = row.get("control_mean")
        if control is None:
            return None
        margin *= abs(float(control))
    return -abs(margin) if metric.get("direction", "higher") == "higher" else abs(margin)


def ordered_cells(metric: dict[str, Any], dimension: str) -> list[dict[str, Any]]:
    """The cells of `by_policy` / `by_queue`, better first, worse last, cells without an estimate at the end."""
    sign = 1.0 if metric.get("direction", "higher") == "higher" else -1.0
    rows = list(metric.get(f"by_{dimension}") or [])
    return sorted(
        rows,
        key=lambda r: (r.get("difference") is None, -sign * (r.get("difference") or 0.0), str(r.get("value"))),
    )


def cell_forest(metric: dict[str, Any], dimension: str, *, names: dict[str, str] | None = None) -> go.Figure:
    """Where it helps, where it hurts: the effect within each policy (or queue) and arm, with its interval.

    Cells with too little data keep their row, marked "too little data" (the reason is in the hover text and the
    table under the chart); registered critical policies carry a star and their margin as an orange tick.
    """
    scale = scale_for(metric)
    names = names or {}
    word = DIMENSIONS[dimension]
    title = f"{metric_label(metric)}: effect by {word} (raw, descriptive)"
    rows = ordered_cells(metric, dimension)
    if not rows:
        return empty_figure(title, f"No audits carry a {word} yet.")
    higher = metric.get("direction", "higher") == "higher"
    several = len({r.get("arm") for r in rows}) > 1
    critical = critical_lookup(metric) if dimension == "policy" else {}
    labels = [cell_label(r, names, several, (str(r.get("value")), str(r.get("arm"))) in critical) for r in rows]
    figure = go.Figure()
    values: list[float] = [0.0]
    for state, (legend, colour, symbol) in STATES.items():
        picked = [(label, r) for label, r in zip(labels, rows, strict=True) if cell_state(r, higher) == state]
        if not picked:
            continue
        middle = [scale.show(r["difference"]) for _, r in picked]
        low = [scale.show(r["ci"][0]) for _, r in picked]
        high = [scale.show(r["ci"][1]) for _, r in picked]
        values += middle + low + high
        figure.add_trace(
            go.Scatter(
                x=middle,
                y=[label for label, _ in picked],
                mode="markers",
                name=legend,
                marker={"size": 11, "color": colour, "symbol": symbol},
                error_x={**error_bars(middle, low, high), "color": colour},
                customdata=[
                    f"{_signed(m)} {scale.change_unit} (interval {_signed(lo)} to {_signed(hi)}), "
                    f"{r.get('audits', 0):,} audits"
                    for (_, r), m, lo, hi in zip(picked, middle, low, high, strict=True)
                ],
                hovertemplate="%{y}: %{customdata}<extra></extra>",
            )
        )
    small = [(label, r) for label, r in zip(labels, rows, strict=True) if cell_state(r, higher) == "small"]
    if small:
        figure.add_trace(
            go.Scatter(
                x=[0.0] * len(small),
                y=[label for label, _ in small],
                mode="text",
                text=["  too little data"] * len(small),
                textposition="middle right",
                textfont={"color": CONTROL_COLOUR, "size": 12},
                name="too little data",
                showlegend=False,
                customdata=[str(r.get("message") or "Too little data for an estimate.") for _, r in small],
                hovertemplate="%{y}: %{customdata}<extra></extra>",
            )
        )
    ticks = []
    for label, row in zip(labels, rows, strict=True):
        segment = critical.get((str(row.get("value")), str(row.get("arm"))))
        position = margin_position(metric, row, segment) if segment else None
        if position is not None:
            ticks.append((label, scale.show(position)))
    if ticks:
        values += [x for _, x in ticks]
        figure.add_trace(
            go.Scatter(
                x=[x for _, x in ticks],
                y=[label for label, _ in ticks],
                mode="markers",
                name=f"{CRITICAL_MARK} critical policy: its margin",
                marker={"symbol": "line-ns", "size": 24, "line": {"color": MARGIN_COLOUR, "width": 3}},
                hovertemplate="%{y}: margin %{x:.2f}<extra></extra>",
            )
        )
    shape, note = reference_line("x", 0.0, ZERO_COLOUR, "solid", "no change")
    layout = base_layout(title, height=170 + 30 * len(rows), shapes=[shape], annotations=[note])
    unit = scale.change_unit
    layout["xaxis"].update(title={"text": f"Difference ({unit})" if unit else "Difference"}, range=padded_range(values))
    layout["yaxis"].update(
        type="category", categoryorder="array", categoryarray=labels, autorange="reversed", tickfont={"size": 12}
    )
    _legend_below(layout)
    figure.layout = layout  # assigning validates once; update_layout re-parses every key (6x slower)
    return figure


def _legend_below(layout: dict[str, Any]) -> None:
    """The legend a fixed distance under the axis title whatever the chart's height (paper units scale with it)."""
    plot = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    layout["legend"]["y"] = -62 / max(plot, 60)


def _signed(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2f}".replace("-", "\u2212")


def leniency_state(row: dict[str, Any]) -> str:
    """ "lenient" or "strict" when the auditor's interval excludes the average, else "average"."""
    if not has_interval(row.get("ci")):
        return "average"
    low, high = row["ci"]
    return "lenient" if low > 0 else "strict" if high < 0 else "average"


LENIENCY = {
    "lenient": ("more lenient than average", "#E69F00", "triangle-right"),
    "strict": ("stricter than average", "#0072B2", "triangle-left"),
    "average": ("could be average", CONTROL_COLOUR, "circle"),
}


def auditor_leniency(auditors: list[dict[str, Any]]) -> go.Figure:
    """Each auditor's leniency on accuracy (how many more decisions they pass as correct than the average auditor
    would, in points), with its 95% interval, most lenient first."""
    title = "How leniently each auditor grades (accuracy)"
    rows = sorted(
        (a for a in auditors if a.get("leniency") is not None), key=lambda a: (-a["leniency"], a["auditor_id"])
    )
    if not rows:
        return empty_figure(title, "No auditor has graded enough audits to compare.")
    labels = [str(a["auditor_id"]) for a in rows]
    figure = go.Figure()
    values: list[float] = [0.0]
    for state, (legend, colour, symbol) in LENIENCY.items():
        picked = [a for a in rows if leniency_state(a) == state]
        if not picked:
            continue
        middle = [RATE.show(a["leniency"]) for a in picked]
        ends = [a["ci"] if has_interval(a.get("ci")) else [None, None] for a in picked]
        low = [RATE.show(ci[0]) for ci in ends]
        high = [RATE.show(ci[1]) for ci in ends]
        values += [v for v in middle + low + high if v is not None]
        figure.add_trace(
            go.Scatter(
                x=middle,
                y=[str(a["auditor_id"]) for a in picked],
                mode="markers",
                name=legend,
                marker={"size": 10, "color": colour, "symbol": symbol},
                error_x={**error_bars(middle, low, high), "color": colour},
                customdata=[f"{a.get('audits', 0):,} audits" for a in picked],
                hovertemplate="%{y}: %{x:+.2f} points, %{customdata}<extra></extra>",
            )
        )
    shape, note = reference_line("x", 0.0, ZERO_COLOUR, "solid", "average auditor")
    layout = base_layout(title, height=170 + 24 * len(rows), shapes=[shape], annotations=[note])
    layout["xaxis"].update(title={"text": "Leniency (points of accuracy)"}, range=padded_range(values))
    layout["yaxis"].update(
        type="category", categoryorder="array", categoryarray=labels, autorange="reversed", tickfont={"size": 12}
    )
    _legend_below(layout)
    figure.layout = layout
    return figure
