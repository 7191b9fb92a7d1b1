"""The pilot registry: create, list, read, edit (drafts only), launch, conclude, and each pilot's audit trail."""

from __future__ import annotations

from datetime import UTC

from flask import current_app, g, jsonify, request, url_for

from pilots import access, lifecycle
from pilots.errors import ValidationFailed, problem
from pilots.schemas import (
    ConcludeRequest,
    EventList,
    EventPublic,
    LaunchRequest,
    PilotCreate,
    PilotListQuery,
    PilotPage,
    PilotPublic,
    PilotUpdate,
)
from webui.api import bp
from webui.api.access import require_pilot_change
from webui.api.auth import actor, require
from webui.api.inputs import json_body, query_args
from webui.api.openapi import responses, spec
from webui.database import get_session

TAGS = ["pilots"]
PILOT_ID = {"pilot_id": "The pilot's id."}


def _one(pilot) -> dict:
    return lifecycle.to_public(get_session(), [pilot])[0].model_dump(mode="json")


@bp.post("/pilots")
@spec.validate(
    json=PilotCreate,
    resp=responses(201, PilotPublic, 415, 422),
    tags=TAGS,
    skip_validation=True,
    operation_id="createPilot",
)
@require("write")
def create_pilot():
    """Register a pilot (status draft).

    Omitted fields take defaults: arms control/treatment 1:1, group-sequential design with alpha 0.05, power 0.8,
    5 looks, O'Brien-Fleming spending and 14 minimum days. The owner is the caller and the randomization seed is
    drawn at launch: only an admin may set `owner` or `seed` (403 naming the field otherwise).
    """
    data = json_body(PilotCreate)
    access.ensure_may_set(data.model_fields_set, g.user)
    pilot = lifecycle.create_pilot(get_session(), data, actor())
    response = jsonify(_one(pilot))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_pilot", pilot_id=pilot.id)
    return response


@bp.get("/pilots")
@spec.validate(
    query=PilotListQuery,
    resp=responses(200, PilotPage, 422),
    tags=TAGS,
    skip_validation=True,
    operation_id="listPilots",
)
@require("read")
def list_pilots():
    """List pilots, newest first, optionally filtered by status."""
    query = query_args(PilotListQuery)
    session = get_session()
    pilots, total = lifecycle.list_pilots(session, query.status, query.limit, query.offset)
    page = PilotPage(items=lifecycle.to_public(session, pilots), total=total, limit=query.limit, offset=query.offset)
    return jsonify(page.model_dump(mode="json"))


@bp.get("/pilots/<int:pilot_id>")
@spec.validate(
    resp=responses(200, PilotPublic, 404), tags=TAGS, path_parameter_descriptions=PILOT_ID, operation_id="getPilot"
)
@require("read")
def get_pilot(pilot_id: int):
    """One pilot: its plan, status, plan hash and counts."""
    return jsonify(_one(lifecycle.get_pilot(get_session(), pilot_id)))


@bp.patch("/pilots/<int:pilot_id>")
@spec.validate(
    json=PilotUpdate,
    resp=responses(200, PilotPublic, 404, 409, 415, 422),
    tags=TAGS,
    path_parameter_descriptions=PILOT_ID,
    skip_validation=True,
    operation_id="updatePilot",
)
@require_pilot_change
def update_pilot(pilot_id: int):
    """Edit a draft pilot (a merge patch; `design` merges field by field). 409 once the plan is locked at launch.
    Only its owner, collaborators and admins may edit it; only an admin may change `owner` or `seed`."""
    patch = json_body(PilotUpdate)
    access.ensure_may_set(patch.model_fields_set, g.user)
    pilot = lifecycle.update_pilot(get_session(), pilot_id, patch, actor())
    return jsonify(_one(pilot))


@bp.post("/pilots/<int:pilot_id>/launch")
@spec.validate(
    json=LaunchRequest,
    resp=responses(200, PilotPublic, 404, 409, 415, 422),
    tags=TAGS,
    path_parameter_descriptions=PILOT_ID,
    skip_validation=True,
    operation_id="launchPilot",
)
@require_pilot_change
def launch_pilot(pilot_id: int):
    """Randomize the roster and lock the plan; the pilot becomes running. A start date already past moves to the
    launch day (recorded in the audit trail). 409 on a second launch or a layer conflict, 422 when the roster is empty
    or lacks a stratum attribute. The body is optional; `launched_at` only in simulation mode."""
    body = json_body(LaunchRequest, optional=True)
    launched_at = None
    if body.launched_at is not None:
        if not current_app.config.get("SIMULATION"):
            raise ValidationFailed(
                "launched_at is accepted only in simulation mode (PILOTLAB_SIMULATION=1).",
                [problem("launched_at", "is accepted only when the service runs in simulation mode")],
            )
        launched_at = body.launched_at.astimezone(UTC)
    return jsonify(_one(lifecycle.launch_pilot(get_session(), pilot_id, actor(), launched_at)))


@bp.post("/pilots/<int:pilot_id>/conclude")
@spec.validate(
    json=ConcludeRequest,
    resp=responses(200, PilotPublic, 404, 409, 415, 422),
    tags=TAGS,
    path_parameter_descriptions=PILOT_ID,
    skip_validation=True,
    operation_id="concludePilot",
)
@require_pilot_change
def conclude_pilot(pilot_id: int):
    """End a running pilot (409 otherwise), with its decision record.

    The body is `{"decision": "roll_out" | "do_not_roll_out" | "stopped", "rationale": "...", "note": "..."}`;
    `decision` is required (422 naming it), as on the page's form. The engine's recommendation at this moment is
    stored with the decision; a decision that differs from it, or `stopped`, needs a rationale (422 naming
    `rationale`). The note goes to the audit trail.
    """
    if not request.get_data(cache=True).strip():
        raise ValidationFailed(
            "Concluding a pilot records its decision.",
            [problem("decision", "is required: roll_out, do_not_roll_out or stopped")],
        )
    body = json_body(ConcludeRequest)
    pilot = lifecycle.conclude_pilot(
        get_session(), pilot_id, actor(), body.note, decision=body.decision, rationale=body.rationale
    )
    return jsonify(_one(pilot))


@bp.get("/pilots/<int:pilot_id>/events")
@spec.validate(
    resp=responses(200, EventList, 404), tags=TAGS, path_parameter_descriptions=PILOT_ID, operation_id="listPilotEvents"
)
@require("read")
def pilot_events(pilot_id: int):
    """The pilot's audit trail, oldest first: who created, edited, launched and concluded it, and when."""
    items = [EventPublic.model_validate(e) for e in lifecycle.pilot_events(get_session(), pilot_id)]
    return jsonify(EventList(items=items).model_dump(mode="json"))
