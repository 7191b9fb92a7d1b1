"""The JSON form of one treatment-vs-control comparison of one metric.

`difference`, `ci`, `p_value` and `boundary` are the design's (sequential) values at the decision look: for
always_valid the latest day (confidence sequence, always-valid p), for group_sequential the latest planned review or
the review where a boundary was crossed (repeated CI, stagewise p). `raw` is the unadjusted fixed-horizon comparison
at `data_through` (descriptive), `fixed_horizon` the same with the CUPED adjustment. `history` lists every look.
`crossing` is `up` / `down` (an efficacy boundary, on the treatment-minus-control scale), `futility` (a primary of a
design with futility bounds stopped there) or `none`; `significant` is true only for an efficacy crossing.
`futility_boundary` is the futility critical value on the same statistic scale as `boundary`, signed so that a
higher-is-better metric stops for futility at or below it and a lower-is-better one at or above it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from analysis import reasons
from analysis.verdict import NonInferiority
from pilots.results.metric import Comparison, design_relative, difference_json, finite, interval
from pilots.results.verdict import non_inferiority_json

NO_LOOK = "no_look_yet"
NO_LOOK_MESSAGE = "No planned look with a usable estimate has happened yet, so there is no design-valid interval."


def _day(start: date, day: int) -> str:
    return (start + timedelta(days=day)).isoformat()


def comparison_json(comparison: Comparison, start: date, guardrail: NonInferiority | None) -> dict[str, Any]:
    now, outcome = comparison.now, comparison.outcome
    adjusted = now.adjusted if now is not None else None
    entry: dict[str, Any] = {
        "arm": comparison.arm,
        "alpha": comparison.alpha,
        "adjusted": bool(now is not None and now.reason is None),
        "cuped": {
            "theta": finite(now.theta) if now is not None else None,
            "variance_reduction": finite(now.variance_reduction) if now is not None else None,
            "reason": now.reason if now is not None else None,
            "message": (now.message or None) if now is not None else None,
        },
        "raw": difference_json(now.raw) if now is not None else None,
        "fixed_horizon": difference_json(adjusted) if adjusted is not None else None,
    }
    if outcome is None:
        reason = (adjusted.reason if adjusted is not None and adjusted.reason else None) or NO_LOOK
        message = reasons.describe(reason) if reason != NO_LOOK else NO_LOOK_MESSAGE
        entry.update(
            difference=finite(adjusted.difference) if adjusted is not None else None,
            ci=[None, None],
            relative=finite(adjusted.relative) if adjusted is not None else None,
            relative_ci=[None, None],
            p_value=None,
            p_value_reason=message,
            significant=False,
            crossing="none",
            boundary=None,
            futility_boundary=None,
            look=None,
            history=[],
            reason=reason,
            message=message,
        )
    else:
        relative, relative_ci = design_relative(adjusted, outcome) if adjusted is not None else (None, [None, None])
        entry.update(
            difference=finite(outcome.difference),
            ci=interval(outcome.low, outcome.high),
            relative=relative,
            relative_ci=relative_ci,
            p_value=finite(outcome.p_value),
            p_value_reason=outcome.p_value_reason,
            significant=outcome.rejected,
            crossing=outcome.crossing,
            boundary=finite(outcome.boundary),
            futility_boundary=finite(outcome.futility_boundary) if outcome.futility_boundary is not None else None,
            look={
                "date": _day(start, outcome.look_day),
                "information_fraction": finite(outcome.information_fraction),
                "information_source": outcome.information_source,
                "message": outcome.information_message,
            },
            history=[
                {
                    "date": _day(start, point.day),
                    "difference": finite(point.difference),
                    "ci": interval(point.low, point.high),
                    "p_value": finite(point.p_value),
                }
                for point in outcome.history
            ],
            reason=None,
            message=None,
        )
    if guardrail is not None:
        entry["non_inferiority"] = non_inferiority_json(guardrail)
    entry.update(comparison.extra)
    return entry
