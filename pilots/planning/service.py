"""Pilot planning: turn a pilot (or request parameters) into `analysis.planning` inputs and a plain result.

Two sources feed the two-level variance model (METHODS.md section 7):

* a pilot's pre-period rollups (`UnitDay` rows before `start_date`): per-unit sums give the between- and within-unit
  variance (`analysis.variance_components`), the audit rate per unit per day, its spread across units and the
  baseline rate;
* explicit request parameters (`POST /api/v1/plan`): baseline, ICC or variance components, audits per week.

`VarianceModel` is also what the results engine uses to plan the information curve of a running pilot
(`pilots.results.looks`), so planning and monitoring share one model.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np

from analysis.planning import PlanResult, SequentialDesign, difference_variance, plan_pilot
from analysis.variance_components import VarianceComponents, estimate_variance_components
from pilots.catalog import METRICS, MetricDefinition
from pilots.errors import ValidationFailed, problem
from pilots.planning.notes import PUBLIC_SPENDING, SPENDING, finite_or_none, futility_note, measurement_note

Source = Literal["pre_period", "first_look", "parameters"]
MIN_UNITS_FOR_MODEL = 4
# `analysis.planning` names the offending parameter first in its ValueErrors; these are the request's names for them.
REQUEST_FIELDS = {
    "units_per_arm": "units_per_arm",
    "total_units": "units",
    "weights": "weights",
    "variance": "variance_components",
    "icc": "icc",
    "baseline": "baseline",
    "audits_per_unit_per_week": "audits_per_week",
    "weeks": "weeks",
    "alpha": "alpha",
    "power": "power",
    "target_effect": "target_effect",
    "looks_per_week": "looks_per_week",
}

logger = logging.getLogger(__name__)


def baseline_problem(metric: str, baseline: float, *, icc_alone: bool) -> str | None:
    """What is wrong with `baseline` for `metric` (None when nothing): a proportion lies in [0, 1], and in (0, 1) when
    an ICC alone sets the variance (``p (1 - p)`` must be positive); other metrics (handle time) must be positive."""
    definition = METRICS[metric]
    if definition.proportion:
        if icc_alone and not 0 < baseline < 1:
            return "must be a proportion in (0, 1) for this metric when the variance comes from an ICC"
        if not 0 <= baseline <= 1:
            return "must be a proportion in [0, 1] for this metric"
        return None
    if not baseline > 0:
        return f"must be > 0 for {definition.label.lower()} ({definition.unit_of_measure})"
    return None


def icc_problem(metric: str) -> str | None:
    """An ICC alone gives the variance of a proportion only (``p (1 - p)``); other metrics need variance components."""
    if METRICS[metric].proportion:
        return None
    return f"an ICC alone cannot give the variance of {METRICS[metric].label.lower()}; give variance components"


@dataclass(frozen=True)
class VarianceModel:
    """Everything the planned variance curve of one metric needs.

    `audits_per_unit_per_day` counts calendar days (weekends included), so `days * rate` is the expected audits per
    unit after `days`; `audit_rate_cv` is the spread of units' true audit rates beyond Poisson noise;
    `pre_audits_per_unit` is the mean pre-period audits (0 without CUPED).
    """

    components: VarianceComponents
    baseline: float
    audits_per_unit_per_day: float
    audit_rate_cv: float
    pre_audits_per_unit: float
    units: int
    source: Source

    def difference_variance(self, days: float, units_treatment: int, units_control: int) -> float:
        """Planned Var(treatment - control) after `days` days (nan when the model cannot say)."""
        m = self.audits_per_unit_per_day * days
        if m <= 0 or units_treatment < 1 or units_control < 1:
            return math.nan
        return difference_variance(
            self.components,
            m,
            units_treatment,
            units_control,
            audit_rate_cv=self.audit_rate_cv,
            pre_period_audits_per_unit=self.pre_audits_per_unit,
        )


def variance_model(
    y: np.ndarray,
    x: np.ndarray,
    y2: np.ndarray | None,
    days: int,
    source: Source,
    *,
    pre_audits_per_unit: float = 0.0,
    arms: np.ndarray | None = None,
) -> VarianceModel | None:
    """Fit the model to per-unit sums over `days` calendar days (None when there is too little data).

    `y2` is the per-unit sum of squared outcomes (None for 0/1 outcomes). The audit-rate spread removes the Poisson
    part: ``cv^2 = (var(x) - mean(x)) / mean(x)^2``, clipped at 0. On pilot data pass each unit's `arms`: the
    between-unit variance is then measured within arms, so a real effect does not inflate it.
    """
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    active = x > 0
    if days < 1 or active.sum() < MIN_UNITS_FOR_MODEL:
        return None
    estimate = estimate_variance_components(
        y[active],
        x[active],
        None if y2 is None else np.asarray(y2)[active],
        None if arms is None else np.asarray(arms)[active],
    )
    if estimate.reason is not None or estimate.components.within + estimate.components.between <= 0:
        return None
    mean_x = float(x.mean())
    cv2 = max(0.0, (float(x.var(ddof=1)) - mean_x) / mean_x**2) if x.size > 1 else 0.0
    return VarianceModel(
        components=estimate.components,
        baseline=estimate.mean,
        audits_per_unit_per_day=mean_x / days,
        audit_rate_cv=math.sqrt(cv2),
        pre_audits_per_unit=pre_audits_per_unit,
        units=int(active.sum()),
        source=source,
    )


def metric_columns(definition: MetricDefinition) -> tuple[str, str, str | None]:
    """The rollup columns (numerator, denominator, squares) of a catalog metric."""
    return definition.numerator, definition.denominator, definition.sum_squares


def plan_document(result: PlanResult, *, metric: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A PlanResult as plain JSON (no NaN): the per-week table, MDE by week, saturation and the summary."""
    weeks = [
        {
            "week": row.week,
            "audits_per_unit": row.audits_per_unit,
            "variance_difference": finite_or_none(row.variance_difference),
            "inflation_factor": finite_or_none(row.inflation_factor),
            "mde": finite_or_none(row.mde),
            "mde_relative": finite_or_none(row.mde_relative),
            "power": finite_or_none(row.power),
        }
        for row in result.weeks
    ]
    document = {
        "metric": metric,
        "units_per_arm": list(result.units_per_arm),
        "audits_per_unit_per_week": result.audits_per_unit_per_week,
        "baseline": result.baseline,
        "variance_components": {
            "between": result.components.between,
            "within": result.components.within,
            "icc": result.components.icc,
        },
        "alpha": result.alpha,
        "alpha_per_comparison": result.alpha_per_comparison,
        "power": result.power,
        "design": {
            "method": result.design.method,
            "looks_per_week": result.design.looks_per_week,
            # The request's own name for the spending function; it only shapes group-sequential boundaries.
            "spending": PUBLIC_SPENDING[result.design.spending] if result.design.method == "group_sequential" else None,
        },
        "target_effect": result.target_effect,
        "weeks": weeks,
        "detectable_effect_by_week": [{"week": w["week"], "mde": w["mde"]} for w in weeks],
        "inflation_factor": weeks[-1]["inflation_factor"],
        "saturation_week": result.saturation_week,
        "detectable_week": result.detectable_week,
        "summary": result.summary,
    }
    document.update(extra or {})
    return document


