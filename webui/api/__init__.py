"""The JSON API under /api/v1: bearer-token authentication, role checks, JSON errors, OpenAPI document.

Route modules attach their views to `bp` and declare request/response models through `spec` (spectree), so the
OpenAPI document at /api/v1/openapi.json is generated from the same models that validate requests.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from webui.api.auth import authenticate_request
from webui.api.errors import register_error_handlers
from webui.api.openapi import spec

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate_request)


def init_app(app: Flask) -> None:
    """Import the route modules (which attach to `bp`) and register the blueprint."""
    from webui.api import (
        collaborators,  # noqa: F401
        meta,  # noqa: F401
        outcomes,  # noqa: F401
        pilots,  # noqa: F401
        plan,  # noqa: F401
        results,  # noqa: F401
        roster,  # noqa: F401
        tokens,  # noqa: F401
    )

    app.register_blueprint(bp)
    register_error_handlers(app)
    spec.app = app


__all__ = ["bp", "init_app", "spec"]
