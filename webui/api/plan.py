"""The planning calculator: MDE and power week by week, for parameters (`POST /plan`) or for a pilot (`GET`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, model_validator

from analysis.variance_components import VarianceComponents
from pilots.catalog import METRIC_NAMES, METRICS
from pilots.planning import small_sample
from pilots.planning.notes import measurement_note
from pilots.planning.service import baseline_problem, icc_problem, pilot_plan, plan_document, run_plan
from pilots.schemas import examples
from pilots.schemas.common import InputModel, rule_errors
from pilots.schemas.horizon import MAX_WEEKS
from webui.api import bp
from webui.api.auth import require
from webui.api.inputs import json_body, query_args
from webui.api.openapi import responses, spec
from webui.database import get_session

TAGS = ["planning"]
MetricName = Literal[METRIC_NAMES]  # type: ignore[valid-type]
# At least one unit per arm is a rule below (its message names the field); the document states it as a minimum.
UnitsOfArm = Annotated[int, Field(le=1_000_000, json_schema_extra={"minimum": 1})]
MeasurementErrorShare = Annotated[
    float | None,
    Field(
        ge=0,
        le=1,
        description=(
            "Share of one grade's variance that is auditor disagreement (1 - Krippendorff's alpha of double audits, "
            "as the results' QA health reports it); the plan then also gives the detectable effect with error-free "
            "grading (`measurement`)."
        ),
    ),
]


class VarianceComponentsIn(InputModel):
    between: float = Field(ge=0, description="Between-unit variance of the true rates (sigma_b^2).")
    within: float = Field(
        gt=0,
        description=(
            "Within-unit variance of one audit (sigma_w^2), > 0: only an outcome that never varies for a moderator "
            "has none (for a proportion, a baseline of exactly 0 or 1)."
        ),
    )


# The "exactly one of" rules below, stated in the OpenAPI document too (a null counts as absent).
_EXACTLY_ONE_SIZE = {
    "oneOf": [
        {"required": ["units"], "properties": {"units": {"type": "integer"}}},
        {"required": ["units_per_arm"], "properties": {"units_per_arm": {"type": "array"}}},
    ]
}
_EXACTLY_ONE_VARIANCE = {
    "oneOf": [
        {"required": ["icc"], "properties": {"icc": {"type": "number"}}},
        {"required": ["variance_components"], "properties": {"variance_components": {"type": "object"}}},
    ]
}


class PlanRequest(InputModel):
    """Give `units` (total, split by `weights`) or `units_per_arm` (control first); and `icc` (proportions) or
    `variance_components`."""

    model_config = ConfigDict(
        json_schema_extra={"examples": examples.PLAN_REQUESTS, "allOf": [_EXACTLY_ONE_SIZE, _EXACTLY_ONE_VARIANCE]}
    )

    metric: MetricName = "accuracy"
    units: int | None = Field(default=None, ge=2, le=1_000_000, description="Total units (moderators or teams).")
    units_per_arm: list[Annotated[int, Field(le=1_000_000, json_schema_extra={"minimum": 1})]] | None = Field(
        default=None, min_length=2, max_length=10
    )
    weights: list[float] | None = Field(default=None, min_length=2, max_length=10)
    audits_per_week: float = Field(gt=0, le=10_000, description="Audits per unit per week.")
    baseline: float = Field(
        description=(
            "Control rate or mean, e.g. 0.93 for accuracy: a proportion in [0, 1] (in (0, 1) with `icc`), or > 0 for "
            "handle_time."
        )
    )
    icc: float | None = Field(default=None, ge=0, le=1, description="Proportion metrics only.")
    variance_components: VarianceComponentsIn | None = None
    weeks: int = Field(default=8, ge=1, le=MAX_WEEKS)
    alpha: float = Field(default=0.05, gt=0, le=0.5, description="Two-sided false-go rate (as in a pilot's design).")
    power: float = Field(default=0.8, ge=0.5, lt=1, description="As in a pilot's design.")
    method: Literal["fixed", "group_sequential", "always_valid"] = "group_sequential"
    looks_per_week: int = Field(default=1, ge=1, le=7)
    spending: Literal["obrien_fleming", "pocock"] = "obrien_fleming"
    target_effect: float | None = Field(
        default=None, description="Effect of interest on the metric's scale, not 0 (at most 1 for a proportion)."
    )
    audit_rate_cv: float = Field(default=0.0, ge=0, le=5)
    pre_period_audits_per_unit: float = Field(default=0.0, ge=0, le=100_000)
    measurement_error_share: MeasurementErrorShare = None

    @model_validator(mode="after")
    def _rules(self) -> PlanRequest:
        errors = []
        if (self.units is None) == (self.units_per_arm is None):
            errors.append((("units",), "give exactly one of units or units_per_arm", self.units))
        if self.units_per_arm is not None and min(self.units_per_arm) < 1:
            errors.append((("units_per_arm",), "every arm needs at least one unit", self.units_per_arm))
        if self.weights is not None and min(self.weights) <= 0:
            errors.append((("weights",), "weights must be positive", self.weights))
        if (self.icc is None) == (self.variance_components is None):
            errors.append((("icc",), "give exactly one of icc or variance_components", self.icc))
        if self.icc is not None and (reason := icc_problem(self.metric)) is not None:
            errors.append((("icc",), reason, self.icc))
        if (reason := baseline_problem(self.metric, self.baseline, icc_alone=self.icc is not None)) is not None:
            errors.append((("baseline",), reason, self.baseline))
        if self.target_effect is not None:
            if self.target_effect == 0:
                errors.append((("target_effect",), "must not be zero", self.target_effect))
            elif METRICS[self.metric].proportion and abs(self.target_effect) > 1:
                errors.append((("target_effect",), "must be between -1 and 1 for a proportion", self.target_effect))
        if errors:
            raise rule_errors("PlanRequest", errors)
        return self


class PilotPlanQuery(InputModel):
    """Overrides of what the pilot's pre-period gives; `baseline` is checked against the metric like `POST /plan`."""

    metric: MetricName | None = None
    target_effect: float | None = None
    weeks: int | None = Field(default=None, ge=1, le=MAX_WEEKS)
    baseline: float | None = None
    icc: float | None = Field(default=None, ge=0, le=1)
    audits_per_week: float | None = Field(default=None, gt=0, le=10_000)
    measurement_error_share: MeasurementErrorShare = None

    @model_validator(mode="after")
    def _rules(self) -> PilotPlanQuery:
        errors = []
        if self.target_effect is not None and self.target_effect == 0:
            errors.append((("target_effect",), "must not be zero", self.target_effect))
        # icc_alone=False: with pre-period data the ICC is not used; pilots.planning.service checks the rest.
        reason = None
        if self.metric is not None and self.baseline is not None:
            reason = baseline_problem(self.metric, self.baseline, icc_alone=False)
        if reason is not None:
            errors.append((("baseline",), reason, self.baseline))
        if errors:
            raise rule_errors("PilotPlanQuery", errors)
        return self


