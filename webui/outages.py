"""A database outage answers 503 with `Retry-After`: a JSON problem on the API, an HTML page on the site.

Anything the database layer reports as operational (connection refused or lost, PostgreSQL's statement timeout,
SQLite's "database is locked" after the busy timeout; from SQLAlchemy or, under raw-cursor work such as COPY, from
the driver itself) or a wait for a pooled connection that timed out is an outage of the database, not a bug of the
request: the client may retry, and nothing was changed (the request's transaction is rolled back). Engine timeouts
(`webui.database`) make sure the answer comes within seconds rather than hanging.
"""

from __future__ import annotations

import sqlite3

import psycopg
from flask import Flask, current_app, g, request, url_for
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

RETRY_AFTER_S = 5
MESSAGE = "The database is unavailable right now; nothing was changed. Try again in a few seconds."


def register_outage_handlers(app: Flask) -> None:
    @app.errorhandler(PoolTimeout)
    @app.errorhandler(OperationalError)
    @app.errorhandler(psycopg.OperationalError)  # raw-cursor work (COPY) raises the driver's own errors
    @app.errorhandler(sqlite3.OperationalError)
    def _database_error(error: Exception):
        session = g.get("db_session")
        if session is not None:
            try:
                session.rollback()
            except Exception:
                current_app.logger.debug("Rollback after a database outage failed", exc_info=True)
        current_app.logger.warning("Database unavailable on %s %s: %s", request.method, request.path, error)
        return outage_response()


def outage_response():
    """The 503 answer: JSON problem under /api/, the site's error page elsewhere, with `Retry-After` either way."""
    from webui.api.errors import API_PREFIX, error_response

    if request.path.startswith(API_PREFIX):
        response = error_response(503, "database_unavailable", MESSAGE)
    else:
        # Rendered without the context processors: Flask-Login's would ask the database who is signed in.
        template = current_app.jinja_env.get_template("pages/unavailable.html")
        html = template.render(message=MESSAGE, request=request, url_for=url_for)
        response = current_app.response_class(html, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response
