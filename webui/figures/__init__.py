"""Plotly figure builders for the results page: pure functions from parts of the results document to figures.

No database and no Flask here; the page serializes the figures with `figure_json` and a local script draws them
with the vendored plotly.min.js.
"""

from __future__ import annotations

import plotly.graph_objects as go

from webui.figures.arms import arm_means, segment_forest
from webui.figures.effects import effect_by_week, effect_over_time, harmful_margin


def figure_json(figure: go.Figure) -> str:
    """The figure as JSON for the page (plotly.js itself is served separately, never embedded or fetched)."""
    return figure.to_json()


__all__ = [
    "arm_means",
    "effect_by_week",
    "effect_over_time",
    "figure_json",
    "harmful_margin",
    "segment_forest",
]
