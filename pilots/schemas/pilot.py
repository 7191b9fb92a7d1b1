"""API data models of a pilot: what clients send to create and edit one, and what the API returns.

`PilotBase` holds the plan fields with their constraints; `PilotCreate` adds defaults and the cross-field rules,
`PilotUpdate` makes every field optional (a merge patch re-validated as a whole plan), `PilotPublic` adds lifecycle
state. The table model `pilots.models.Pilot` stores `arms`, `metrics` and `design` as JSON dumped from these models.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from pilots.catalog import METRIC_NAMES, METRICS
from pilots.schemas import examples
from pilots.schemas.common import InputModel, OutputModel, rule_errors
from pilots.schemas.fields import (
    RESERVED_ATTRIBUTES,
    ArmName,
    AttributeName,
    Label,
    LayerName,
    Margin,
    Person,
    PlanDate,
    Seed,
    Text,
    Weight,
)
from pilots.schemas.horizon import MAX_PILOT_DAYS, MAX_WEEKS, horizon_errors

Kind = Literal["tool", "training"]
Unit = Literal["moderator", "team"]
Role = Literal["primary", "guardrail", "secondary"]
Method = Literal["always_valid", "group_sequential"]
Spending = Literal["obrien_fleming", "pocock"]
Status = Literal["draft", "running", "concluded"]
MetricName = Literal[METRIC_NAMES]  # type: ignore[valid-type]

STATUSES: tuple[str, ...] = ("draft", "running", "concluded")
MAX_ARMS = 10
# A stratum may name a core roster column or any extra attribute, but never `moderator_id` (every moderator has their
# own) or a reserved name no roster may carry (`pilots.roster.upload`): such a stratum could never be filled.
UNUSABLE_STRATA = frozenset({"moderator_id", *RESERVED_ATTRIBUTES})


ACRONYMS = frozenset({"ai", "api", "llm", "ml", "nlp", "ocr", "qa", "sop", "ui", "ux"})
"""Words an arm name abbreviates that people write in capitals ("AI assist", not "Ai assist")."""


def display_name_of(name: str) -> str:
    """The default display name of an arm: its name with `_` and `-` as spaces, first letter capitalized and common
    acronyms in capitals (`ai_assist` -> `AI assist`, `new_qa_rubric` -> `New QA rubric`); plans may give a better
    one. Stored with the plan when it is registered, so a change here never renames an existing pilot's arms."""
    words = [word.upper() if word in ACRONYMS else word for word in name.replace("_", " ").replace("-", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


class Arm(InputModel):
    """An arm of the pilot; the first arm of the plan is the control."""

    model_config = ConfigDict(strict=True)

    name: ArmName
    weight: Weight = 1
    display_name: Label | None = Field(
        default=None,
        description="What people read on the pages (e.g. 'AI suggestions'); defaults to the name with spaces.",
    )

    @model_validator(mode="after")
    def _default_display_name(self) -> Arm:
        if self.display_name is None:
            self.display_name = display_name_of(self.name)
        return self


class CriticalPolicy(InputModel):
    """A policy registered as a guardrail segment of a metric: within its audits the metric must not worsen by more
    than `margin` (absolute, or a fraction of the control value with `relative`). Locked at launch with the plan."""

    model_config = ConfigDict(strict=True)

    policy: Person = Field(
        description="The `policy` value of the audits, exactly as sent with the outcomes.",
        examples=["violent_extremism"],
    )
    margin: Margin = Field(description="The tolerated worsening within this policy (> 0).")
    relative: bool = Field(default=False, description="Whether the margin is a fraction of the control value.")


class MetricSpec(InputModel):
    """A catalog metric and its role. Guardrails carry a non-inferiority margin, absolute or relative."""

    model_config = ConfigDict(strict=True)

    name: MetricName = Field(description="One of the standard catalog: " + ", ".join(METRIC_NAMES) + ".")
    role: Role = "primary"
    margin: Margin | None = Field(default=None, description="Guardrails only: the tolerated worsening (> 0).")
    relative: bool = Field(default=False, description="Whether the margin is a fraction of the control value.")
    critical_policies: list[CriticalPolicy] = Field(
        default_factory=list,
        max_length=20,
        description="Pre-registered guardrail segments: policies where this metric must not worsen beyond their own "
        "margin; a breach makes the verdict no_go. Policy and queue effects are otherwise descriptive.",
    )


class Design(InputModel):
    """The sequential design, chosen and locked at registration."""

    model_config = ConfigDict(strict=True)

    method: Method = "group_sequential"
    alpha: float = Field(default=0.05, gt=0, le=0.5, description="Two-sided false-go rate.")
    power: float = Field(default=0.8, ge=0.5, lt=1)
    looks: int = Field(default=5, ge=1, le=20, description="Planned analyses (group_sequential).")
    spending: Spending = "obrien_fleming"
    min_days: int = Field(default=14, ge=1, le=365, description="No verdict before this many days of treatment.")
    futility: bool = Field(
        default=False,
        description=(
            "group_sequential only: add non-binding futility bounds (beta spending with the same spending family, "
            "beta = 1 - power) so a pilot stops early with no_go once the improvement it was sized for has become "
            "unlikely. Non-binding: the efficacy boundaries, and so the false-go rate, are unchanged; obeying them "
            "costs a few points of power (the pilot's plan reports how many)."
        ),
    )


class DesignPatch(InputModel):
    """A partial design: the given fields replace the stored ones."""

    model_config = ConfigDict(strict=True)

    method: Method | None = None
    alpha: float | None = Field(default=None, gt=0, le=0.5)
    power: float | None = Field(default=None, ge=0.5, lt=1)
    looks: int | None = Field(default=None, ge=1, le=20)
    spending: Spending | None = None
    min_days: int | None = Field(default=None, ge=1, le=365)
    futility: bool | None = None


class PilotBase(OutputModel):
    """The plan fields shared by what clients send and what the API returns."""

    name: Label
    kind: Kind
    hypothesis: Text = ""
    layer: LayerName | None = None
    unit: Unit = "moderator"
    arms: list[Arm] = Field(min_length=2, max_length=MAX_ARMS, description="Control first; 2 to 10 arms.")
    strata: list[AttributeName] = Field(default_factory=list, max_length=5)
    metrics: list[MetricSpec] = Field(min_length=1, max_length=10)
    design: Design = Field(default_factory=Design)
    start_date: PlanDate = Field(description="The day treatment begins (may be in the past).")
    end_date: PlanDate = Field(
        description=f"The planned last day of the pilot: at most {MAX_PILOT_DAYS} days ({MAX_WEEKS} weeks) from "
        "start_date to end_date, both included."
    )
    pre_period_start: PlanDate | None = Field(
        default=None,
        description=f"First day of the pre-period baseline: before start_date, at most {MAX_PILOT_DAYS} days before.",
    )


class PilotCreate(PilotBase, InputModel):
    """The body of `POST /pilots`. Cross-field rules are checked here, once, for create and edit alike."""

    model_config = ConfigDict(strict=True, json_schema_extra={"examples": [examples.PILOT_CREATE]})

    owner: Person | None = Field(
        default=None, description="The creating user; only an admin may name another user (a pm or admin)."
    )
    arms: list[Arm] = Field(
        default_factory=lambda: [Arm(name="control"), Arm(name="treatment")],
        min_length=2,
        max_length=MAX_ARMS,
        description="Control first; 2 to 10 arms. Defaults to control/treatment 1:1.",
    )
    seed: Seed | None = None

    @model_validator(mode="after")
    def _plan_rules(self) -> PilotCreate:
        errors = [
            *_arm_errors(self),
            *_metric_errors(self),
            *_strata_errors(self),
            *_date_errors(self),
            *_design_errors(self),
        ]
        if errors:
            raise rule_errors("PilotCreate", errors)
        return self


def _arm_errors(plan: PilotCreate) -> list:
    seen: set[str] = set()
    errors = []
    for index, arm in enumerate(plan.arms):
        if arm.name.lower() in seen:
            errors.append((("arms", index, "name"), f"arm name {arm.name!r} is used twice", arm.name))
        seen.add(arm.name.lower())
    return errors


def _metric_errors(plan: PilotCreate) -> list:
    errors = []
    seen: set[str] = set()
    for index, spec in enumerate(plan.metrics):
        if spec.name in seen:
            errors.append((("metrics", index, "name"), f"metric {spec.name!r} is listed twice", spec.name))
        seen.add(spec.name)
        if spec.role == "guardrail" and spec.margin is None:
            errors.append((("metrics", index, "margin"), "a guardrail needs a non-inferiority margin", None))
        if spec.role != "guardrail" and spec.margin is not None:
            errors.append((("metrics", index, "margin"), "only guardrail metrics take a margin", spec.margin))
        bounded = spec.relative or METRICS[spec.name].proportion
        if spec.margin is not None and bounded and spec.margin >= 1:
            what = "a relative margin" if spec.relative else f"an absolute margin on {spec.name} (a proportion)"
            errors.append((("metrics", index, "margin"), f"{what} must be below 1", spec.margin))
        policies: set[str] = set()
        for k, segment in enumerate(spec.critical_policies):
            where = ("metrics", index, "critical_policies", k)
            if segment.policy in policies:
                errors.append(((*where, "policy"), f"policy {segment.policy!r} is listed twice", segment.policy))
            policies.add(segment.policy)
            if (segment.relative or METRICS[spec.name].proportion) and segment.margin >= 1:
                errors.append(((*where, "margin"), "this margin must be below 1", segment.margin))
    if not any(spec.role == "primary" for spec in plan.metrics):
        errors.append((("metrics",), "at least one metric must have role 'primary'", None))
    return errors


def _strata_errors(plan: PilotCreate) -> list:
    errors = []
    seen: set[str] = set()
    for index, attribute in enumerate(plan.strata):
        if attribute in seen:
            errors.append((("strata", index), f"stratum {attribute!r} is listed twice", attribute))
        seen.add(attribute)
        if plan.unit == "team" and attribute == "team":
            errors.append((("strata", index), "a team-randomized pilot cannot stratify by team", attribute))
        if attribute in UNUSABLE_STRATA:
            errors.append((("strata", index), f"{attribute!r} is not a roster attribute a unit can share", attribute))
    return errors


def _date_errors(plan: PilotCreate) -> list:
    errors = []
    if plan.end_date <= plan.start_date:
        errors.append((("end_date",), "must be after start_date", plan.end_date.isoformat()))
    elif (plan.end_date - plan.start_date).days < plan.design.min_days:
        days = (plan.end_date - plan.start_date).days
        errors.append((("end_date",), f"leaves {days} days, fewer than design.min_days ({plan.design.min_days})", None))
    errors += horizon_errors(plan)
    if plan.pre_period_start is not None and plan.pre_period_start >= plan.start_date:
        errors.append((("pre_period_start",), "must be before start_date", plan.pre_period_start.isoformat()))
    return errors


def _design_errors(plan: PilotCreate) -> list:
    if plan.design.futility and plan.design.method != "group_sequential":
        return [(("design", "futility"), "futility bounds need method 'group_sequential'", True)]
    return []


class PilotUpdate(InputModel):
    """The body of `PATCH /pilots/{id}` (draft pilots only): a merge patch. Given fields replace the stored ones
    (`design` is merged field by field); the result must satisfy every rule of PilotCreate."""

    model_config = ConfigDict(strict=True, json_schema_extra={"examples": [examples.PILOT_UPDATE]})

    name: Label | None = None
    kind: Kind | None = None
    hypothesis: Text | None = None
    owner: Person | None = None
    layer: LayerName | None = None
    unit: Unit | None = None
    arms: list[Arm] | None = Field(default=None, min_length=2, max_length=MAX_ARMS)
    strata: list[AttributeName] | None = Field(default=None, max_length=5)
    seed: Seed | None = None
    metrics: list[MetricSpec] | None = Field(default=None, min_length=1, max_length=10)
    design: DesignPatch | None = None
    start_date: PlanDate | None = None
    end_date: PlanDate | None = None
    pre_period_start: PlanDate | None = None


class PilotPublic(PilotBase):
    """A pilot as the API returns it: the plan, its lifecycle state and cheap counts."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: int
    owner: str
    collaborators: list[str] = Field(description="Users who may change the pilot as its owner does.")
    seed: int | None = Field(
        description="The randomization seed: drawn at launch (null before, unless an admin set it)."
    )
    status: Status
    plan_hash: str | None = Field(description="SHA-256 of the canonical plan, set at launch.")
    data_version: int
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None = Field(description="The randomization time (UTC); simulated pilots chose it.")
    concluded_at: datetime | None
    outcomes_purged_at: datetime | None = Field(
        description="When the retention policy deleted the raw audits (rollups, results and the decision stay)."
    )
    simulated: bool = Field(
        default=False, description="Launched in simulation mode with a randomization time in the past."
    )
    registered_start_date: date | None = Field(
        default=None, description="The start date as registered, when launch moved a past start date to the launch day."
    )
    roster_size: int = Field(description="Moderators on the roster.")
    assigned_units: int = Field(description="Distinct randomized units (moderators or teams).")
    decision: DecisionPublic | None = Field(
        default=None, description="The decision record (concluded pilots; null for those concluded without one)."
    )


class PilotPage(OutputModel):
    """One page of pilots, newest first."""

    items: list[PilotPublic]
    total: int
    limit: int
    offset: int


class PilotListQuery(InputModel):
    """Query parameters of `GET /pilots`."""

    status: Status | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class EventPublic(OutputModel):
    """One entry of a pilot's audit trail."""

    id: int
    at: datetime
    actor: str
    action: str
    pilot_id: int | None
    details: dict


class EventList(OutputModel):
    items: list[EventPublic]


class LaunchRequest(InputModel):
    """The optional body of `POST /pilots/{id}/launch`."""

    model_config = ConfigDict(strict=True, json_schema_extra={"examples": [{}]})

    launched_at: AwareDatetime | None = Field(
        default=None,
        description=(
            "Simulation mode only (the service runs with PILOTLAB_SIMULATION=1): an ISO 8601 time in the past, with a "
            "time zone, recorded as the randomization time; the pilot is marked simulated. Refused (422) otherwise."
        ),
    )


Decision = Literal["roll_out", "do_not_roll_out", "stopped"]
DECISIONS: tuple[str, ...] = ("roll_out", "do_not_roll_out", "stopped")


class ConcludeRequest(InputModel):
    """The body of `POST /pilots/{id}/conclude`: the decision record (required, as on the page's form) and a note for
    the audit trail.

    `rationale` is required when the decision differs from the engine's recommendation at that moment (`roll_out`
    without a `go`, `do_not_roll_out` without a `no_go`) and for `stopped`; that rule needs the recommendation, so it
    is checked by the service (`pilots.decisions`), not here.
    """

    model_config = ConfigDict(strict=True, json_schema_extra={"examples": [examples.CONCLUDE]})

    decision: Decision = Field(
        description="What was decided: roll_out, do_not_roll_out, or stopped (for another reason).",
    )
    rationale: Text | None = Field(
        default=None,
        description="Why; required when the decision differs from the engine's recommendation, and for `stopped`.",
    )
    note: Text | None = Field(default=None, description="Why the pilot ends now (recorded in the audit trail).")


class DecisionPublic(OutputModel):
    """The decision record of a concluded pilot."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    decision: Decision
    rationale: str = Field(description="Why (may be empty when the decision follows the recommendation).")
    by: str = Field(description="Who recorded the decision.")
    at: datetime
    recommendation: str | None = Field(
        description="The engine's recommendation when the decision was recorded (go, no_go, continue, invalid), "
        "or null when no results could be computed then."
    )
    provisional: bool | None = Field(description="Whether that recommendation was still provisional.")
