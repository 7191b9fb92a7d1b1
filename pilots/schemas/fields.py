"""Constrained field types for pilot plans: safe names, bounded integers, ISO dates.

Every string that reaches the database is checked for control characters (PostgreSQL rejects NUL bytes in text) and
every integer has bounds, so no input can turn into a database error instead of a 422.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints

RESERVED_ATTRIBUTES = frozenset(
    {"id", "pilot_id", "late_joiner", "added_at", "arm", "stratum", "unit_id", "sequence"}
)  # names of stored columns, refused as roster attributes
MAX_SEED = 2**53 - 1  # the largest integer every JSON client represents exactly
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _single_line(value: str) -> str:
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValueError("must be a single line")
    return value


def _iso_date(value: Any) -> Any:
    # Only YYYY-MM-DD (or a date): pydantic would otherwise coerce timestamps and numbers into dates.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


# The same rules as JSON Schema patterns, for the OpenAPI document only (the validators above give the messages): API
# clients and fuzzers then know what the server accepts. A single-line name has no control character at all and,
# as surrounding whitespace is stripped, at least one other character.
_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$"

Text = Annotated[
    str,
    StringConstraints(max_length=5000),
    AfterValidator(_no_control_characters),
    Field(json_schema_extra={"pattern": _TEXT_PATTERN}),
]
Label = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_no_control_characters),
    AfterValidator(_single_line),
    Field(json_schema_extra={"pattern": _NAME_PATTERN}),
]
Person = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(_no_control_characters),
    AfterValidator(_single_line),
    Field(json_schema_extra={"pattern": _NAME_PATTERN}),
]
ArmName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"),
    Field(description="Letters, digits, '_' and '-', starting with a letter; at most 40 characters."),
]
LayerName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"),
    Field(description="Mutual-exclusion group: a moderator is in at most one running pilot per layer."),
]
AttributeName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,49}$"),
    Field(
        description="A roster attribute: team, site, language, tenure_months or an extra attribute's name (never "
        "moderator_id or a reserved column name)."
    ),
]
Weight = Annotated[int, Field(ge=1, le=100, description="Relative allocation weight (positive integer).")]
Seed = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_SEED,
        description="Randomization seed. Drawn by the service at launch; only an admin may set one, to reproduce a "
        "recorded randomization.",
    ),
]
PlanDate = Annotated[date, Strict(False), BeforeValidator(_iso_date), Field(description="A calendar date, YYYY-MM-DD.")]
Margin = Annotated[float, Field(gt=0, le=1e9, description="Non-inferiority margin (> 0).")]
