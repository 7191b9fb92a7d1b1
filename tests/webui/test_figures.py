"""Figure builders: traces, bands, reference lines at zero and at the guardrail margin, ranges and units."""

from __future__ import annotations

import pytest

from tests.webui.sample_results import sample_document
from webui import figures
from webui.figures.scale import RATE, SECONDS, decimals_for, scale_for


@pytest.fixture
def metrics():
    return {metric["name"]: metric for metric in sample_document()["metrics"]}


def _lines(figure):
    return {note.text: shape for shape, note in zip(figure.layout.shapes, figure.layout.annotations, strict=True)}


def test_scales_come_from_the_catalog_or_the_values():
    assert scale_for({"name": "accuracy"}) is RATE
    assert scale_for({"name": "handle_time"}) is SECONDS
    assert scale_for({"name": "custom", "arms": [{"mean": 0.3}, {"mean": 0.4}]}) is RATE
    assert scale_for({"name": "custom", "arms": [{"mean": 30.0}]}).factor == 1.0


@pytest.mark.parametrize(
    ("values", "decimals"), [([0.6, 2.2], 1), ([1.2, 3.4], 1), ([40, 95], 0), ([-0.4, 0.2], 1), ([0.012, 0.034], 3)]
)
def test_decimals_follow_the_spread(values, decimals):
    assert decimals_for(values) == decimals


def test_effect_over_time_has_band_line_zero_and_margin(metrics):
    metric = metrics["critical_error_rate"]
    figure = figures.effect_over_time(metric, margin=0.005)
    upper, lower, estimate = figure.data
    assert lower.fill == "tonexty" and upper.line.width == 0
    history = metric["comparisons"][0]["history"]
    assert list(estimate.x) == [point["date"] for point in history]
    assert estimate.y[-1] == pytest.approx(history[-1]["difference"] * 100)
    assert lower.y[0] == pytest.approx(history[0]["ci"][0] * 100)
    lines = _lines(figure)
    assert lines["no change"].y0 == 0
    # Lower is better for critical errors, so the harmful side is above zero: +0.5 points.
    assert lines["guardrail margin"].y0 == pytest.approx(0.5) and lines["guardrail margin"].line.dash == "dash"
    low, high = figure.layout.yaxis.range
    assert low < min(lower.y) and high > max(max(upper.y), 0.5)
    assert figure.layout.yaxis.title.text == "Difference (points)"


def test_margin_sits_below_zero_when_higher_is_better(metrics):
    figure = figures.effect_over_time(metrics["accuracy"], margin=0.01)
    assert _lines(figure)["guardrail margin"].y0 == pytest.approx(-1.0)


def test_no_margin_line_without_a_margin(metrics):
    assert set(_lines(figures.effect_over_time(metrics["accuracy"]))) == {"no change"}


def test_effect_over_time_without_history_is_an_explained_empty_chart(metrics):
    metric = dict(metrics["accuracy"], comparisons=[])
    figure = figures.effect_over_time(metric)
    assert not figure.data
    assert "No looks" in figure.layout.annotations[0].text


def test_several_arms_get_one_band_each(metrics):
    metric = metrics["accuracy"]
    second = dict(metric["comparisons"][0], arm="treatment_b")
    figure = figures.effect_over_time(dict(metric, comparisons=[metric["comparisons"][0], second]))
    assert len(figure.data) == 6
    assert figure.data[2].line.color != figure.data[5].line.color


def test_effect_by_week_has_asymmetric_error_bars(metrics):
    figure = figures.effect_by_week(metrics["accuracy"])
    (trace,) = figure.data
    assert list(trace.x) == ["Week 1", "Week 2", "Week 3"]
    assert trace.y[1] == pytest.approx(1.5)
    assert trace.error_y.array[1] == pytest.approx(1.1) and trace.error_y.arrayminus[1] == pytest.approx(1.1)
    assert _lines(figure)["no change"].y0 == 0
    assert figure.layout.yaxis.range[0] < -0.6  # week 1's interval starts at -0.6 points


def test_effect_by_week_missing_is_explained(metrics):
    figure = figures.effect_by_week(metrics["handle_time"])
    assert not figure.data and "first full week" in figure.layout.annotations[0].text


