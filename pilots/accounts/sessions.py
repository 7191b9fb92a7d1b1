"""Signed-in browser sessions, kept on the server.

The cookie carries a random session id (256 bits); the `user_session` row holds its SHA-256. Each sign-in starts a
new row (so the id rotates), signing out ends it (a copied cookie stops working), and a session idle for longer
than the configured time is refused. Because the state is in the database, every worker agrees on it.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from pilots.accounts.tokens import TOUCH_INTERVAL, digest
from pilots.models import User, UserSession
from pilots.models._time import utcnow

DEFAULT_IDLE_MINUTES = 60


def start_session(session: Session, user: User, address: str) -> str:
    """Open a session for `user` and return its id (the caller commits and puts the id in the cookie)."""
    secret = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, secret_hash=digest(secret), address=address[:64]))
    session.flush()
    return secret


def load_session(session: Session, secret: str, idle: timedelta) -> tuple[User, UserSession] | None:
    """The active user and the session for `secret`, or None when it is unknown, ended or idle too long."""
    row = session.exec(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.secret_hash == digest(secret), UserSession.ended_at.is_(None), User.active.is_(True))
    ).first()
    if row is None or utcnow() - row[1].last_seen_at > idle:
        return None
    return row[0], row[1]


def needs_touch(record: UserSession) -> bool:
    """Whether the session's last activity is older than the recording interval."""
    return utcnow() - record.last_seen_at >= TOUCH_INTERVAL


def touch(session: Session, record_id: int) -> None:
    """Record activity on the session now (the caller commits)."""
    session.execute(update(UserSession).where(UserSession.id == record_id).values(last_seen_at=utcnow()))


def end_session(session: Session, secret: str) -> UserSession | None:
    """End the session for `secret` (signing out); returns it, or None when there was none live."""
    record = session.exec(
        select(UserSession).where(UserSession.secret_hash == digest(secret), UserSession.ended_at.is_(None))
    ).first()
    if record is not None:
        record.ended_at = utcnow()
    return record


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every live session of a user (deactivation, password reset); returns how many."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return result.rowcount
