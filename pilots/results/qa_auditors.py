"""Auditors in a pilot's results: the two auditor checks, each auditor's leniency, and the auditor-adjusted estimate.

* `auditor_balance` (invalidates the verdict when it fails) and `auditor_blinding` (a plain-words warning) come from
  `analysis.auditors`, on the pilot period's units x auditors sums of the primary metric's grades.
* Leniency is fitted once per graded field (`correct`, `critical`) on every audit of the pilot and its pre-period,
  with unit x period fixed effects (`analysis.auditors.fit_leniency`).
* The adjusted estimate removes each auditor's leniency from every grade before the per-unit ratio, then compares
  the arms exactly as the fixed-horizon analysis does (variance by unit; the uncertainty of the leniency estimates
  is not propagated, so the interval is a little narrow). A difference from the main estimate larger than half the
  main interval's half-width is reported as a material disagreement.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analysis import reasons
from analysis.auditors import Leniency, adjusted_sums, arm_interaction, auditor_balance, blinding_check, fit_leniency
from analysis.checks import CheckResult
from analysis.ratio import RatioStats, compare
from pilots.catalog import MetricDefinition
from pilots.results.loader import COLUMN
from pilots.results.metric import finite, interval
from pilots.results.qa_data import NONE_LABEL, QaCells
from pilots.results.verdict import digits_for, effect_text

GRADED = {"correct": ("correct", "audits"), "critical": ("critical", "critical_audits")}
MATERIAL = 0.5  # share of the main interval's half-width


def graded_columns(definition: MetricDefinition) -> tuple[str, str] | None:
    """The (grade, audits) rollup columns when the metric is a grade given by an auditor, else None."""
    return GRADED.get(definition.outcome_field)


def _named(cells: QaCells) -> np.ndarray:
    """Auditor columns that are real auditors (audits without an auditor id are not one)."""
    return np.array([label != NONE_LABEL for label in cells.labels["auditor"]], dtype=bool)


def checks(
    cells: QaCells, arms: np.ndarray, strata: tuple[str, ...], control: str, treatments: tuple[str, ...], seed: int
) -> list[CheckResult]:
    """`auditor_balance` over every arm, `auditor_blinding` for each treatment arm against control (worst kept)."""
    named = _named(cells)
    audits = cells.level_sums("auditor", "audits")[:, named]
    balance = auditor_balance(audits, arms.astype(str), strata, seed=seed)
    grades = cells.level_sums("auditor", "correct")[:, named]
    worst = None
    for arm in treatments:
        check = blinding_check(arm_interaction(grades, audits, arms == control, arms == arm))
        if worst is None or (not check.ok and worst.ok) or (check.p_value < worst.p_value):
            worst = check
    if worst is None:
        worst = CheckResult("auditor_blinding", True, math.nan, math.nan, "No treatment arm.", reasons.TOO_FEW_AUDITORS)
    return [balance, worst]


def leniency(cells: QaCells, field: str) -> Leniency:
    """Auditor leniency on one graded field from all audits of the pilot and its pre-period."""
    grade, audits = GRADED[field]
    rows = cells.rows["auditor"]
    keep = rows.sums[COLUMN[audits]] > 0  # (unit, period, auditor) rows with graded audits of this field
    group = rows.unit[keep] * 2 + rows.pre[keep]
    return fit_leniency(
        group,
        rows.code[keep],
        rows.sums[COLUMN[audits], keep],
        rows.sums[COLUMN[grade], keep],
        len(cells.labels["auditor"]),
    )


def adjusted(
    cells: QaCells,
    definition: MetricDefinition,
    fitted: Leniency,
    arms: np.ndarray,
    control: str,
    arm: str,
    alpha: float,
    main: tuple[float | None, list[float | None] | None],
) -> dict[str, Any]:
    """The auditor-adjusted comparison of one arm against control, as `{difference, ci, message}`."""
    columns = graded_columns(definition)
    if columns is None:
        return {"difference": None, "ci": None, "message": reasons.describe(reasons.NOT_AUDITOR_GRADED)}
    grade, audits = columns
    y = cells.level_sums("auditor", grade)
    x = cells.level_sums("auditor", audits)
    effect = np.where(_named(cells), fitted.effect, 0.0)
    y_adj = adjusted_sums(y, x, effect)
    units_x = x.sum(axis=1)
    c, t = arms == control, arms == arm
    d = compare(RatioStats.from_units(y_adj[c], units_x[c]), RatioStats.from_units(y_adj[t], units_x[t]), alpha)
    if d.reason is not None and not math.isfinite(d.ci.low):
        return {"difference": finite(d.difference), "ci": None, "message": d.message}
    main_difference, main_ci = main
    fmt = _fmt(definition, d.difference, d.ci.low, d.ci.high)
    text = (
        f"With each auditor's leniency removed, the difference is {fmt(d.difference)} "
        f"(interval {fmt(d.ci.low)} to {fmt(d.ci.high)})."
    )
    if main_difference is not None and main_ci is not None and None not in main_ci:
        half = (main_ci[1] - main_ci[0]) / 2
        gap = d.difference - main_difference
        if half > 0 and abs(gap) > MATERIAL * half:
            text += (
                f" That differs materially from the main estimate ({fmt(main_difference)}): part of the measured "
                "effect may come from which auditors graded each arm, not from the change itself."
            )
        else:
            text += " It agrees with the main estimate, so auditor leniency does not explain the result."
    return {"difference": finite(d.difference), "ci": interval(d.ci.low, d.ci.high), "message": text}


def auditor_rows(cells: QaCells, fitted: Leniency, alpha_z: float = 1.959963984540054) -> list[dict[str, Any]]:
    """Each named auditor: audits (pilot and pre-period), leniency on `correct` with a 95% interval."""
    rows = []
    for k, name in enumerate(cells.labels["auditor"]):
        if name == NONE_LABEL or fitted.audits[k] == 0:
            continue
        effect, se = float(fitted.effect[k]), float(fitted.se[k])
        rows.append(
            {
                "auditor_id": name,
                "audits": int(fitted.audits[k]),
                "leniency": finite(effect),
                "ci": interval(effect - alpha_z * se, effect + alpha_z * se),
            }
        )
    return rows


def _fmt(definition: MetricDefinition, *values: float):
    digits = digits_for(definition.proportion, *values)
    return lambda value: effect_text(value, definition.proportion, "", digits)
