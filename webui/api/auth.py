"""Bearer-token authentication and role checks for the API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, request
from flask_login import current_user

from pilots import accounts
from pilots.models import User
from webui.database import get_session

# Routes that answer without a token (the API description itself).
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})


def authenticate_request() -> None:
    """Resolve `Authorization: Bearer <token>` to `g.user`; 401 when missing or unknown.

    Without an Authorization header, a GET from someone signed in to the site uses their session, so the pages can
    link to exports. Only reads: a session cookie never authorizes a change, which keeps CSRF out of the API.
    """
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    if not header and request.method in ("GET", "HEAD") and current_user.is_authenticated:
        g.user = get_session().get(User, current_user.id)
        return
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        abort(401, description="Send an API token as 'Authorization: Bearer <token>'.")
    user = accounts.user_for_token(get_session(), secret.strip())
    if user is None:
        abort(401, description="The API token is unknown or revoked.")
    g.user = user


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
