"""The plan in one sentence an operations director can read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class _Row(Protocol):
    week: int
    mde: float


def format_effect(value: float, percent_points: bool, signed: bool = True) -> str:
    """0.015 -> "+1.5 points" for proportions, else the value with three significant digits."""
    sign = "+" if signed and value >= 0 else ("-" if value < 0 else "")
    magnitude = abs(value)
    if percent_points:
        return f"{sign}{100 * magnitude:.1f} points"
    return f"{sign}{magnitude:.3g}"


def _weeks(n: int) -> str:
    return f"{n} week" if n == 1 else f"{n} weeks"


def summary_sentence(
    *,
    units: int,
    audits_per_week: float,
    rows: Sequence[_Row],
    target_effect: float | None,
    detectable_week: int | None,
    saturation_week: int | None,
    metric: str,
    percent_points: bool,
    threshold: float,
) -> str:
    """E.g. "With 240 moderators at ~12 audits a week, you can detect +1.5 points of accuracy after 4 weeks;
    after 6 weeks more data stops helping." """
    rate = f"{audits_per_week:.0f}" if audits_per_week >= 10 else f"{audits_per_week:.2g}"
    lead = f"With {units} moderators at ~{rate} audits a week, "
    last = rows[-1]
    if target_effect is None:
        first = rows[0]
        body = (
            f"you can detect {format_effect(first.mde, percent_points, signed=False)} of {metric} after "
            f"{_weeks(first.week)} and {format_effect(last.mde, percent_points, signed=False)} after "
            f"{_weeks(last.week)}"
        )
    elif detectable_week is not None:
        body = (
            f"you can detect {format_effect(target_effect, percent_points)} of {metric} after {_weeks(detectable_week)}"
        )
    else:
        body = (
            f"you cannot reliably detect {format_effect(target_effect, percent_points)} of {metric} "
            f"within {_weeks(last.week)} (the smallest detectable change is "
            f"{format_effect(last.mde, percent_points, signed=False)}); add moderators rather than weeks"
        )
    if saturation_week is not None:
        tail = (
            f"; after {_weeks(saturation_week)} more data stops helping (each extra week improves the "
            f"detectable effect by less than {threshold:.0%})."
        )
    else:
        tail = f"; each extra week still helps through week {last.week}."
    return lead + body + tail
