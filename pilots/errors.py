"""Domain errors. Each carries a stable code, a message a person can act on, and structured details.

The web layer turns them into `{"error": {"code", "message", "details"}}` with `http_status`; the CLI prints them.
"""

from __future__ import annotations

from typing import Any


class PilotLabError(Exception):
    """Base of every error the domain raises on purpose."""

    http_status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(PilotLabError):
    http_status = 404
    code = "not_found"


class Forbidden(PilotLabError):
    """The caller is signed in but may not do this to this object (not its owner or a collaborator, an admin-only
    field)."""

    http_status = 403
    code = "forbidden"


class Gone(PilotLabError):
    """The data existed but was deleted on purpose (the retention policy purged a concluded pilot's raw audits)."""

    http_status = 410
    code = "gone"


class Conflict(PilotLabError):
    """The request is valid but clashes with stored state (a second launch, an audit id stored with other content)."""

    http_status = 409
    code = "conflict"


class ValidationFailed(PilotLabError):
    """Input was rejected as a whole; `details` lists `{"row", "field", "message"}` (first 100 problems)."""

    http_status = 422
    code = "validation_failed"

    MAX_DETAILS = 100

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None, total: int | None = None) -> None:
        details = details or []
        self.total = total if total is not None else len(details)
        super().__init__(message, details[: self.MAX_DETAILS])


def problem(field: str, message: str, row: int | None = None) -> dict[str, Any]:
    """One entry of a ValidationFailed's details. `row` is 1-based over the submitted records (None for the body)."""
    return {"row": row, "field": field, "message": message}


class TooManyAttempts(PilotLabError):
    """Too many failed sign-ins or token lookups; `retry_after` says in how many seconds to try again."""

    http_status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed attempts. Try again in {retry_after} seconds.", {"retry_after": retry_after})
        self.retry_after = retry_after
