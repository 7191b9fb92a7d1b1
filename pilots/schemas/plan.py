"""A typed, read-only view of a stored pilot's plan, for code that analyses a pilot (results, balance, exports).

`plan_of(pilot)` re-validates the stored JSON columns through the same models that validated the request, so callers
get `Arm`, `MetricSpec` and `Design` objects and the catalog definitions instead of raw dicts.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from pilots.catalog import METRICS, MetricDefinition
from pilots.models import Pilot
from pilots.schemas.pilot import Arm, Design, MetricSpec


class PilotPlan(BaseModel):
    """The locked plan of a pilot. The first arm is the control."""

    model_config = ConfigDict(frozen=True)

    pilot_id: int | None
    unit: str
    arms: tuple[Arm, ...]
    strata: tuple[str, ...]
    seed: int | None
    metrics: tuple[MetricSpec, ...]
    design: Design
    start_date: date
    end_date: date
    pre_period_start: date | None
    layer: str | None

    @property
    def control(self) -> Arm:
        return self.arms[0]

    @property
    def treatments(self) -> tuple[Arm, ...]:
        return self.arms[1:]

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(arm.name for arm in self.arms)

    @property
    def weights(self) -> dict[str, int]:
        """Arm name -> integer allocation weight, in plan order."""
        return {arm.name: arm.weight for arm in self.arms}

    def metrics_with_role(self, role: str) -> tuple[MetricSpec, ...]:
        return tuple(spec for spec in self.metrics if spec.role == role)

    @property
    def primary(self) -> tuple[MetricSpec, ...]:
        return self.metrics_with_role("primary")

    @property
    def guardrails(self) -> tuple[MetricSpec, ...]:
        return self.metrics_with_role("guardrail")

    def definition(self, metric_name: str) -> MetricDefinition:
        """The catalog entry of one of the plan's metrics."""
        return METRICS[metric_name]


def plan_of(pilot: Pilot) -> PilotPlan:
    """The typed plan of a stored pilot."""
    return PilotPlan(
        pilot_id=pilot.id,
        unit=pilot.unit,
        arms=tuple(Arm.model_validate(arm, strict=False) for arm in pilot.arms),
        strata=tuple(pilot.strata),
        seed=pilot.seed,
        metrics=tuple(MetricSpec.model_validate(spec, strict=False) for spec in pilot.metrics),
        design=Design.model_validate(pilot.design, strict=False),
        start_date=pilot.start_date,
        end_date=pilot.end_date,
        pre_period_start=pilot.pre_period_start,
        layer=pilot.layer,
    )
