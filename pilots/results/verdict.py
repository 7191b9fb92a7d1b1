"""Assemble the go / no_go / continue / invalid verdict (METHODS.md section 6) from the analysed comparisons.

Primaries become `analysis.verdict.PrimaryStatus` (their sequential crossing), guardrails `NonInferiority` results
computed on the design-valid interval against their registered margin (absolute, or relative to the control mean),
checks `CheckSummary`; `analysis.verdict.decide` applies the rules and writes the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from analysis.checks import CheckResult
from analysis.verdict import CheckSummary, NonInferiority, PrimaryStatus, Verdict, decide, non_inferiority
from pilots.results.metric import Comparison

CHECK_TITLES = {
    "srm": "sample ratio",
    "audit_rate": "audit-rate balance",
    "attrition": "attrition",
    "covariate_balance": "covariate balance",
}


def effect_text(value: float, proportion: bool, unit: str = "") -> str:
    """0.014 -> "+1.4 points" for proportions; 2.5 -> "+2.5 s" otherwise."""
    if not math.isfinite(value):
        return "undefined"
    if proportion:
        return f"{100 * value:+.1f} points"
    return f"{value:+.3g}{' ' + unit if unit else ''}"


def comparison_name(comparison: Comparison, treatments: int) -> str:
    return comparison.label if treatments == 1 else f"{comparison.label} ({comparison.arm} vs control)"


def _summary(comparison: Comparison) -> str:
    outcome = comparison.outcome
    if outcome is None:
        return ""
    proportion = comparison.definition.proportion
    unit = "s" if comparison.metric == "handle_time" else ""
    return (
        f"{effect_text(outcome.difference, proportion, unit)}, interval {effect_text(outcome.low, proportion, unit)} "
        f"to {effect_text(outcome.high, proportion, unit)}"
    )


def primary_status(comparison: Comparison, treatments: int) -> PrimaryStatus:
    outcome = comparison.outcome
    crossing = outcome.crossing if outcome is not None else "none"
    direction = "higher_is_better" if comparison.definition.higher_is_better else "lower_is_better"
    return PrimaryStatus(comparison_name(comparison, treatments), crossing, direction, _summary(comparison))


def guardrail_result(comparison: Comparison, margin: float, relative: bool, treatments: int) -> NonInferiority:
    outcome = comparison.outcome
    direction = "higher_is_better" if comparison.definition.higher_is_better else "lower_is_better"
    name = comparison_name(comparison, treatments)
    control_mean = comparison.now.adjusted.control_mean if comparison.now is not None else math.nan
    if relative and not (math.isfinite(control_mean) and control_mean != 0):
        return NonInferiority(name, False, False, math.nan, f"{name}: not enough data to assess the guardrail.")
    if outcome is None:
        nan = math.nan
        return non_inferiority(name, nan, nan, nan, direction, margin, relative=relative, control_mean=control_mean)
    return non_inferiority(
        name,
        outcome.difference,
        outcome.low,
        outcome.high,
        direction,
        margin,
        relative=relative,
        control_mean=control_mean if relative else None,
    )


def non_inferiority_json(result: NonInferiority) -> dict[str, Any]:
    return {
        "non_inferior": result.non_inferior,
        "harmful": result.harmful,
        "margin": result.margin if math.isfinite(result.margin) else None,
        "message": result.message,
    }


def check_summaries(checks: Sequence[CheckResult]) -> list[CheckSummary]:
    return [CheckSummary(CHECK_TITLES.get(c.name, c.name), c.ok, c.message) for c in checks]


def verdict(
    checks: Sequence[CheckResult],
    primaries: Sequence[PrimaryStatus],
    guardrails: Sequence[NonInferiority],
    runtime_days: int,
    min_days: int,
    end_reached: bool,
) -> Verdict:
    return decide(check_summaries(checks), primaries, guardrails, runtime_days, min_days, end_reached)
