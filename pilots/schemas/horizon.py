"""How far a pilot's dates may reach: the engine plans and analyses at most `analysis.planning.MAX_WEEKS` weeks.

A plan's and a results document's work grow with the pilot's length, so a far-off end date (9999-12-31) would tie up a
worker, and the pilots list, which computes stale verdicts while it renders, with it. New plans are refused such
dates (`pilots.schemas.pilot`); pilots stored before the rule are refused by the planner, launch and the results
engine (`ensure_supported_horizon`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from analysis.planning import MAX_WEEKS
from pilots.errors import ValidationFailed, problem

__all__ = ["MAX_PILOT_DAYS", "MAX_WEEKS", "ensure_supported_horizon", "horizon_errors"]

MAX_PILOT_DAYS = 7 * MAX_WEEKS
"""The longest pilot (start and end dates included), and the longest pre-period before its start date."""


def horizon_errors(plan: Any) -> list[tuple[tuple[str, ...], str, str]]:
    """(field, message, value) for dates that span more than the engine plans and analyses (`MAX_PILOT_DAYS`).

    `plan` is anything with `start_date`, `end_date` and `pre_period_start`: a request body, or a stored pilot that
    predates this rule (the planner, launch and the results engine refuse those rather than run for ever)."""
    errors = []
    days = (plan.end_date - plan.start_date).days + 1
    if days > MAX_PILOT_DAYS:
        latest = plan.start_date + timedelta(days=MAX_PILOT_DAYS - 1)
        errors.append(
            (
                ("end_date",),
                f"makes the pilot {days} days long; the engine plans and analyses pilots of at most {MAX_WEEKS} weeks "
                f"({MAX_PILOT_DAYS} days), so end_date must be on or before {latest.isoformat()}",
                plan.end_date.isoformat(),
            )
        )
    pre = plan.pre_period_start
    if pre is not None and (plan.start_date - pre).days > MAX_PILOT_DAYS:
        earliest = plan.start_date - timedelta(days=MAX_PILOT_DAYS)
        errors.append(
            (
                ("pre_period_start",),
                f"makes the pre-period {(plan.start_date - pre).days} days long (at most {MAX_PILOT_DAYS}); it must "
                f"be on or after {earliest.isoformat()}",
                pre.isoformat(),
            )
        )
    return errors


def ensure_supported_horizon(plan: Any, action: str) -> None:
    """422 naming `end_date` (or `pre_period_start`) when a stored pilot's dates span more than the engine handles.

    New plans cannot have such dates; pilots stored before the rule are refused by the planner, launch and the
    results engine (`action` says which: "planned", "launched", "analysed") instead of tying up a worker."""
    errors = horizon_errors(plan)
    if errors:
        raise ValidationFailed(
            f"This pilot cannot be {action}: its dates span more than the {MAX_WEEKS} weeks the engine supports. A "
            "draft's dates can be edited; a launched pilot's plan is locked.",
            [problem(".".join(field), message) for field, message, _ in errors],
        )
