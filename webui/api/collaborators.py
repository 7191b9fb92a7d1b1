"""A pilot's collaborators: the users who may change it as its owner does."""

from __future__ import annotations

from flask import g, jsonify

from pilots import access
from pilots.lookup import get_pilot
from pilots.schemas.access import Collaborators, CollaboratorsUpdate
from webui.api import bp
from webui.api.auth import actor, require
from webui.api.inputs import json_body
from webui.api.openapi import responses, spec
from webui.database import get_session

TAGS = ["pilots"]
PILOT_ID = {"pilot_id": "The pilot's id."}


def _document(pilot_id: int) -> dict:
    session = get_session()
    pilot = get_pilot(session, pilot_id)
    users = access.collaborators(session, [pilot.id]).get(pilot.id, [])
    return Collaborators(owner=pilot.owner, users=users).model_dump(mode="json")


@bp.get("/pilots/<int:pilot_id>/collaborators")
@spec.validate(
    resp=responses(200, Collaborators, 404),
    tags=TAGS,
    path_parameter_descriptions=PILOT_ID,
    operation_id="getCollaborators",
)
@require("read")
def get_collaborators(pilot_id: int):
    """The pilot's owner and collaborators."""
    return jsonify(_document(pilot_id))


@bp.put("/pilots/<int:pilot_id>/collaborators")
@spec.validate(
    json=CollaboratorsUpdate,
    resp=responses(200, Collaborators, 404, 415, 422),
    tags=TAGS,
    path_parameter_descriptions=PILOT_ID,
    skip_validation=True,
    operation_id="setCollaborators",
)
@require("write")
def set_collaborators(pilot_id: int):
    """Replace the collaborators (owner or admin only; each must be an active pm or admin). Recorded in the audit
    trail with who was added and removed."""
    body = json_body(CollaboratorsUpdate)
    access.ensure_may_manage_collaborators(get_session(), pilot_id, g.user)
    access.set_collaborators(get_session(), pilot_id, body.users, actor())
    return jsonify(_document(pilot_id))
