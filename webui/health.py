"""Health endpoints for operators and load balancers, unauthenticated and saying nothing beyond up or down.

`GET /healthz` (liveness): the process answers requests; it never touches the database, so a database outage does
not make an orchestrator restart healthy workers. `GET /readyz` (readiness): the database answers and its schema is
at the newest migration; 503 with `Retry-After` otherwise.
"""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify

from webui.database import schema_ready
from webui.outages import RETRY_AFTER_S

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: always 200 while the worker serves requests."""
    return _no_store(jsonify({"status": "ok"}), 200)


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when the database is reachable and migrated, else 503."""
    if schema_ready():
        return _no_store(jsonify({"status": "ready"}), 200)
    response = _no_store(jsonify({"status": "unavailable"}), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _no_store(response, status: int):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def register_health(app: Flask) -> None:
    app.register_blueprint(bp)