def run_plan(
    *,
    metric: str,
    units_per_arm: list[int] | None,
    total_units: int | None,
    weights: list[float] | None,
    audits_per_week: float,
    baseline: float,
    components: VarianceComponents | None,
    icc: float | None,
    weeks: int,
    alpha: float,
    power: float,
    method: str,
    looks_per_week: int,
    spending: str,
    target_effect: float | None,
    audit_rate_cv: float = 0.0,
    pre_audits_per_unit: float = 0.0,
    fields: dict[str, str] | None = None,
) -> PlanResult:
    """Call `analysis.planning.plan_pilot`, turning its ValueErrors into a 422 naming the parameter.

    `fields` renames parameters for the caller (`total_units` is `units` in a request body). A numerical failure
    that names no parameter is a bug: it is logged and answered with a plain 422, never the solver's text.
    """
    definition = METRICS[metric]
    design = SequentialDesign(
        method="fixed" if method == "fixed" else method,  # type: ignore[arg-type]
        looks_per_week=looks_per_week,
        spending=SPENDING[spending],  # type: ignore[arg-type]
    )
    try:
        return plan_pilot(
            audits_per_unit_per_week=audits_per_week,
            baseline=baseline,
            units_per_arm=units_per_arm,
            total_units=total_units,
            weights=weights,
            variance=components,
            icc=icc,
            weeks=weeks,
            alpha=alpha,
            power=power,
            design=design,
            target_effect=target_effect,
            audit_rate_cv=audit_rate_cv,
            pre_period_audits_per_unit=pre_audits_per_unit,
            metric=definition.label.lower(),
            percent_points=definition.proportion,
            proportion_alternative=_alternative(definition, baseline),
        )
    except (ValueError, ArithmeticError, RuntimeError) as error:
        names = {**REQUEST_FIELDS, **(fields or {})}
        name, _, rest = str(error).partition(" ")
        if isinstance(error, ValueError) and name in names:
            message = rest if rest.startswith(("must ", "is ")) else str(error)
            raise ValidationFailed(
                "The plan cannot be computed from these parameters.", [problem(names[name], message)]
            ) from error
        logger.warning("Planner failed for %s looks a week over %s weeks: %r", looks_per_week, weeks, error)
        raise ValidationFailed(
            "The planner could not compute this design; try fewer looks a week or fewer weeks.",
            [problem("looks_per_week", "this many looks could not be planned for these parameters")],
        ) from error


