"""Rosters, assignments and the balance report of a pilot.

Uploading a roster needs `write` (admin, pm). The roster and the assignments are moderator-level data and need
`export` (admin, pm, analyst); the balance report is aggregate and needs only `read` (a viewer may see it). Bodies
are JSON or CSV (`Content-Type: text/csv`) and validated by `pilots.roster.upload`, which reports every bad row; the
models below document them in the OpenAPI description.
"""

from __future__ import annotations

from datetime import UTC
from typing import Literal

from flask import abort, current_app, jsonify, request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pilots import roster
from pilots.assignment.balance import balance_report, balance_table
from pilots.errors import ValidationFailed, problem
from pilots.lookup import get_pilot
from pilots.models import Assignment
from pilots.roster.upload import parse_upload
from pilots.schemas import examples
from webui.api import bp
from webui.api.access import require_pilot_change
from webui.api.auth import actor, require
from webui.api.downloads import record_download, requested_as_file
from webui.api.formats import ExportFormat, IdentifiedExport, export_response, named_json, wants_csv
from webui.api.inputs import query_args
from webui.api.openapi import responses, spec
from webui.database import get_session

TAGS = ["roster"]
PILOT_ID = {"pilot_id": "The pilot's id."}
CSV_TYPES = ("text/csv", "application/csv")


class RosterModerator(BaseModel):
    """One moderator. Keys besides these are extra attributes (names of letters, digits and `_`; values strings,
    numbers or booleans), stored and usable as strata. `baseline_accuracy` (a fraction in [0, 1]) and
    `tenure_months` are banded when used as strata: tenure <6, 6-12, 12-24, 24+; accuracy <0.80, 0.80-0.90,
    0.90-0.95, 0.95+.

    A CSV body has a header naming at least moderator_id, team, site, language and tenure_months (cells may be
    empty); other columns are extra attributes. Rows are numbered from 1 after the header.
    """

    model_config = ConfigDict(extra="allow")

    moderator_id: str = Field(
        min_length=1, max_length=100, description="Unique within the upload.", examples=["mod-0001"]
    )
    team: str | None = Field(default=None, max_length=100)
    site: str | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=50)
    tenure_months: float | None = Field(default=None, ge=0, le=1200)


class RosterUpload(BaseModel):
    """At most 50,000 moderators; any bad row rejects the whole upload (422 listing `{row, field, message}`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.ROSTER]})

    moderators: list[RosterModerator] = Field(min_length=1, max_length=50_000)


class RosterSaved(BaseModel):
    pilot_id: int
    moderators: int = Field(description="Moderators now on the roster.")


class AssignmentRow(BaseModel):
    """A moderator's arm. `unit_id` is the randomized unit (the moderator, or the team); `sequence` its position
    in the stratum's permuted-block sequence."""

    moderator_id: str
    team: str
    arm: str
    stratum: str
    unit_id: str
    sequence: int
    late_joiner: bool
    assigned_at: str


class LateJoinersAdded(BaseModel):
    """`added`: moderators assigned now. `unchanged`: moderators re-sent identically (their existing
    assignments are included, nothing was written for them)."""

    added: int
    unchanged: int
    assignments: list[AssignmentRow]


class AssignmentExport(BaseModel):
    assignments: list[AssignmentRow]


class RosterExport(BaseModel):
    moderators: list[RosterModerator]


class BalanceCounts(BaseModel):
    stratum: str
    units: dict[str, int]
    moderators: dict[str, int]


class BalanceSmd(BaseModel):
    attribute: str
    level: str | None = Field(description="The level of a categorical attribute; null for a numeric one.")
    arm: str
    reference: str
    smd: float | None = Field(description="Null when undefined (too few moderators or no spread).")
    n_arm: int
    n_reference: int
    flagged: bool = Field(description="|smd| >= smd_threshold.")


class BalanceDocument(BaseModel):
    """Counts per stratum x arm and standardized mean differences against the reference (first) arm. As CSV:
    the counts table (stratum, arm, units, moderators)."""

    pilot_id: int
    unit: Literal["moderator", "team"]
    arms: list[str]
    reference_arm: str
    totals: dict[str, dict[str, int]]
    strata: list[BalanceCounts]
    smd_threshold: float
    smd: list[BalanceSmd]


def _upload():
    mimetype = request.mimetype
    if mimetype in CSV_TYPES:
        return parse_upload(request.get_data(), "text/csv")
    if mimetype == "application/json":
        return parse_upload(request.get_data(), "application/json")
    abort(415, description=f"Send application/json or text/csv, not {mimetype or 'no content type'!r}.")


