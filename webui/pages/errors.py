"""Friendly HTML error pages for the site (API paths get JSON from webui.api.errors, which calls into here)."""

from __future__ import annotations

from flask import render_template
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("That request did not make sense", "Something in the address or the form was not what we expected."),
    403: ("You do not have access to this", "Your role does not allow this. Ask a PilotLab admin if you need it."),
    404: ("Page not found", "The page or pilot you asked for does not exist (or no longer does)."),
    405: ("That action is not allowed here", "This page does not accept that kind of request."),
    500: (
        "Something went wrong on our side",
        "Nothing was changed. Try again in a minute; if it keeps happening, tell the PilotLab team.",
    ),
}


def error_page(error: HTTPException | None, status: int | None = None):
    """Render the site's error page for an HTTP error (or a bare status for unexpected exceptions)."""
    code = status or (error.code if error is not None and error.code else 500)
    title, default = MESSAGES.get(code, (error.name if error is not None else "Error", ""))
    detail = default
    if error is not None and code < 500 and error.description and error.description != type(error).description:
        # A description a view chose on purpose (e.g. "as_of must be a date like 2025-03-14") helps; stock ones don't.
        detail = error.description
    return render_template("pages/error.html", code=code, title=title, detail=detail), code
