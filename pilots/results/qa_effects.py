"""Where a change helps and where it hurts: the treatment effect within each policy and each queue.

Each cell (a policy or queue value, a treatment arm) compares the arms on that subset of audits with the moderator
(or team) as the unit: per unit, the metric's numerator and denominator summed over its audits in the cell, then the
delta-method ratio comparison of `analysis.ratio` with a fixed-horizon t interval. A cell with fewer than
`MIN_UNITS_PER_ARM` units with audits in either arm is shown with null numbers and the `small_cell` reason.

Many cells mean chance findings, so every cell carries a Benjamini-Hochberg q-value (over all policy and queue cells
of the metric, every arm), and Cochran's Q tests per dimension and arm whether the effects differ more than noise
allows. Without pre-registration these views are descriptive; policies registered in the plan as critical guardrail
segments (`MetricSpec.critical_policies`) are judged for non-inferiority against their own margins
(`segment_guardrails`) at the design's alpha split over the registered segments (Bonferroni). The results are read
at every request, any day, whatever the design's looks, so a segment is judged on a confidence sequence
(`analysis.confidence_sequence`: valid however often it is read), not on a fixed-horizon interval: read daily over a
pilot, a fixed-horizon interval would declare a harm that is not there several times more often than its level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analysis import reasons
from analysis.confidence_sequence import mixture_interval, projected_final_se
from analysis.fdr import bh_qvalues
from analysis.ratio import ConfidenceInterval, Difference, RatioStats, compare
from analysis.segments import cochran_q
from analysis.verdict import NonInferiority, non_inferiority
from pilots.catalog import MetricDefinition
from pilots.results.breakdowns import heterogeneity_json
from pilots.results.metric import finite, interval
from pilots.results.qa_data import NONE_LABEL, QaCells
from pilots.results.verdict import digits_for, effect_text

MIN_UNITS_PER_ARM = 5
DESCRIPTIVE_NOTE = (
    "Descriptive: effects by policy and queue are for finding where to look, not for decisions. With many cells some "
    "look better or worse by chance; q-values (Benjamini-Hochberg) say how likely a cell is to be a false discovery. "
    "Only policies registered as critical guardrail segments before launch count towards the verdict."
)


def cell_effects(
    cells: QaCells,
    dimension: str,
    definition: MetricDefinition,
    arms: np.ndarray,
    control: str,
    treatments: tuple[str, ...],
    alpha: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[tuple[str, str], Difference]]:
    """Per (value, arm) rows, one heterogeneity test per arm, and the comparisons by (value, arm)."""
    y = cells.level_sums(dimension, definition.numerator)
    x = cells.level_sums(dimension, definition.denominator)
    in_control = arms == control
    rows, tests, found = [], [], {}
    for arm in treatments:
        in_arm = arms == arm
        usable = []
        for k, value in enumerate(cells.labels[dimension]):
            if value == NONE_LABEL:
                continue
            c_units = int((x[in_control, k] > 0).sum())
            t_units = int((x[in_arm, k] > 0).sum())
            row: dict[str, Any] = {
                "value": value,
                "arm": arm,
                "units": c_units + t_units,
                "audits": int(x[in_control | in_arm, k].sum()),
                "difference": None,
                "ci": None,
                "p_value": None,
                "q_value": None,
                "reason": reasons.SMALL_CELL,
                "message": reasons.describe(reasons.SMALL_CELL),
            }
            if min(c_units, t_units) >= MIN_UNITS_PER_ARM:
                d = compare(
                    RatioStats.from_units(y[in_control, k], x[in_control, k]),
                    RatioStats.from_units(y[in_arm, k], x[in_arm, k]),
                    alpha,
                )
                found[value, arm] = d
                row.update(
                    difference=finite(d.difference),
                    ci=interval(d.ci.low, d.ci.high),
                    p_value=finite(d.p_value),
                    reason=d.reason,
                    message=d.message or None,
                    control_mean=finite(d.control_mean),
                    treatment_mean=finite(d.treatment_mean),
                )
                if d.reason is None and d.se > 0:
                    usable.append((value, d))
            rows.append(row)
        het = cochran_q(
            [d.difference for _, d in usable], [d.variance for _, d in usable], levels=[v for v, _ in usable]
        )
        tests.append(heterogeneity_json(het, arm=arm))
    return rows, tests, found


def add_q_values(*row_lists: list[dict[str, Any]]) -> None:
    """Benjamini-Hochberg q-values over every row of the given lists (in place)."""
    rows = [row for rows in row_lists for row in rows]
    q = bh_qvalues([math.nan if row["p_value"] is None else row["p_value"] for row in rows])
    for row, value in zip(rows, q, strict=True):
        row["q_value"] = finite(value)


def segment_guardrails(
    specs: list[dict[str, Any]],
    found: dict[tuple[str, str], Difference],
    definition: MetricDefinition,
    treatments: tuple[str, ...],
    cells: QaCells,
    arms: np.ndarray,
    control: str,
    alpha: float,
    days: tuple[int, int],
) -> list[tuple[dict[str, Any], NonInferiority]]:
    """Non-inferiority of each registered critical policy and arm against its own margin (module docstring), read
    after ``days = (elapsed, planned)`` days of the pilot."""
    if not specs:
        return []
    level = alpha / len(specs)
    y = cells.level_sums("policy", definition.numerator)
    x = cells.level_sums("policy", definition.denominator)
    codes = {value: k for k, value in enumerate(cells.labels["policy"])}
    direction = "higher_is_better" if definition.higher_is_better else "lower_is_better"
    out = []
    for spec in specs:
        for arm in treatments:
            name = f"{definition.label} in policy {spec['policy']!r}"
            if len(treatments) > 1:
                name += f" ({arm} vs control)"
            k = codes.get(spec["policy"])
            d = None
            if k is not None and (spec["policy"], arm) in found:
                in_c, in_t = arms == control, arms == arm
                d = compare(
                    RatioStats.from_units(y[in_c, k], x[in_c, k]), RatioStats.from_units(y[in_t, k], x[in_t, k]), level
                )
            ci = None if d is None else _monitored_interval(d, level, days)
            if ci is None:
                result = NonInferiority(
                    name, False, False, spec["margin"], f"{name}: too few audits yet to judge this critical policy."
                )
            else:
                margin_abs = spec["margin"] * abs(d.control_mean) if spec["relative"] else spec["margin"]
                digits = digits_for(definition.proportion, d.difference, ci.low, ci.high, margin_abs)
                result = non_inferiority(
                    name,
                    d.difference,
                    ci.low,
                    ci.high,
                    direction,
                    spec["margin"],
                    relative=spec["relative"],
                    control_mean=d.control_mean if spec["relative"] else None,
                    fmt=lambda v, digits=digits: effect_text(v, definition.proportion, "", digits),
                )
            out.append(({"policy": spec["policy"], "arm": arm, "margin": spec["margin"]}, result))
    return out


def _monitored_interval(d: Difference, level: float, days: tuple[int, int]) -> ConfidenceInterval | None:
    """The segment's confidence sequence at this reading (`analysis.confidence_sequence`), tuned to the standard
    error projected for the planned end; None when there is no finite interval to judge."""
    if not (math.isfinite(d.ci.low) and math.isfinite(d.ci.high) and math.isfinite(d.se) and d.se > 0):
        return None
    elapsed, planned = days
    ci = mixture_interval(d.difference, d.se, d.df, level, projected_final_se(d.se, elapsed, planned))
    return ci if math.isfinite(ci.low) and math.isfinite(ci.high) else None
