"""Object-level checks for API routes: a pilot's owner, collaborators and admins change it (`pilots.access`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g

from pilots import access
from webui.api.auth import require
from webui.database import get_session


def require_pilot_change(view: Callable) -> Callable:
    """Decorate a view on `/pilots/<pilot_id>/...` that changes the pilot: the `write` role (403 otherwise), then
    ownership: the pilot's owner, a collaborator or an admin (403 otherwise; 404 for an unknown pilot)."""

    @require("write")
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        access.ensure_may_change(get_session(), kwargs["pilot_id"], g.user)
        return view(*args, **kwargs)

    wrapped.changes_pilot = True  # read by the route x role x ownership test
    return wrapped
