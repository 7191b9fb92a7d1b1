"""Every API error is JSON: `{"error": {"code", "message", "details"}}`.

Handlers are registered on the app (not the blueprint) so that routing errors under /api/ (unknown URL, wrong
method) are JSON too; other paths get the site's HTML error pages.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from pilots.errors import PilotLabError, TooManyAttempts

API_PREFIX = "/api/"


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    return response


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(PilotLabError)
    def _domain_error(error: PilotLabError):
        _rollback()
        response = error_response(error.http_status, error.code, error.message, error.details)
        if isinstance(error, TooManyAttempts):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if not request.path.startswith(API_PREFIX):
            from webui.pages.errors import error_page

            return error_page(error)
        code = (error.name or "error").lower().replace(" ", "_")
        response = error_response(error.code or 500, code, error.description or error.name)
        if error.code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="pilotlab"'
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        _rollback()
        current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if request.path.startswith(API_PREFIX):
            return error_response(500, "internal_error", "Something went wrong on our side; nothing was changed.")
        from webui.pages.errors import error_page

        return error_page(None, 500)