@bp.put("/pilots/<int:pilot_id>/roster")
@spec.validate(
    json=RosterUpload,
    resp=responses(200, RosterSaved, 404, 409, 415, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="replaceRoster",
)
@require_pilot_change
def replace_roster(pilot_id: int):
    """Replace a draft pilot's whole roster (JSON or CSV). Once the pilot runs this is a 409: add late joiners
    with POST instead."""
    get_pilot(get_session(), pilot_id)
    count = roster.replace_roster(get_session(), pilot_id, _upload(), actor())
    return jsonify({"pilot_id": pilot_id, "moderators": count})


class LateJoinQuery(BaseModel):
    """Query parameters of `POST /pilots/{id}/roster`."""

    model_config = ConfigDict(extra="forbid")

    joined_at: AwareDatetime | None = Field(
        default=None,
        description="Simulation mode only, simulated pilots only: when the late joiners joined (ISO 8601 with a "
        "time zone, between the launch and now). Their pilot data count from then.",
    )


@bp.post("/pilots/<int:pilot_id>/roster")
@spec.validate(
    query=LateJoinQuery,
    json=RosterUpload,
    resp=responses(201, LateJoinersAdded, 404, 409, 415, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="addLateJoiners",
)
@require_pilot_change
def add_late_joiners(pilot_id: int):
    """Add late joiners to a running pilot and assign them (201; 200 when every moderator was re-sent unchanged).

    Each new unit continues its stratum's block sequence; a late joiner to an already randomized team (team
    pilots) gets the team's arm. Re-sending a moderator with identical values is a no-op; with any value changed
    it is a 409 listing the fields. A moderator in another running pilot of the same layer is a 409.
    """
    get_pilot(get_session(), pilot_id)
    query = query_args(LateJoinQuery)
    joined_at = None
    if query.joined_at is not None:
        if not current_app.config.get("SIMULATION"):
            raise ValidationFailed(
                "joined_at is accepted only in simulation mode (PILOTLAB_SIMULATION=1).",
                [problem("joined_at", "is accepted only when the service runs in simulation mode")],
            )
        joined_at = query.joined_at.astimezone(UTC)
    result = roster.add_late_joiners(get_session(), pilot_id, _upload(), actor(), joined_at)
    assigned = result.added + result.unchanged
    team_of = roster.teams_of(get_session(), pilot_id, [a.moderator_id for a in assigned])
    body = {
        "added": len(result.added),
        "unchanged": len(result.unchanged),
        "assignments": [_assignment(a, team_of.get(a.moderator_id, "")) for a in assigned],
    }
    response = jsonify(body)
    response.status_code = 201 if result.added else 200
    return response


def _assignment(assignment: Assignment, team: str) -> dict:
    return {
        "moderator_id": assignment.moderator_id,
        "team": team,
        "arm": assignment.arm,
        "stratum": assignment.stratum,
        "unit_id": assignment.unit_id,
        "sequence": assignment.sequence,
        "late_joiner": assignment.late_joiner,
        "assigned_at": assignment.assigned_at.isoformat(),
    }


@bp.get("/pilots/<int:pilot_id>/roster")
@spec.validate(
    query=IdentifiedExport,
    resp=responses(200, RosterExport, 400, 404, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="getRoster",
)
@require("export")
def get_roster(pilot_id: int):
    """The roster by moderator id, streamed, in the upload's own format (JSON, or CSV with `?format=csv` or
    `Accept: text/csv`), so it can be edited and re-sent."""
    query = query_args(IdentifiedExport)
    get_pilot(get_session(), pilot_id)
    record_download("roster", pilot_id)
    table = roster.roster_table(get_session(), pilot_id)
    return export_response(table, f"pilot-{pilot_id}-roster", pseudonymize_pilot=query.pilot_if_asked(pilot_id))


@bp.get("/pilots/<int:pilot_id>/assignments")
@spec.validate(
    query=IdentifiedExport,
    resp=responses(200, AssignmentExport, 400, 404, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="getAssignments",
)
@require("export")
def get_assignments(pilot_id: int):
    """Every moderator's arm and stratum by moderator id, streamed (empty before launch)."""
    query = query_args(IdentifiedExport)
    get_pilot(get_session(), pilot_id)
    record_download("assignments", pilot_id)
    table = roster.assignment_table(get_session(), pilot_id)
    return export_response(table, f"pilot-{pilot_id}-assignments", pseudonymize_pilot=query.pilot_if_asked(pilot_id))


@bp.get("/pilots/<int:pilot_id>/balance")
@spec.validate(
    query=ExportFormat,
    resp=responses(200, BalanceDocument, 400, 404, 409, 422),
    tags=TAGS,
    skip_validation=True,
    path_parameter_descriptions=PILOT_ID,
    operation_id="getBalance",
)
@require("read")
def get_balance(pilot_id: int):
    """Balance of the randomization (409 before launch): counts per stratum x arm and standardized mean
    differences; as CSV the counts table."""
    query_args(ExportFormat)
    report = balance_report(get_session(), get_pilot(get_session(), pilot_id))
    if requested_as_file() or wants_csv():
        record_download("balance", pilot_id)
    if wants_csv():
        return export_response(balance_table(report), f"pilot-{pilot_id}-balance")
    return named_json(report.to_dict(), f"pilot-{pilot_id}-balance")
