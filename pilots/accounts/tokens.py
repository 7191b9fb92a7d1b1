"""API tokens: 256-bit random secrets, stored only as SHA-256 digests so a leaked database reveals none.

A token expires (by default after `DEFAULT_TOKEN_DAYS`, configurable), can be revoked by its owner or an admin, and
dies with its user's deactivation. A token with a `pilot_id` may only ingest outcomes into that pilot (the web layer
enforces the scope on each request). Its last use is recorded at most once a minute, so ingestion does not pay a
write per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from pilots import events
from pilots.errors import NotFound, ValidationFailed, problem
from pilots.models import ApiToken, AuthFailure, Pilot, User
from pilots.models._time import utcnow

TOKEN_PREFIX = "plt_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
TOUCH_INTERVAL = timedelta(minutes=1)
FAILURE_SCOPE = "token"


@dataclass(frozen=True)
class IssuedToken:
    """A newly issued token: its row and the secret, which exists only here (it is never stored)."""

    token: ApiToken
    secret: str


@dataclass(frozen=True)
class Bearer:
    """Who a valid bearer token speaks for, and the token itself (for its scope and last use)."""

    user: User
    token: ApiToken


def digest(secret: str) -> str:
    """The stored form of a secret (tokens and session ids): its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(
    session: Session,
    user: User,
    name: str,
    *,
    expires_in_days: int | None = None,
    default_days: int = DEFAULT_TOKEN_DAYS,
    pilot_id: int | None = None,
    actor: str | None = None,
) -> IssuedToken:
    """Create an API token for `user` (the caller commits). With an `actor`, it is recorded in the audit trail."""
    problems = _name_problems(name)
    days = default_days if expires_in_days is None else expires_in_days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        problems.append(problem("expires_in_days", f"must be 1 to {MAX_TOKEN_DAYS} days"))
    if pilot_id is not None and session.get(Pilot, pilot_id) is None:
        problems.append(problem("pilot_id", f"there is no pilot {pilot_id}"))
    if not user.active:
        problems.append(problem("user", f"{user.name!r} is deactivated"))
    if problems:
        raise ValidationFailed("The token could not be issued.", problems)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        token_hash=digest(secret),
        name=name.strip(),
        created_at=now,
        expires_at=now + timedelta(days=days),
        pilot_id=pilot_id,
    )
    session.add(token)
    session.flush()
    if actor is not None:
        events.record(
            session, actor, "token.issued", token_id=token.id, user=user.name, name=token.name, pilot=pilot_id
        )
    return IssuedToken(token, secret)


def _name_problems(name: str) -> list[dict]:
    """The API's rule for a token's name (pilots.schemas.fields.Person), applied to every caller."""
    from pydantic import TypeAdapter, ValidationError

    from pilots.schemas.fields import Person

    try:
        TypeAdapter(Person).validate_python(name.strip())
    except ValidationError as error:
        return [problem("name", item["msg"].removeprefix("Value error, ")) for item in error.errors()]
    return []


def issue_token(session: Session, user: User, name: str = "api", **options) -> str:
    """Issue a token (see `issue`) and return only its secret."""
    return issue(session, user, name, **options).secret


def find_bearer(session: Session, secret: str, address: str, window: timedelta) -> tuple[Bearer | None, int]:
    """The live token for `secret` (active user, not revoked, not expired) and the address's recent failed lookups.

    One query on the happy path: the failure count rides along as a scalar subquery.
    """
    now = utcnow()
    failures = (
        select(func.count())
        .select_from(AuthFailure)
        .where(AuthFailure.scope == FAILURE_SCOPE, AuthFailure.key == address, AuthFailure.at > now - window)
        .scalar_subquery()
    )
    row = session.exec(
        select(ApiToken, User, failures)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None), User.active.is_(True))
    ).first()
    if row is None:
        return None, -1
    token, user, count = row
    if token.expires_at is not None and token.expires_at <= now:
        return None, count
    return Bearer(user, token), count


def needs_touch(token: ApiToken) -> bool:
    """Whether the token's last use is older than the recording interval."""
    return token.last_used_at is None or utcnow() - token.last_used_at >= TOUCH_INTERVAL


def touch(session: Session, token_id: int) -> None:
    """Record that the token was used now (the caller commits)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def list_tokens(session: Session, user: User | None = None) -> list[tuple[ApiToken, str]]:
    """Tokens with their owner's name, newest first: `user`'s, or everyone's when `user` is None."""
    query = select(ApiToken, User.name).join(User, ApiToken.user_id == User.id).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return [(token, name) for token, name in session.exec(query).all()]


def token_state(token: ApiToken) -> str:
    """`active`, `expired` or `revoked`."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= utcnow():
        return "expired"
    return "active"


def revoke_token(session: Session, token_id: int, actor: str, owner_id: int | None = None) -> ApiToken:
    """Revoke one token, recorded in the audit trail; revoking twice is a no-op.

    With `owner_id` (a caller who is not an admin) only that user's tokens may be revoked: anyone else's token does
    not exist for them (NotFound, as for an unknown id).
    """
    token = session.get(ApiToken, token_id)
    if token is None or (owner_id is not None and token.user_id != owner_id):
        raise NotFound(f"There is no token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        owner = session.get(User, token.user_id)
        events.record(session, actor, "token.revoked", token_id=token.id, user=owner.name, name=token.name)
    return token


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live token of `user`; returns how many."""
    tokens = session.exec(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoked_at = utcnow()
    return len(tokens)
