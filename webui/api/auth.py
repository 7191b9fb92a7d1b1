"""Bearer-token authentication, token scope and role checks for the API.

Failed token lookups are counted per address (429 with `Retry-After` once there are too many); a token's last use
is recorded at most once a minute; a token scoped to a pilot may only `POST` that pilot's outcomes (403 elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, request
from flask_login import current_user

from pilots import accounts
from pilots.accounts import access
from pilots.accounts import tokens as api_tokens
from pilots.db import unit_of_work
from pilots.models import ApiToken, User
from webui.database import get_session, sessions
from webui.security import client_address, limits

# Routes that answer without a token (the API description itself).
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})
# The one route a token scoped to a pilot may call, for that pilot.
SCOPED_ENDPOINT = ("POST", "api.ingest_outcomes")


def authenticate_request() -> None:
    """Resolve `Authorization: Bearer <token>` to `g.user`; 401 when missing, unknown, expired or revoked.

    Without an Authorization header, a GET from someone signed in to the site uses their session, so the pages can
    link to exports. Only reads: a session cookie never authorizes a change, which keeps CSRF out of the API.
    """
    g.token = None
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    if not header and request.method in ("GET", "HEAD") and current_user.is_authenticated:
        g.user = get_session().get(User, current_user.id)
        return
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        abort(401, description="Send an API token as 'Authorization: Bearer <token>'.")
    found = access.bearer(get_session(), secret.strip(), client_address(), limits())
    if found is None:
        with unit_of_work(sessions()) as work:
            access.record_bearer_failure(work, client_address(), limits())
        abort(401, description="The API token is unknown, expired or revoked.")
    if not _in_scope(found.token):
        abort(403, description=f"This token may only send outcomes to pilot {found.token.pilot_id}.")
    if api_tokens.needs_touch(found.token):
        with unit_of_work(sessions()) as work:
            api_tokens.touch(work, found.token.id)
    g.user, g.token = found.user, found.token


def _in_scope(token: ApiToken) -> bool:
    if token.pilot_id is None:
        return True
    return (request.method, request.endpoint) == SCOPED_ENDPOINT and (request.view_args or {}).get(
        "pilot_id"
    ) == token.pilot_id


def require(permission: str) -> Callable:
    """Decorate a view so only roles holding `permission` may call it (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not accounts.can(g.user.role, permission):
                abort(403, description=f"The {g.user.role} role may not do this (needs '{permission}' permission).")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def actor() -> str:
    """The name recorded in the audit trail for the current request."""
    return g.user.name
