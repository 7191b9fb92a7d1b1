"""Users: creation, role changes, password resets and deactivation, each validated and recorded in the audit trail.

Passwords are hashed with scrypt (Werkzeug's default). The functions take a session and never commit: the caller's
unit of work commits the change together with its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select
from werkzeug.security import generate_password_hash

from pilots import events
from pilots.accounts.roles import ROLES
from pilots.accounts.sessions import end_user_sessions
from pilots.accounts.tokens import revoke_tokens
from pilots.errors import Conflict, NotFound, ValidationFailed, problem
from pilots.models import ApiToken, User, UserSession

MIN_PASSWORD = 8
MAX_PASSWORD = 200


@dataclass(frozen=True)
class UserSummary:
    """A row of the users list: the user, their live tokens and their latest sign-in."""

    id: int
    name: str
    role: str
    active: bool
    created_at: datetime
    live_tokens: int
    last_sign_in: datetime | None


def _password_problems(password: str | None) -> list[dict]:
    if password is None:
        return []
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return [problem("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")]
    return []


def _role_problems(role: str) -> list[dict]:
    return [] if role in ROLES else [problem("role", f"must be one of {', '.join(ROLES)}")]


def create_user(session: Session, name: str, role: str, password: str | None = None, actor: str | None = None) -> User:
    """Add a user (the caller commits). Names are unique; roles come from ROLES.

    With an `actor`, the creation is recorded in the audit trail.
    """
    problems = []
    if not name or not name.strip() or len(name) > 100 or name != name.strip():
        problems.append(problem("name", "must be 1 to 100 characters, without leading or trailing spaces"))
    problems += _role_problems(role) + _password_problems(password)
    if problems:
        raise ValidationFailed("The user could not be created.", problems)
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise Conflict(f"A user named {name!r} already exists.", {"name": name})
    user = User(name=name, role=role, password_hash=generate_password_hash(password) if password else None)
    session.add(user)
    session.flush()
    if actor is not None:
        events.record(session, actor, "user.created", name=name, role=role)
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user {user_id}.")
    return user


def user_by_name(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"There is no user named {name!r}.")
    return user


def list_users(session: Session) -> list[UserSummary]:
    """Every user, active first then by name, with their live-token count and latest sign-in."""
    live = (
        select(ApiToken.user_id, func.count().label("n"))
        .where(ApiToken.revoked_at.is_(None))
        .group_by(ApiToken.user_id)
        .subquery()
    )
    signed_in = (
        select(UserSession.user_id, func.max(UserSession.created_at).label("at"))
        .group_by(UserSession.user_id)
        .subquery()
    )
    rows = session.exec(
        select(User, live.c.n, signed_in.c.at)
        .outerjoin(live, live.c.user_id == User.id)
        .outerjoin(signed_in, signed_in.c.user_id == User.id)
        .order_by(User.active.desc(), User.name)
    ).all()
    return [
        UserSummary(user.id, user.name, user.role, user.active, user.created_at, tokens or 0, last)
        for user, tokens, last in rows
    ]


def _other_active_admins(session: Session, user: User) -> int:
    return session.exec(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True), User.id != user.id)
    ).one()


def change_role(session: Session, user: User, role: str, actor: str) -> None:
    """Give `user` a new role. The last active admin cannot be demoted (nobody could manage users any more)."""
    if problems := _role_problems(role):
        raise ValidationFailed("The role could not be changed.", problems)
    if role == user.role:
        return
    if user.role == "admin" and user.active and _other_active_admins(session, user) == 0:
        raise Conflict(f"{user.name!r} is the last active admin; make someone else an admin first.")
    events.record(session, actor, "user.role_changed", name=user.name, before=user.role, after=role)
    user.role = role


def reset_password(session: Session, user: User, password: str, actor: str) -> None:
    """Set a new sign-in password and end the user's signed-in sessions (their tokens stay valid)."""
    if problems := _password_problems(password):
        raise ValidationFailed("The password could not be set.", problems)
    user.password_hash = generate_password_hash(password)
    ended = end_user_sessions(session, user.id)
    events.record(session, actor, "user.password_reset", name=user.name, sessions_ended=ended)


def deactivate(session: Session, user: User, actor: str) -> None:
    """Deactivate `user`: they can no longer sign in, every session ends and every token is revoked.

    The last active admin cannot be deactivated.
    """
    if not user.active:
        return
    if user.role == "admin" and _other_active_admins(session, user) == 0:
        raise Conflict(f"{user.name!r} is the last active admin; make someone else an admin first.")
    user.active = False
    revoked = revoke_tokens(session, user)
    ended = end_user_sessions(session, user.id)
    events.record(session, actor, "user.deactivated", name=user.name, tokens_revoked=revoked, sessions_ended=ended)
