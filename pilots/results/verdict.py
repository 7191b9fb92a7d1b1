"""Assemble the go / no_go / continue / invalid verdict (METHODS.md section 6) from the analysed comparisons.

Primaries become `analysis.verdict.PrimaryStatus` (their sequential crossing), guardrails `NonInferiority` results
computed on the design-valid interval against their registered margin (absolute, or relative to the control mean),
checks `CheckSummary`; `analysis.verdict.decide` applies the rules and writes the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from analysis.checks import CheckResult
from analysis.verdict import CheckSummary, NonInferiority, PrimaryStatus, Verdict, decide, non_inferiority
from pilots.results.metric import Comparison
from pilots.results.numbers import effect_digits, number

CHECK_TITLES = {
    "srm": "sample ratio",
    "audit_coverage": "audit coverage",
    "audit_rate": "audit-rate balance",
    "attrition": "attrition",
    "covariate_balance": "covariate balance",
    "auditor_balance": "QA auditor allocation",
    "auditor_blinding": "QA auditor blinding",
}


def effect_text(value: float, proportion: bool, unit: str = "", digits: int = 1) -> str:
    """0.014 -> "+1.4 points" for proportions; -2.5 -> "−2.5 s" otherwise (`digits` decimals, a real minus sign:
    `pilots.results.numbers.number`, as on the pages)."""
    if not math.isfinite(value):
        return "undefined"
    if proportion:
        return f"{number(100 * value, digits, signed=True)} points"
    return f"{number(value, digits, signed=True)}{' ' + unit if unit else ''}"


def digits_for(proportion: bool, *values: float) -> int:
    """Decimals that keep a sentence readable and its numbers distinguishable (`numbers.effect_digits` on the values
    in display units): one, or two for effects under one point or one second."""
    return effect_digits(*(v * (100 if proportion else 1) for v in values if v is not None))


def unit_of(comparison: Comparison) -> str:
    return "s" if comparison.metric == "handle_time" else ""


def formatter(comparison: Comparison, *values: float):
    """The effect formatter of one sentence about `comparison` (shared precision across its numbers)."""
    proportion, unit = comparison.definition.proportion, unit_of(comparison)
    digits = digits_for(proportion, *values)
    return lambda value: effect_text(value, proportion, unit, digits)


def comparison_name(comparison: Comparison, treatments: int) -> str:
    return comparison.label if treatments == 1 else f"{comparison.label} ({comparison.arm} vs control)"


def _summary(comparison: Comparison) -> str:
    outcome = comparison.outcome
    if outcome is None:
        return ""
    fmt = formatter(comparison, outcome.difference, outcome.low, outcome.high)
    if not (math.isfinite(outcome.low) and math.isfinite(outcome.high)):
        return f"{fmt(outcome.difference)}, no usable interval yet"
    interval = f"{fmt(outcome.low)} to {fmt(outcome.high)}"
    if outcome.low <= outcome.difference <= outcome.high:
        return f"{fmt(outcome.difference)}, interval {interval}"
    # An always-valid interval is the running intersection of every look's confidence sequence, so it can exclude
    # today's estimate (an effect that grew, or a noisy day); saying "+2.3, interval +0.8 to +1.7" would read as a
    # contradiction, so the sentence names which number is which.
    side = "above" if outcome.difference > outcome.high else "below"
    return (
        f"{fmt(outcome.difference)} at the latest look, {side} the confidence sequence of {interval} "
        "(the effects consistent with every look so far)"
    )


def primary_status(comparison: Comparison, treatments: int) -> PrimaryStatus:
    outcome = comparison.outcome
    crossing = outcome.crossing if outcome is not None else "none"
    direction = "higher_is_better" if comparison.definition.higher_is_better else "lower_is_better"
    return PrimaryStatus(comparison_name(comparison, treatments), crossing, direction, _summary(comparison))


def randomization_unconfirmed(
    comparisons: Sequence[Comparison], primaries: Sequence[PrimaryStatus], alpha: float
) -> dict[PrimaryStatus, str]:
    """Primaries whose crossing the randomization test does not confirm, with the reason.

    With team randomization, under 30 units (`pilots.results.safeguard.FEW_UNITS`) or with audits so unequal that
    few units carry the estimate (`pilots.results.safeguard.needs_randomization_test`) the sequential test runs on a
    delta-method (and CUPED) variance dominated by few units, which is biased low (theta is fitted on the same
    units; Welch df does not see that), so false crossings creep above alpha in both directions. METHODS section 1
    adds the exact randomization test there; the rule is that a crossing, for benefit or for harm, counts only once
    the randomization test of the same comparison has also crossed in the same direction, read sequentially at the
    reviews with one-sided level ``alpha / 2`` spent over them (`pilots.results.safeguard`). The intersection of the
    two tests cannot cross falsely more often than the exact one.
    """
    out: dict[PrimaryStatus, str] = {}
    for comparison, primary in zip(comparisons, primaries, strict=True):
        test = comparison.extra.get("randomization")
        if test is None or primary.crossing not in ("up", "down"):
            continue
        crossed = test.get("crossed_up" if primary.crossing == "up" else "crossed_down")
        test["confirms"] = crossed is not None
        if not test["confirms"]:
            decision = "a go" if verdict_good(primary) else "a no-go"
            out[primary] = (
                f"With this few (or this unequally audited) units, {decision} on {primary.metric} also needs the "
                f"randomization test to cross in the same direction, and it has not yet ({_reviews_read(test, alpha)})."
            )
    return out


def _reviews_read(test: dict[str, Any], alpha: float) -> str:
    """How far the sequential randomization test has been read, for the reasons."""
    reviews = test.get("reviews") or []
    p = test.get("p_value")
    shown = f"fixed-horizon p = {p:.3g}" if p is not None else "no usable p-value yet"
    if not reviews:
        return f"it reads each review once its audits have had a week to arrive, and none has yet; {shown}"
    spent = test.get("level_spent") or [alpha / 2]
    count = f"{len(reviews)} review{'s' if len(reviews) != 1 else ''}"
    level = f"one-sided level {spent[-1]:.3g} of {alpha / 2:g} spent so far"
    return f"read at {count} through {reviews[-1]}, {level}; {shown}"


def verdict_good(primary: PrimaryStatus) -> bool:
    up_good = primary.direction == "higher_is_better"
    return (primary.crossing == "up" and up_good) or (primary.crossing == "down" and not up_good)


def unconfirmed_status(primary: PrimaryStatus) -> PrimaryStatus:
    """The primary as the verdict sees it when its crossing is not confirmed: not crossed yet, waiting for the
    randomization test (the reasons say the boundary was crossed)."""
    return replace(primary, crossing="none", unconfirmed=True)


def confirm_harm(comparison: Comparison, result: NonInferiority, alpha: float) -> NonInferiority:
    """A guardrail shown harmful under the small-sample safeguard counts only once the randomization test of harm
    beyond the margin (`pilots.results.safeguard`, one-sided, read sequentially at the reviews with level
    ``alpha / 2`` spent over them) has also crossed on the harmful side; otherwise the guardrail is pending, with the
    reason.

    The interval comes from a delta-method variance of few units, which runs small; in the stress matrix 8-team
    always-valid pilots with delayed audits showed false harm in 0.060 of null pilots (level 0.025)."""
    test = comparison.extra.get("randomization")
    if test is None or not result.harmful:
        return result
    harmful_side = "crossed_down" if comparison.definition.higher_is_better else "crossed_up"
    test["confirms"] = test.get(harmful_side) is not None
    if test["confirms"]:
        return result
    message = (
        f"{result.metric} looks worse than its margin, but with this few (or this unequally audited) units harm also "
        f"needs the randomization test of harm beyond the margin to cross, and it has not "
        f"({_reviews_read(test, alpha)}); keep collecting audits."
    )
    return replace(result, harmful=False, message=message)


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
    margin_abs = margin * abs(control_mean) if relative else margin
    fmt = formatter(comparison, outcome.difference, outcome.low, outcome.high, margin_abs)
    return non_inferiority(
        name,
        outcome.difference,
        outcome.low,
        outcome.high,
        direction,
        margin,
        relative=relative,
        control_mean=control_mean if relative else None,
        fmt=fmt,
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
    *,
    stopped: bool = False,
) -> Verdict:
    return decide(check_summaries(checks), primaries, guardrails, runtime_days, min_days, end_reached, stopped=stopped)
