"""The API's own description and a whoami endpoint."""

from __future__ import annotations

from flask import g, jsonify

from webui.api import bp
from webui.api.openapi import spec


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3 document, generated from the models that validate requests."""
    return jsonify(spec.spec)


@bp.get("/me")
def whoami():
    """Who the token belongs to, and their role."""
    return jsonify({"name": g.user.name, "role": g.user.role})