def _alternative(definition: MetricDefinition, baseline: float) -> Literal["up", "down"] | None:
    """Which way a proportion metric's treatment arm moves under the alternative (its variance is planned there);
    None for other metrics and for a degenerate baseline of 0 or 1 (no binomial variance to scale)."""
    if not definition.proportion or not 0.0 < baseline < 1.0:
        return None
    return "up" if definition.higher_is_better else "down"


def weeks_between(start: date, end: date) -> int:
    """Whole weeks covering `start` through `end` (at least 1)."""
    return max(1, math.ceil(((end - start).days + 1) / 7))


def pilot_plan(session, pilot_id: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """The plan calculator for a registered pilot: its roster, arms and design, with variance components from its
    pre-period rollups (or from `overrides`: baseline, icc, audits_per_week). 422 naming `pre_period` when neither."""
    from sqlalchemy import func, select

    from analysis.group_sequential import inflation_factor
    from pilots.lookup import get_pilot
    from pilots.models import RosterEntry, UnitDay
    from pilots.schemas import plan_of
    from pilots.schemas.horizon import ensure_supported_horizon

    pilot = get_pilot(session, pilot_id)
    plan = plan_of(pilot)
    ensure_supported_horizon(plan, "planned")
    metric = overrides.get("metric") or plan.primary[0].name
    definition = METRICS[metric]
    roster = dict(
        session.execute(
            select(RosterEntry.moderator_id, RosterEntry.team).where(RosterEntry.pilot_id == pilot_id)
        ).all()
    )
    unit_of = {m: (team if plan.unit == "team" else m) for m, team in roster.items()}
    units = sorted(set(unit_of.values()))
    if len(units) < 2:
        raise ValidationFailed(
            "The pilot needs a roster before it can be planned.", [problem("roster", "has fewer than two units")]
        )
    weights = [arm.weight for arm in plan.arms]
    model = None
    if plan.pre_period_start is not None and plan.pre_period_start < plan.start_date:
        num, den, sq = metric_columns(definition)
        columns = [func.sum(getattr(UnitDay, c)) for c in (num, den, sq or num)]
        rows = session.execute(
            select(UnitDay.moderator_id, *columns)
            .where(
                UnitDay.pilot_id == pilot_id,
                UnitDay.day >= plan.pre_period_start,
                UnitDay.day < plan.start_date,
            )
            .group_by(UnitDay.moderator_id)
        ).all()
        sums: dict[str, list[float]] = {u: [0.0, 0.0, 0.0] for u in units}
        for moderator, y, x, y2 in rows:
            if moderator in unit_of:
                acc = sums[unit_of[moderator]]
                acc[0] += float(y or 0)
                acc[1] += float(x or 0)
                acc[2] += float(y2 or 0)
        y, x, y2 = (np.array([sums[u][k] for u in units]) for k in range(3))
        days = (plan.start_date - plan.pre_period_start).days
        model = variance_model(y, x, y2 if sq else None, days, "pre_period", pre_audits_per_unit=float(x.mean()))
    given = {k: overrides.get(k) for k in ("baseline", "icc", "audits_per_week")}
    if given["baseline"] is not None:
        reason = baseline_problem(metric, given["baseline"], icc_alone=model is None)
        if reason is not None:
            raise ValidationFailed("The query string is invalid.", [problem("baseline", reason)])
    if model is None and (reason := icc_problem(metric)) is not None:
        raise ValidationFailed(
            f"Pilot {pilot_id} has no pre-period audits to estimate the variance of {definition.label.lower()} "
            "from, and an ICC alone cannot give it; load pre-period audits first.",
            [problem("pre_period", "has no audits"), problem("icc", reason)],
        )
    if model is None and None in given.values():
        missing = [k for k, v in given.items() if v is None]
        raise ValidationFailed(
            f"Pilot {pilot_id} has no pre-period audits to estimate the variance from; pass "
            f"{', '.join(missing)} as query parameters (e.g. ?baseline=0.93&icc=0.1&audits_per_week=12).",
            [
                problem("pre_period", "has no audits"),
                *(problem(k, "is required without pre-period data") for k in missing),
            ],
        )
    weeks = overrides.get("weeks") or weeks_between(plan.start_date, plan.end_date)
    method = plan.design.method
    looks_per_week = 7 if method == "always_valid" else 1
    if model is not None:
        components = model.components
        baseline = model.baseline if given["baseline"] is None else given["baseline"]
        per_week, cv, pre = model.audits_per_unit_per_day * 7, model.audit_rate_cv, model.pre_audits_per_unit
        source = "pre_period"
    else:
        components, baseline, per_week, cv, pre = None, given["baseline"], given["audits_per_week"], 0.0, 0.0
        source = "parameters"
    result = run_plan(
        metric=metric,
        units_per_arm=None,
        total_units=len(units),
        weights=weights,
        audits_per_week=overrides.get("audits_per_week") or per_week,
        baseline=baseline,
        components=components,
        icc=overrides.get("icc") if components is None else None,
        weeks=weeks,
        alpha=plan.design.alpha,
        power=plan.design.power,
        method=method,
        looks_per_week=looks_per_week,
        spending=plan.design.spending,
        target_effect=overrides.get("target_effect"),
        audit_rate_cv=cv,
        pre_audits_per_unit=pre,
        fields={"total_units": "roster", "weights": "arms", "alpha": "design.alpha", "power": "design.power"},
    )
    extra: dict[str, Any] = {"pilot_id": pilot_id, "variance_source": source, "units": len(units)}
    if overrides.get("measurement_error_share") is not None:
        extra["measurement"] = measurement_note(
            result,
            overrides["measurement_error_share"],
            proportion=definition.proportion,
            audit_rate_cv=cv,
            pre_audits_per_unit=pre,
        )
    if method == "group_sequential" and plan.design.looks > 1:
        horizon = result.weeks[-1].audits_per_unit
        look_m = [horizon * k / plan.design.looks for k in range(1, plan.design.looks + 1)]
        arms = result.units_per_arm
        v = [difference_variance(result.components, m, min(arms[1:]), arms[0], audit_rate_cv=cv) for m in look_m]
        fractions = [v[-1] / value for value in v]
        extra["design_inflation_factor"] = inflation_factor(
            plan.design.alpha / (len(arms) - 1), plan.design.power, fractions, SPENDING[plan.design.spending]
        )
        extra["design_inflation_note"] = (
            f"Inflation of the registered design ({plan.design.looks} equally spaced reviews); the weekly table "
            "assumes one review a week."
        )
        if plan.design.futility:
            extra.update(futility_note(plan.design, fractions, len(arms) - 1))
    from pilots.planning import small_sample  # imports the results engine, which imports this module

    small = small_sample.pilot_section(
        session,
        pilot,
        plan,
        result,
        len(units),
        weeks,
        percent_points=definition.proportion,
        audit_rate_cv=cv,
        pre_audits_per_unit=pre,
    )
    if small is not None:
        extra["small_sample"] = small
    return plan_document(result, metric=metric, extra=extra)
