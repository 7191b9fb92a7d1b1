"""Object-level checks for page routes: the same rule as the API (`pilots.access`), with the signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from pilots import access
from pilots.errors import Forbidden
from webui.database import get_session


def pilot_change_required(view: Callable) -> Callable:
    """Decorate a page view on `/pilots/<pilot_id>/...` that changes the pilot (edit, roster, launch, uploads,
    conclude): only its owner, a collaborator or an admin gets through; 403 page otherwise, 404 for no such pilot."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            access.ensure_may_change(get_session(), kwargs["pilot_id"], current_user)
        except Forbidden as error:
            abort(403, description=error.message)
        return view(*args, **kwargs)

    wrapped.changes_pilot = True  # read by the route x role x ownership test
    return wrapped


def may_change(pilot) -> bool:
    """Whether the signed-in user may change `pilot`: templates use it to show only the actions they can take."""
    return current_user.is_authenticated and access.may_change(get_session(), pilot, current_user)
