"""Throttling of failed sign-ins and bearer-token lookups, counted in the database.

The counts live in the `auth_failure` table, so every gunicorn worker (and every process on every host) sees the
same numbers on SQLite and PostgreSQL alike; no per-process memory is involved. A key (an account name or an
address) is blocked while it has `attempts` failures inside the sliding `window`; it is free again once the oldest
of those leaves the window, which is what `Retry-After` says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, select

from pilots.models import AuthFailure
from pilots.models._time import utcnow

KEY_LENGTH = 200


@dataclass(frozen=True)
class Limit:
    """At most `attempts` failures per key inside `window`."""

    attempts: int
    window: timedelta


def retry_after(session: Session, scope: str, key: str, limit: Limit) -> int | None:
    """Seconds until `key` may try again, or None when it is not blocked."""
    now = utcnow()
    recent = session.exec(
        select(AuthFailure.at)
        .where(AuthFailure.scope == scope, AuthFailure.key == key[:KEY_LENGTH], AuthFailure.at > now - limit.window)
        .order_by(AuthFailure.at.desc())
        .limit(limit.attempts)
    ).all()
    if len(recent) < limit.attempts:
        return None
    return max(1, math.ceil((recent[-1] + limit.window - now).total_seconds()))


def record_failure(session: Session, scope: str, key: str, limit: Limit) -> None:
    """Count one failure for `key` and forget this scope's failures that have left the window (caller commits)."""
    now = utcnow()
    session.execute(delete(AuthFailure).where(AuthFailure.scope == scope, AuthFailure.at <= now - limit.window))
    session.add(AuthFailure(scope=scope, key=key[:KEY_LENGTH], at=now))


def clear(session: Session, scope: str, key: str) -> None:
    """Forget `key`'s failures (after a successful sign-in to that account)."""
    session.execute(delete(AuthFailure).where(AuthFailure.scope == scope, AuthFailure.key == key[:KEY_LENGTH]))
