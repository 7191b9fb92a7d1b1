"""The API's own description and a whoami endpoint."""

from __future__ import annotations

from flask import g, jsonify
from pydantic import BaseModel

from webui.api import bp
from webui.api.openapi import document, responses, spec


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document."""

    openapi: str
    info: dict
    paths: dict


class Me(BaseModel):
    name: str
    role: str


@bp.get("/openapi.json")
@spec.validate(
    resp=responses(200, OpenApiDocument, public=True),
    tags=["meta"],
    security={},
    skip_validation=True,
    operation_id="openapiDocument",
)
def openapi_document():
    """The OpenAPI 3 document of this API, generated from the models that validate requests (no token needed)."""
    return jsonify(document())


@bp.get("/me")
@spec.validate(resp=responses(200, Me), tags=["meta"], operation_id="whoami")
def whoami():
    """Who the token belongs to, and their role."""
    return jsonify({"name": g.user.name, "role": g.user.role})
