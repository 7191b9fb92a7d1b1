"""Data-quality checks of a running pilot, from its rollups and roster (METHODS.md section 3).

* Sample ratio: units with at least one audit in the analysis window (start_date through data_through) per arm,
  against the planned weights (chi-square, flagged at p < 0.001).
* Audit coverage: assigned units with at least one audit in the window, by arm (catches an arm whose outcomes never
  arrive, which the sample-ratio check on audited units can miss with tens of units).
* Audit-rate balance: audits per unit per week over the window, among units with audits.
* Attrition: judged at the end of each whole pilot week from the second (`attrition_checkpoint`; a look between
  two checkpoints reads the latest one, with what has arrived by the look). A unit is at risk when its own audit
  rate before the week made a silent week unlikely (at least `MIN_EXPECTED_AUDITS` audits expected in it, so no
  audit by chance has probability under 5%), and silent when it had no audit in that week; silent units of the at-risk
  ones by arm, Boschloo's unconditional exact test (`analysis.checks.attrition`; Fisher's beyond 200 at-risk units an
  arm). In team pilots the member moderators are counted (a team is never silent as a whole).
* Repeated looks: the checks above are re-run at every planned look, so the noisy ones have bars set for the whole
  pilot (`look_thresholds`, `PILOT_LEVELS`): audit rate flags a valid pilot with probability at most 0.25% over all
  its looks (Sidak over the planned looks, ``1 - (1 - level)^(1 / looks)``), attrition at most 0.65% over its weekly
  checkpoints (Sidak over the checkpoints the looks read: 5 in a 6-week pilot, daily or weekly looks alike). The
  unconditional test holds its level whatever the share of units silent in both arms, so the 0.65% holds even if
  weekly silences are independent from week to week (the worst case for the split). Sample ratio and coverage keep
  the SRM bar (p < 0.001) at each look: with a fixed, block-randomized roster their counts hardly move from look to
  look, so splitting it would only blunt them. Over a valid pilot the four together flag at most about 1% (the
  stress matrix measures the others; attrition's share is a bound); with 0.01 per look for audit rate and attrition
  they flagged 2-4% of valid pilots at some look. Attrition had 0.4% split over every look (1e-4 per daily look):
  with 20 moderators per arm it then missed 0.72 of always-valid pilots that lost half their treatment arm.
* Covariate balance at launch: SMDs of site, language, tenure and pre-period accuracy. Chance imbalance under a valid
  randomization is not a data-quality failure (and CUPED adjusts for the pre-period), so an |SMD| above 0.1 is shown
  as a warning; the check fails only when an imbalance is also beyond chance (z = SMD / sqrt(1/n_c + 1/n_t),
  Bonferroni over the rows, p < 0.001, the SRM bar; z is read against t with n_c + n_t - 2 degrees of freedom, so 4
  teams per arm are not judged as if they were many), which signals a broken assignment rather than bad luck.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy import stats

from analysis import reasons
from analysis.checks import (
    ATTRITION_THRESHOLD,
    AUDIT_RATE_THRESHOLD,
    SMD_THRESHOLD,
    SRM_THRESHOLD,
    CheckResult,
    attrition,
    audit_coverage,
    audit_rate_balance,
    covariate_balance,
    sample_ratio_mismatch,
)
from pilots.assignment.strata import band
from pilots.results.loader import Panel

RECENT_DAYS = 7
ATTRITION_FROM_DAY = 14
MIN_EXPECTED_AUDITS = 3.0
"""Audits a unit must be expected to receive in the checked week, at its own rate before it, to be at risk of
attrition: with fewer, a silent week is ordinary (Poisson: no audit with probability above e^-3 = 5%)."""
PILOT_LEVELS = {"audit_rate": 0.0025, "attrition": 0.0065}
"""Probability, over a whole valid pilot, that each noisy repeated check flags it. Attrition's 0.65% makes 8 of 20
silent against none flag at every checkpoint of a 6-week pilot (Boschloo p = 0.00123 against a bar of 0.0013); the
audit-rate check flagged far fewer valid pilots than its earlier 0.4% in the stress matrix, so it gave up 0.15%."""


def attrition_checkpoint(day: int | None) -> int | None:
    """The last day of the latest whole pilot week ending on or before ``day`` at which attrition is judged (None
    before the first: the end of the second week)."""
    if day is None:
        return None
    last = (day + 1) // RECENT_DAYS * RECENT_DAYS - 1
    return last if last + 1 >= ATTRITION_FROM_DAY else None


def look_thresholds(look_days: tuple[int, ...]) -> dict[str, float]:
    """Per-look bar of each repeated check for a pilot with the planned ``look_days`` (module docstring): audit rate
    split over the looks, attrition over the weekly checkpoints the looks read."""
    tests = {
        "audit_rate": max(1, len(look_days)),
        "attrition": max(1, len({attrition_checkpoint(d) for d in look_days} - {None})),
    }
    bars = {name: -math.expm1(math.log1p(-level) / tests[name]) for name, level in PILOT_LEVELS.items()}
    return {"srm": SRM_THRESHOLD, "audit_coverage": SRM_THRESHOLD, **bars}


def repeated(
    panel: Panel, weights: dict[str, int], now: int | None, unit: str, look_days: tuple[int, ...]
) -> list[CheckResult]:
    """The checks re-run at every look (sample ratio, coverage, audit rate, attrition) at their per-look bars."""
    bars = look_thresholds(look_days)
    arms = tuple(weights)
    if now is None:  # not run: the honest reason is that nothing has arrived, not that there are too few units
        message = reasons.describe(reasons.NO_AUDITS_YET)
        return [
            CheckResult(name, True, math.nan, math.nan, message, reasons.NO_AUDITS_YET)
            for name in ("srm", "audit_coverage", "audit_rate", "attrition")
        ]
    return [
        srm(panel, weights, now, bars["srm"]),
        coverage(panel, arms, now, unit, bars["audit_coverage"]),
        audit_rate(panel, arms, now, unit, bars["audit_rate"]),
        recent_attrition(panel, arms, now, bars["attrition"]),
    ]


def check_json(check: CheckResult, **extra: Any) -> dict[str, Any]:
    def clean(value: float) -> float | None:
        return float(value) if math.isfinite(value) else None

    return {
        "name": check.name,
        "ok": bool(check.ok),
        "ran": check.reason is None,  # a check that could not run (its `reason` says why) is not a pass
        "message": check.message,
        "statistic": clean(check.statistic),
        "p_value": clean(check.p_value),
        "reason": check.reason,
        **extra,
    }


def _active(panel: Panel, now: int | None) -> np.ndarray:
    if now is None:
        return np.zeros(panel.units.size, dtype=bool)
    return panel.cumulative("audits", now) > 0


def _per_arm(panel: Panel, arms: Iterable[str], mask: np.ndarray | None = None) -> dict[str, int]:
    """Units of each arm (those where `mask` holds, when given)."""
    counts = {}
    for arm in arms:
        members = panel.units.arms == arm
        counts[arm] = int((members if mask is None else members & mask).sum())
    return counts


def srm(panel: Panel, weights: dict[str, int], now: int | None, threshold: float = SRM_THRESHOLD) -> CheckResult:
    return sample_ratio_mismatch(_per_arm(panel, weights, _active(panel, now)), weights, threshold)


def srm_json(
    check: CheckResult, panel: Panel, weights: dict[str, int], now: int | None, threshold: float = SRM_THRESHOLD
) -> dict[str, Any]:
    counts, assigned = _per_arm(panel, weights, _active(panel, now)), _per_arm(panel, weights)
    return {
        "p_value": float(check.p_value) if math.isfinite(check.p_value) else None,
        "ok": bool(check.ok),
        "counts": counts,
        "assigned": assigned,
        "weights": weights,
        "threshold": threshold,
        "message": check.message,
    }


def coverage(
    panel: Panel, arms: tuple[str, ...], now: int | None, unit: str = "moderator", threshold: float = SRM_THRESHOLD
) -> CheckResult:
    return audit_coverage(_per_arm(panel, arms), _per_arm(panel, arms, _active(panel, now)), threshold, unit=unit)


def audit_rate(
    panel: Panel,
    arms: tuple[str, ...],
    now: int | None,
    unit: str = "moderator",
    threshold: float = AUDIT_RATE_THRESHOLD,
) -> CheckResult:
    active = _active(panel, now)
    weeks = ((now or 0) + 1) / 7
    audits = panel.cumulative("audits", now) if now is not None else np.zeros(panel.units.size)
    rates = {arm: audits[active & (panel.units.arms == arm)] / weeks for arm in arms}
    return audit_rate_balance(rates, threshold, unit=unit)


def recent_attrition(
    panel: Panel, arms: tuple[str, ...], now: int | None, threshold: float = ATTRITION_THRESHOLD
) -> CheckResult:
    """Attrition at the latest weekly checkpoint on or before ``now`` (module docstring)."""
    last = attrition_checkpoint(now)
    if last is None or last >= panel.days:
        return CheckResult(
            "attrition",
            True,
            math.nan,
            math.nan,
            "Attrition is checked once the pilot has two weeks of data.",
            reasons.NOT_YET,
        )
    first = last - RECENT_DAYS + 1
    if panel.member_audits is not None:
        # Team pilots: a team never stops being audited as a whole, and with a handful of teams per arm no team-level
        # test can reach the bar (4 against 4 teams: an exact test cannot go below p = 1/35). The moderators within
        # the teams who stopped being audited carry the signal; counting them assumes moderators leave
        # independently of their team-mates when the arms do not differ, the same unit the sample-ratio check counts.
        members = panel.member_audits
        before, recent = members[:, :first].sum(axis=1), members[:, first : last + 1].sum(axis=1)
        arm_of = panel.units.arms[panel.member_unit]
    else:
        before, recent = panel.cumulative("audits", first - 1), panel.window("audits", first, last)
        arm_of = panel.units.arms
    at_risk = before * RECENT_DAYS / first >= MIN_EXPECTED_AUDITS
    units = {arm: int((at_risk & (arm_of == arm)).sum()) for arm in arms}
    inactive = {arm: int((at_risk & (recent == 0) & (arm_of == arm)).sum()) for arm in arms}
    return attrition(units, inactive, threshold)


def balance(panel: Panel, control: str) -> tuple[CheckResult, list[dict[str, Any]]]:
    """Covariate balance with the chance-aware failure rule of the module docstring; also the SMD rows."""
    units = panel.units
    attributes: dict[str, np.ndarray] = {}
    for name in ("site", "language"):
        values = units.attributes[name]
        if len({v for v in values if v}) > 1:
            attributes[name] = values.astype(str)
    tenure = units.attributes["tenure_months"]
    has_tenure = np.isfinite(tenure)
    rows = []
    arms = units.arms.astype(str)
    if attributes:
        rows += list(covariate_balance(arms, attributes, control).rows)
    if has_tenure.sum() > 2:
        # Banded once per distinct tenure (a roster has few), not once per unit.
        distinct, inverse = np.unique(np.where(has_tenure, tenure, np.inf), return_inverse=True)
        names = np.array([band("tenure_months", v) if math.isfinite(v) else "unknown" for v in distinct])
        rows += list(covariate_balance(arms, {"tenure_band": names[inverse]}, control).rows)
    pre_x = panel.pre_column("audits")
    has_pre = pre_x > 0
    if has_pre.sum() > 2 and len(set(units.arms[has_pre])) > 1 and control in set(units.arms[has_pre]):
        pre_accuracy = panel.pre_column("correct")[has_pre] / pre_x[has_pre]
        rows += list(
            covariate_balance(units.arms[has_pre].astype(str), {"pre_period_accuracy": pre_accuracy}, control).rows
        )
    counts = {arm: int((units.arms == arm).sum()) for arm in set(units.arms)}
    table, beyond = [], []
    for row in rows:
        n_c, n_t = counts.get(control, 0), counts.get(row.arm, 0)
        flagged = not abs(row.smd) < SMD_THRESHOLD if math.isfinite(row.smd) else False
        p = math.nan
        if math.isfinite(row.smd) and n_c > 0 and n_t > 0:
            # SMD / sqrt(1/n_c + 1/n_t) is the two-sample t statistic: read against t with n_c + n_t - 2 df, not the
            # normal, which with 4 teams per arm flagged 1.7% of valid pilots as broken assignments.
            df = max(n_c + n_t - 2, 1)
            p = float(2 * stats.t.sf(abs(row.smd) / math.sqrt(1 / n_c + 1 / n_t), df))
        table.append(
            {
                "attribute": row.attribute,
                "level": row.level,
                "arm": row.arm,
                "smd": row.smd if math.isfinite(row.smd) else None,
                "flagged": flagged,
                "p_value": p if math.isfinite(p) else None,
            }
        )
        if flagged and math.isfinite(p) and p * max(1, len(rows)) < SRM_THRESHOLD:
            beyond.append(row)
    worst = max((abs(r.smd) for r in rows if math.isfinite(r.smd)), default=0.0)
    warned = [t for t in table if t["flagged"]]
    if beyond:
        names = ", ".join(f"{r.attribute}{'=' + r.level if r.level else ''} ({r.arm}: {r.smd:+.2f})" for r in beyond)
        message = (
            f"Arms differ at launch on {names}, far more than chance allows; the assignment may be broken. "
            "Check how the roster was randomized."
        )
        return CheckResult("covariate_balance", False, worst, math.nan, message), table
    if warned:
        names = ", ".join(
            f"{t['attribute']}{'=' + t['level'] if t['level'] else ''} ({t['arm']}: {t['smd']:+.2f})" for t in warned
        )
        message = (
            f"Arms are somewhat imbalanced at launch on {names} (|SMD| of {SMD_THRESHOLD} or more), within what "
            "chance allows with this many units; the pre-period adjustment corrects for prior accuracy."
        )
    elif rows:
        message = f"Arms are balanced at launch on every attribute (largest |SMD| {worst:.2f})."
    else:
        message = "No roster attributes or pre-period data to compare at launch."
    return CheckResult("covariate_balance", True, worst, math.nan, message), table
