"""What a plan says beside its weekly table: the power non-binding futility bounds keep, and what grading noise costs.

Both are computed from the same `analysis.planning` result the table comes from (`pilots.planning.service.run_plan` and
`pilot_plan` attach them): `futility_note` at the planned review fractions, `measurement_note` for a share of one
grade's variance that is auditor disagreement (`analysis.measurement`).
"""

from __future__ import annotations

import math
from typing import Any

from analysis.group_sequential import FutilityDesign, boundaries, power_with_futility
from analysis.measurement import noise_free_scale
from analysis.planning import PlanResult, PlanWeek, difference_variance

# The API's spending-function names (and the short form) as `analysis.group_sequential` spells them.
SPENDING = {"obrien_fleming": "obf", "pocock": "pocock", "obf": "obf"}
PUBLIC_SPENDING = {"obf": "obrien_fleming", "pocock": "pocock"}
"""The names requests use (`pilots.schemas.Spending`) for the analysis package's spending functions."""


def finite_or_none(value: float | None) -> float | None:
    """`value` as a float, or None when it is missing or not finite (JSON has no inf or nan)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def measurement_note(
    result: PlanResult,
    error_share: float,
    *,
    proportion: bool,
    audit_rate_cv: float = 0.0,
    pre_audits_per_unit: float = 0.0,
) -> dict[str, Any]:
    """What grading noise costs this plan (`analysis.measurement`): with `error_share` of one grade's variance being
    auditor noise (``1 - Krippendorff's alpha`` of double audits), every week's detectable effect next to the one
    error-free grading would give, scaled by the ratio of the planned standard errors (exact for a fixed horizon)."""
    k_control, k_treatment = result.units_per_arm[0], min(result.units_per_arm[1:])

    def scale(row: PlanWeek) -> float:
        return noise_free_scale(
            result.components,
            error_share,
            lambda components: difference_variance(
                components,
                row.audits_per_unit,
                k_treatment,
                k_control,
                audit_rate_cv=audit_rate_cv,
                pre_period_audits_per_unit=pre_audits_per_unit,
            ),
        )

    by_week = [
        {"week": row.week, "mde": finite_or_none(row.mde), "mde_without_noise": finite_or_none(row.mde * scale(row))}
        for row in result.weeks
    ]
    last = by_week[-1]

    def text(value: float) -> str:
        return f"{100 * value:.2f} points" if proportion else f"{value:.3g}"

    message = (
        f"With {100 * error_share:.0f}% of a grade's variance being auditor disagreement, the plan detects "
        f"{text(last['mde'])} after {last['week']} weeks; error-free grading would detect "
        f"{text(last['mde_without_noise'])}."
        if last["mde"] is not None and last["mde_without_noise"] is not None
        else "The detectable effect could not be computed for this plan."
    )
    return {"error_share": error_share, "by_week": by_week, "message": message}


def futility_note(design, fractions: list[float], treatments: int) -> dict[str, Any]:
    """The power a group-sequential design keeps when its non-binding futility bounds are obeyed, at the planned
    review fractions and the arm's level: the price of stopping early for futility on a roster that cannot grow."""
    spending = SPENDING[design.spending]
    bounds = boundaries(
        fractions,
        design.alpha / treatments,
        spending,
        final=True,
        futility=FutilityDesign(beta=1.0 - design.power, spending=spending),
    )
    kept = power_with_futility(bounds)
    return {
        "futility_power": kept,
        "futility_note": (
            f"With futility stopping the pilot keeps {kept:.0%} power instead of {design.power:.0%} at the effect it "
            "was sized for, in exchange for stopping early when that effect has become unlikely."
        ),
    }
