"""What every page that changes something checks first: the permission (the API's roles, `pilots.accounts.can`),
the pilot, and how a domain error becomes a page (the app-wide handler answers domain errors as JSON for the API)."""

from __future__ import annotations

from typing import NoReturn

from flask import abort
from flask_login import current_user

from pilots.errors import NotFound, PilotLabError
from pilots.lookup import get_pilot
from pilots.models import Pilot
from webui.database import get_session


def require(permission: str) -> None:
    """403 unless the signed-in user's role holds `permission`."""
    if not current_user.can(permission):
        abort(403, description=f"The {current_user.role} role may not do this.")


def pilot_or_404(pilot_id: int) -> Pilot:
    try:
        return get_pilot(get_session(), pilot_id)
    except NotFound:
        abort(404)


def abort_for(error: PilotLabError) -> NoReturn:
    """The site's error page for a domain error no form can show (403 from an ownership rule, 404...)."""
    abort(error.http_status if error.http_status in (400, 403, 404, 409) else 400, description=error.message)


def actor() -> str:
    """The name the audit trail records for the signed-in user (as the API records a token's user)."""
    return current_user.name
