"""The numbers behind each chart as a small table, so every chart has a fallback that needs no JavaScript.

The tables use the same display units as the charts (points for rates, seconds for times) and say whether their
numbers are adjusted for the pre-period or raw, like the chart they stand behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from webui import plain
from webui.figures.scale import Scale, decimals_for, scale_for
from webui.pages.wording import number


@dataclass(frozen=True)
class ChartTable:
    caption: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    text_columns: frozenset[int] = frozenset()  # columns of words (left-aligned) after the first


def _formatter(values: list[float | None]) -> Callable[[float | None], str]:
    decimals = max(decimals_for(values), 1)
    return lambda value: number(value, decimals, signed=True) if value is not None else "–"


def _ends(ci: Any) -> tuple[float | None, float | None]:
    ends = [*(ci or []), None, None]
    return ends[0], ends[1]


def _difference_rows(points: list[dict[str, Any]], scale: Scale, label: Callable[[dict], tuple[str, ...]]):
    values = []
    for point in points:
        low, high = _ends(point.get("ci"))
        values += [scale.show(point.get("difference")), scale.show(low), scale.show(high)]
    fmt = _formatter(values)
    rows = []
    for point in points:
        low, high = _ends(point.get("ci"))
        interval = f"{fmt(scale.show(low))} to {fmt(scale.show(high))}" if low is not None and high is not None else "–"
        rows.append((*label(point), fmt(scale.show(point.get("difference"))), interval))
    return rows


def _unit(scale: Scale) -> str:
    return f" ({scale.change_unit})" if scale.change_unit else ""


def over_time(metric: dict[str, Any], names: Mapping[str, str], adjusted: bool) -> ChartTable:
    scale = scale_for(metric)
    rows: list[tuple[str, ...]] = []
    for comparison in metric.get("comparisons") or []:
        arm = plain.arm_name(names, comparison.get("arm"))
        history = [p for p in comparison.get("history") or [] if p.get("difference") is not None]
        rows += _difference_rows(history, scale, lambda point, arm=arm: (str(point.get("date")), arm))
    kind = "adjusted for the pre-period" if adjusted else "raw"
    return ChartTable(
        f"Effect at each look, {kind}",
        ("Data through", "Group", f"Difference{_unit(scale)}", "Interval"),
        rows,
    )


def by_week(metric: dict[str, Any], names: Mapping[str, str]) -> ChartTable:
    scale = scale_for(metric)
    weeks = [w for w in metric.get("by_week") or [] if w.get("difference") is not None]

    def label(week: dict[str, Any]) -> tuple[str, ...]:
        partial = "" if week.get("complete", True) else " (partial)"
        return (
            f"Week {week.get('week')}{partial}",
            f"{week.get('start', '')} to {week.get('end', '')}",
            plain.arm_name(names, week.get("arm")),
        )

    return ChartTable(
        "Effect within each week since launch, raw (not adjusted)",
        ("Week", "Dates", "Group", f"Difference{_unit(scale)}", "Interval"),
        _difference_rows(weeks, scale, label),
    )


def arm_levels(metric: dict[str, Any], names: Mapping[str, str], unit: str | None) -> ChartTable:
    scale = scale_for(metric)
    arms = [arm for arm in metric.get("arms") or [] if arm.get("mean") is not None]
    decimals = decimals_for([scale.show(arm["mean"]) for arm in arms])
    _, plural = plain.unit_words(unit)
    rows = [
        (
            plain.arm_name(names, arm.get("arm")),
            scale.level(arm["mean"], decimals),
            f"{arm.get('audits', 0):,}",
            f"{arm.get('units', 0):,}",
        )
        for arm in arms
    ]
    return ChartTable("Each group's raw average", ("Group", "Raw average", "Audits", plural.capitalize()), rows)


def segments(metric: dict[str, Any], names: Mapping[str, str]) -> ChartTable:
    scale = scale_for(metric)
    rows_in = sorted(
        (s for s in metric.get("segments") or [] if s.get("difference") is not None), key=plain.segment_order
    )
    several = len({s.get("arm") for s in rows_in}) > 1

    def label(row: dict[str, Any]) -> tuple[str, ...]:
        text = plain.segment(str(row.get("segment")), row.get("level"))
        if several:
            text += f" ({plain.arm_name(names, row.get('arm'))})"
        return (text, f"{row.get('units', 0):,}")

    return ChartTable(
        "Effect by segment, raw (descriptive only)",
        ("Segment", "Units", f"Difference{_unit(scale)}", "Interval"),
        _difference_rows(rows_in, scale, label),
    )
