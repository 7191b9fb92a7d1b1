"""Users, roles and API tokens.

Passwords are hashed with scrypt (Werkzeug's default); API tokens are 256-bit random secrets stored as SHA-256
digests, so a leaked database reveals neither.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from pilots.errors import Conflict, ValidationFailed, problem
from pilots.models import ApiToken, User
from pilots.models._time import utcnow

ROLES = ("admin", "pm", "analyst", "viewer")

# What each permission lets a role do. `write`: create, edit, launch, ingest, conclude. `export`: moderator-level
# data (roster, assignments, outcomes, per-unit aggregates). `read`: pilots, balance and results.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "export": frozenset({"admin", "pm", "analyst"}),
    "write": frozenset({"admin", "pm"}),
    "manage_users": frozenset({"admin"}),
}

TOKEN_PREFIX = "plt_"


def can(role: str, permission: str) -> bool:
    """Whether `role` holds `permission`."""
    return role in PERMISSIONS[permission]


def create_user(session: Session, name: str, role: str, password: str | None = None) -> User:
    """Add a user (the caller commits). Names are unique; roles come from ROLES."""
    problems = []
    if not name or not name.strip() or len(name) > 100:
        problems.append(problem("name", "must be 1 to 100 characters"))
    if role not in ROLES:
        problems.append(problem("role", f"must be one of {', '.join(ROLES)}"))
    if password is not None and len(password) < 8:
        problems.append(problem("password", "must be at least 8 characters"))
    if problems:
        raise ValidationFailed("The user could not be created.", problems)
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise Conflict(f"A user named {name!r} already exists.", {"name": name})
    user = User(name=name, role=role, password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, user: User, label: str = "") -> str:
    """Create an API token for `user` and return its secret; only the digest is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_digest(secret), label=label))
    session.flush()
    return secret


def user_for_token(session: Session, secret: str) -> User | None:
    """The active user a bearer token belongs to, or None for an unknown or revoked token."""
    row = session.exec(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _digest(secret), ApiToken.revoked_at.is_(None), User.active.is_(True))
    ).first()
    return row


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live token of `user`; returns how many."""
    tokens = session.exec(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoked_at = utcnow()
    return len(tokens)


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, or None."""
    user = session.exec(select(User).where(User.name == name, User.active.is_(True))).first()
    if user is None or not user.password_hash or not check_password_hash(user.password_hash, password):
        return None
    return user


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