def test_arm_means_are_dots_on_an_axis_that_shows_the_gap(metrics):
    figure = figures.arm_means(metrics["accuracy"], names={"treatment": "AI assist"})
    (dots,) = figure.data
    assert list(dots.y) == ["Control", "AI assist"]
    assert list(dots.x) == pytest.approx([91.2, 92.6])
    assert dots.text[0] == "91.2%" and dots.customdata[0] == "91.2% · 12,480 audits, 101 people"
    low, high = figure.layout.xaxis.range
    # Not from zero: the 1.4-point gap spans a visible share of the axis.
    assert 85 < low < 91.2 and 92.6 < high < 100
    assert (92.6 - 91.2) / (high - low) > 0.3
    assert dots.marker.color[0] != dots.marker.color[1]
    assert figure.layout.title.text.endswith("(raw averages)")


def test_effect_over_time_runs_to_the_data_through_date(metrics):
    metric = metrics["accuracy"]
    last = metric["comparisons"][0]["history"][-1]["date"]
    figure = figures.effect_over_time(metric, data_through="2099-01-10", adjusted=True, names={"treatment": "Hints"})
    assert figure.layout.xaxis.range[1] == "2099-01-11"
    assert "data through" in [note.text for note in figure.layout.annotations]
    assert figure.layout.title.text.endswith("(adjusted)")
    assert figure.data[-1].name == "Hints vs Control"
    unchanged = figures.effect_over_time(metric, data_through=last)
    assert "data through" not in [note.text for note in unchanged.layout.annotations]


def test_arm_means_in_seconds(metrics):
    (dots,) = figures.arm_means(metrics["handle_time"]).data
    assert dots.text[1].startswith("42.1 s")


def test_segment_forest_rows_and_zero_line(metrics):
    figure = figures.segment_forest(metrics["accuracy"])
    (trace,) = figure.data
    assert list(trace.y) == ["Site: Austin", "Site: Dublin", "Site: Manila"]  # sorted: site, language, tenure
    assert trace.x[0] == pytest.approx(1.3)
    assert trace.error_x.arrayminus[1] == pytest.approx(1.5)
    assert _lines(figure)["no change"].x0 == 0
    low, high = figure.layout.xaxis.range
    assert low < -0.5 and high > 3.1


def test_figures_serialize_without_plotly_js(metrics):
    text = figures.figure_json(figures.effect_over_time(metrics["accuracy"]))
    assert text.startswith("{") and "plotly.min.js" not in text and len(text) < 60_000


def test_null_intervals_and_estimates_never_break_a_chart(metrics):
    metric = metrics["accuracy"]
    history = [dict(p) for p in metric["comparisons"][0]["history"][:4]]
    history[0]["ci"] = [None, None]
    history[1]["difference"] = None
    history[1]["ci"] = [None, None]
    comparison = dict(metric["comparisons"][0], ci=[None, None], history=history)
    weeks = [
        {"week": 1, "difference": None, "ci": [None, None], "reason": "empty_arm"},
        {"week": 2, "difference": 0.01, "ci": [None, None], "reason": "single_unit"},
        {"week": 3, "difference": 0.02, "ci": [0.01, 0.03], "complete": False},
    ]
    segments = [
        {"segment": "site", "level": "A", "difference": None, "ci": [None, None], "reason": "empty_arm"},
        {"segment": "site", "level": "B", "difference": 0.01, "ci": [None, None], "reason": "single_unit"},
        {"segment": "site", "level": "C", "difference": 0.02, "ci": [0.0, 0.04]},
    ]
    metric = dict(metric, comparisons=[comparison], by_week=weeks, segments=segments)
    over_time = figures.effect_over_time(metric)
    _upper, lower, estimate = over_time.data
    assert len(estimate.x) == 3 and len(lower.x) == 2
    assert "no interval yet" in over_time.layout.annotations[-1].text
    by_week = figures.effect_by_week(metric)
    (trace,) = by_week.data
    assert list(trace.x) == ["Week 2", "Week 3 (partial)"] and trace.error_y.array[0] is None
    assert by_week.layout.annotations[-1].text == "no interval yet: week 1, 2"
    (forest,) = figures.segment_forest(metric).data
    assert list(forest.y) == ["Site: B · no interval", "Site: C"]
    for figure in (over_time, by_week, figures.segment_forest(metric)):
        figures.figure_json(figure)


def test_nothing_to_draw_is_explained(metrics):
    weeks = [{"week": 1, "difference": None, "ci": [None, None]}]
    figure = figures.effect_by_week(dict(metrics["accuracy"], by_week=weeks))
    assert "No week has enough data" in figure.layout.annotations[0].text
    only_null = [{"segment": "site", "level": "A", "difference": None, "ci": [None, None]}]
    assert not figures.segment_forest(dict(metrics["accuracy"], segments=only_null)).data