class PlanWeekOut(BaseModel):
    week: int
    audits_per_unit: float
    variance_difference: float | None
    inflation_factor: float | None
    mde: float | None
    mde_relative: float | None
    power: float | None


class PlanOut(BaseModel):
    """The per-week table, the detectable effect by week, where more data stops helping, the sequential design's
    inflation factor and a summary sentence."""

    model_config = ConfigDict(extra="allow")

    metric: str
    units_per_arm: list[int]
    weeks: list[PlanWeekOut]
    detectable_effect_by_week: list[dict[str, Any]]
    inflation_factor: float | None
    saturation_week: int | None
    detectable_week: int | None
    summary: str


@bp.post("/plan")
@spec.validate(
    json=PlanRequest, resp=responses(200, PlanOut, 415, 422), tags=TAGS, skip_validation=True, operation_id="plan"
)
@require("read")
def plan():
    """MDE and power by week for a planned roster, including the sequential design's inflation factor."""
    body = json_body(PlanRequest)
    components = None
    if body.variance_components is not None:
        components = VarianceComponents(body.variance_components.between, body.variance_components.within)
    result = run_plan(
        metric=body.metric,
        units_per_arm=body.units_per_arm,
        total_units=body.units,
        weights=body.weights,
        audits_per_week=body.audits_per_week,
        baseline=body.baseline,
        components=components,
        icc=body.icc,
        weeks=body.weeks,
        alpha=body.alpha,
        power=body.power,
        method=body.method,
        looks_per_week=body.looks_per_week,
        spending=body.spending,
        target_effect=body.target_effect,
        audit_rate_cv=body.audit_rate_cv,
        pre_audits_per_unit=body.pre_period_audits_per_unit,
    )
    extra = {}
    small = small_sample.parameters_section(
        result,
        method=body.method,
        spending=body.spending,
        weights=body.weights,
        percent_points=METRICS[body.metric].proportion,
        audit_rate_cv=body.audit_rate_cv,
        pre_audits_per_unit=body.pre_period_audits_per_unit,
    )
    if small is not None:
        extra["small_sample"] = small
    if body.measurement_error_share is not None:
        note = measurement_note(
            result,
            body.measurement_error_share,
            proportion=METRICS[body.metric].proportion,
            audit_rate_cv=body.audit_rate_cv,
            pre_audits_per_unit=body.pre_period_audits_per_unit,
        )
        extra["measurement"] = note
    return jsonify(plan_document(result, metric=body.metric, extra=extra))


@bp.get("/pilots/<int:pilot_id>/plan")
@spec.validate(
    query=PilotPlanQuery,
    resp=responses(200, PlanOut, 404, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions={"pilot_id": "The pilot's id."},
    operation_id="getPilotPlan",
)
@require("read")
def pilot_plan_view(pilot_id: int):
    """The calculator for a pilot: its roster, arms and design, variance from its pre-period rollups."""
    query = query_args(PilotPlanQuery)
    return jsonify(pilot_plan(get_session(), pilot_id, query.model_dump(exclude_none=True)))
