"""API data models (pydantic): what the API accepts and returns, validated once, documented in the OpenAPI spec."""

from pilots.schemas.common import ErrorBody, ErrorDetail, ErrorEnvelope, field_path, problems_from
from pilots.schemas.pilot import (
    STATUSES,
    Arm,
    ConcludeRequest,
    CriticalPolicy,
    Design,
    DesignPatch,
    EventList,
    EventPublic,
    LaunchRequest,
    MetricSpec,
    PilotCreate,
    PilotListQuery,
    PilotPage,
    PilotPublic,
    PilotUpdate,
)
from pilots.schemas.plan import PilotPlan, plan_of

__all__ = [
    "STATUSES",
    "Arm",
    "ConcludeRequest",
    "CriticalPolicy",
    "Design",
    "DesignPatch",
    "ErrorBody",
    "ErrorDetail",
    "ErrorEnvelope",
    "EventList",
    "EventPublic",
    "LaunchRequest",
    "MetricSpec",
    "PilotCreate",
    "PilotListQuery",
    "PilotPage",
    "PilotPlan",
    "PilotPublic",
    "PilotUpdate",
    "field_path",
    "plan_of",
    "problems_from",
]
