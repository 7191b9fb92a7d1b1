"""Building blocks shared by the API data models: a strict base model, named cross-field errors, the error envelope.

Input models forbid unknown fields and non-finite numbers, so a typo or `NaN` is a 422 naming the field rather than
something silently ignored or stored. Cross-field rules raise `rule_errors`, which pydantic merges into one
ValidationError with each problem at its own location, so one 422 lists every problem with a dotted field path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from pilots.errors import problem


class InputModel(BaseModel):
    """Base of every request body and query model."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class OutputModel(BaseModel):
    """Base of every response model (built from ORM rows by attribute)."""

    model_config = ConfigDict(from_attributes=True)


def rule_errors(title: str, errors: Sequence[tuple[tuple[str | int, ...], str, Any]]) -> ValidationError:
    """A ValidationError for cross-field rules: each entry is `(location, message, offending value)`."""
    return ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(type=PydanticCustomError("plan_rule", message), loc=loc, input=value)
            for loc, message, value in errors
        ],
    )


def field_path(loc: Sequence[str | int]) -> str:
    """`("arms", 1, "weight")` -> `"arms.1.weight"`; the body itself is `"body"`."""
    return ".".join(str(part) for part in loc) or "body"


def problems_from(error: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors as `{row: None, field, message}` details (the ValidationFailed shape)."""
    details = []
    for item in error.errors(include_url=False):
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "is not a known field"
        elif item["type"] == "missing":
            message = "is required"
        elif item["type"] == "value_error" and "error" in item.get("ctx", {}):
            message = str(item["ctx"]["error"])
        details.append(problem(field_path(item["loc"]), message))
    return details


class ErrorDetail(BaseModel):
    """One problem: which record (1-based, null for the body), which field, what is wrong."""

    row: int | None = None
    field: str | None = None
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. validation_failed, conflict, not_found.")
    message: str = Field(description="What went wrong, in words a person can act on.")
    details: Any = Field(default=None, description="For validation_failed: a list of ErrorDetail objects.")


class ErrorEnvelope(BaseModel):
    """Every API error: `{"error": {"code", "message", "details"}}`."""

    error: ErrorBody
