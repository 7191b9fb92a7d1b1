"""QA outcomes: ingest batches (JSON or CSV), export raw outcomes and per-unit aggregates (JSON or CSV, streamed).

Ingestion needs the `write` permission (admin, pm); the exports are moderator-level data and need `export`
(admin, pm, analyst; a viewer gets 403). Bodies are validated by `pilots.ingestion` (fast per-field checks rather
than a model per row); the models below document them in the OpenAPI description.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask import abort, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from pilots import ingestion, rollups
from pilots.errors import Gone, ValidationFailed, problem
from pilots.ingestion.export import outcomes_table
from pilots.lookup import get_pilot
from pilots.models import Pilot
from pilots.schemas import examples
from webui.api import bp
from webui.api.access import require_pilot_change
from webui.api.auth import actor, require
from webui.api.downloads import record_download
from webui.api.formats import IdentifiedExport, export_response
from webui.api.inputs import query_args
from webui.api.openapi import responses, spec
from webui.database import sessions

TAGS = ["outcomes"]
PILOT_ID = {"pilot_id": "The pilot's id."}
CSV_TYPES = ("text/csv", "application/csv")


class OutcomeRecord(BaseModel):
    """One QA audit. JSON types are strict: booleans are true/false, `handle_time_s` a number (not a string).

    A CSV body (`Content-Type: text/csv`) has a header row with these column names (any order; optional columns may
    be left out; the export-only columns day, period, ingested_at, unit_id, arm are ignored), booleans as
    true/false/1/0 and empty cells for absent values.
    """

    model_config = ConfigDict(extra="forbid")

    audit_id: str = Field(min_length=1, max_length=100, description="Unique within the pilot.")
    moderator_id: str = Field(min_length=1, max_length=100, description="An assigned moderator of the pilot.")
    audited_at: str = Field(
        description="ISO 8601 with a time zone. From the pre-period start (or start date) through the end date "
        "(UTC), at most 5 minutes in the future. Before the start date it is a pre-period (covariate) outcome."
    )
    correct: bool
    critical: bool | None = None
    handle_time_s: float | None = Field(default=None, ge=0, le=86_400, description="Finite, in seconds.")
    policy: str | None = Field(default=None, max_length=100)
    queue: str | None = Field(default=None, max_length=100)
    auditor_id: str | None = Field(default=None, max_length=100)
    item_id: str | None = Field(
        default=None,
        max_length=100,
        description="The content item audited. Two audits of one item by different auditors are a double audit "
        "(calibration).",
    )


class OutcomeBatch(BaseModel):
    """A batch of at most 50,000 audits, all-or-nothing. An empty list is accepted and changes nothing."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.OUTCOMES]})

    outcomes: list[OutcomeRecord] = Field(max_length=ingestion.MAX_ROWS_PER_REQUEST)


class IngestSummary(BaseModel):
    """`accepted`: audits newly stored. `duplicates`: audits already stored with identical content, or repeated
    identically within the batch (counted once)."""

    accepted: int
    duplicates: int


class OutcomeRow(OutcomeRecord):
    """An exported audit: the ingestion fields plus its UTC day, period (pre or pilot) and ingestion time."""

    day: date
    period: Literal["pre", "pilot"]
    ingested_at: str


class OutcomeExport(BaseModel):
    outcomes: list[OutcomeRow]


class UnitRow(BaseModel):
    """One moderator in one period: sums over its days (the sufficient statistics of the ratio metrics)."""

    unit_id: str | None
    moderator_id: str
    arm: str | None
    period: Literal["pre", "pilot"]
    audits: int
    correct: int
    critical_audits: int = Field(description="Audits with `critical` recorded (the denominator of critical rate).")
    critical: int
    handle_audits: int = Field(description="Audits with `handle_time_s` recorded.")
    handle_sum: float
    handle_sum2: float = Field(description="Sum of squared handle times.")
    days: int = Field(description="Days with at least one audit.")
    first_day: date
    last_day: date


class UnitExport(BaseModel):
    units: list[UnitRow]


class OutcomeQuery(IdentifiedExport):
    since: date | None = Field(default=None, description="First UTC day to include (YYYY-MM-DD).")
    until: date | None = Field(default=None, description="Last UTC day to include (YYYY-MM-DD).")


@bp.post("/pilots/<int:pilot_id>/outcomes")
@spec.validate(
    json=OutcomeBatch,
    resp=responses(200, IngestSummary, 400, 404, 409, 415, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="ingestOutcomes",
)
@require_pilot_change
def ingest_outcomes(pilot_id: int):
    """Ingest a batch of QA outcomes (JSON, or CSV with `Content-Type: text/csv`); all-or-nothing.

    Any invalid row rejects the batch with 422 listing `{row, field, message}` (first 100). An audit already stored
    with other content is a 409 naming it. Re-sending stored audits is safe: they count as duplicates. Only running
    pilots accept outcomes (draft: 409, launch first; concluded: 409).
    """
    mimetype = request.mimetype
    if mimetype == "application/json":
        result = ingestion.ingest_json_body(sessions(), pilot_id, request.get_data(), actor=actor())
    elif mimetype in CSV_TYPES:
        result = ingestion.ingest_csv_body(sessions(), pilot_id, request.get_data(), actor=actor())
    else:
        abort(415, description=f"Send application/json or text/csv, not {mimetype or 'no content type'!r}.")
    return jsonify({"accepted": result.accepted, "duplicates": result.duplicates})


@bp.get("/pilots/<int:pilot_id>/outcomes")
@spec.validate(
    query=OutcomeQuery,
    resp=responses(200, OutcomeExport, 400, 404, 410, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="exportOutcomes",
)
@require("export")
def export_outcomes(pilot_id: int):
    """The pilot's raw outcomes, ordered by audit id, streamed (CSV with `?format=csv` or `Accept: text/csv`)."""
    query = query_args(OutcomeQuery)
    if query.since and query.until and query.since > query.until:
        raise ValidationFailed("The date range is empty.", [problem("since", "must not be after until")])
    pilot = _pilot(pilot_id)
    if pilot.outcomes_purged_at is not None:
        raise Gone(
            f"The raw audits of pilot {pilot_id} were deleted on {pilot.outcomes_purged_at:%Y-%m-%d} under the "
            "retention policy; per-unit totals (/units) and results remain.",
            {"purged_at": pilot.outcomes_purged_at.isoformat()},
        )
    table = outcomes_table(sessions(), pilot_id, pilot.start_date, query.since, query.until)
    record_download("outcomes", pilot_id)
    return export_response(table, f"pilot-{pilot_id}-outcomes", pseudonymize_pilot=query.pilot_if_asked(pilot_id))


@bp.get("/pilots/<int:pilot_id>/units")
@spec.validate(
    query=IdentifiedExport,
    resp=responses(200, UnitExport, 400, 404, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="exportUnits",
)
@require("export")
def export_units(pilot_id: int):
    """Per-unit aggregates: one row per moderator and period (pre, pilot), from the daily rollups, streamed."""
    query = query_args(IdentifiedExport)
    pilot = _pilot(pilot_id)
    record_download("units", pilot_id)
    table = rollups.units_table(sessions(), pilot_id, pilot.start_date)
    return export_response(table, f"pilot-{pilot_id}-units", pseudonymize_pilot=query.pilot_if_asked(pilot_id))


def _pilot(pilot_id: int) -> Pilot:
    # Its own short session: the export streams from fresh sessions too, so both see the same committed state.
    with sessions()() as session:
        return get_pilot(session, pilot_id)
