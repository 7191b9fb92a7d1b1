"""One chart as a page shows it: an HTML heading, the Plotly figure as JSON, and the numbers behind it as a table."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.io.json import to_json_plotly

from webui.pages import chart_tables


@dataclass
class ChartView:
    """One chart: its heading (HTML, so it wraps on a phone), the figure JSON, and the numbers behind it."""

    dom_id: str
    heading: str
    figure: str
    table: chart_tables.ChartTable


def chart(dom_id: str, figure: go.Figure, table: chart_tables.ChartTable) -> ChartView:
    """The figure's title becomes the HTML heading (it wraps on narrow screens; a Plotly title would not)."""
    heading = figure.layout.title.text or ""
    spec = figure.to_plotly_json()  # edited as plain data: another update_layout would re-validate the whole figure
    spec["layout"].pop("title", None)
    spec["layout"]["margin"] = {**spec["layout"].get("margin", {}), "t": 28}
    return ChartView(dom_id, heading, to_json_plotly(spec), table)
