"""Getting in: password sign-in and bearer-token checks, both throttled, both recorded.

Sign-in takes the same path for unknown and known names: an unknown (or inactive, or password-less) account is
checked against a dummy scrypt hash, so the answer takes as long as for a real account with a wrong password, and
both count as a failure for the name and for the address. Bearer tokens are throttled per address on failed
lookups.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache

from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from pilots import events
from pilots.accounts import throttle
from pilots.accounts.sessions import end_session, start_session
from pilots.accounts.throttle import Limit
from pilots.accounts.tokens import FAILURE_SCOPE, Bearer, find_bearer
from pilots.errors import TooManyAttempts
from pilots.models import User

ACCOUNT_SCOPE = "sign_in_account"
ADDRESS_SCOPE = "sign_in_address"


@dataclass(frozen=True)
class SignInLimits:
    """Failed sign-ins allowed per account name and per address, and failed token lookups per address."""

    per_account: Limit
    per_address: Limit
    tokens_per_address: Limit


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user and the new session's id (for the cookie)."""

    user: User
    session_id: str


@cache
def _dummy_hash() -> str:
    """A hash of a random password, made with the same method as real ones (same cost to check)."""
    return generate_password_hash(secrets.token_hex(16))


def check_password(user: User | None, password: str) -> bool:
    """Whether `password` is `user`'s; exactly one scrypt check whether or not the user exists."""
    stored = user.password_hash if user is not None and user.password_hash else None
    matches = check_password_hash(stored or _dummy_hash(), password)
    return matches and stored is not None


def _blocked(session: Session, name: str, address: str, limits: SignInLimits) -> int | None:
    waits = [
        throttle.retry_after(session, ACCOUNT_SCOPE, name, limits.per_account),
        throttle.retry_after(session, ADDRESS_SCOPE, address, limits.per_address),
    ]
    return max((wait for wait in waits if wait is not None), default=None)


def sign_in(session: Session, name: str, password: str, address: str, limits: SignInLimits) -> SignIn | None:
    """Check a name and password; on success open a session. The caller commits in both cases (a failure is
    recorded for throttling and in the audit trail). Raises TooManyAttempts while the name or address is blocked."""
    if (wait := _blocked(session, name, address, limits)) is not None:
        raise TooManyAttempts(wait)
    user = session.exec(select(User).where(User.name == name, User.active.is_(True))).first()
    if not check_password(user, password):
        throttle.record_failure(session, ACCOUNT_SCOPE, name, limits.per_account)
        throttle.record_failure(session, ADDRESS_SCOPE, address, limits.per_address)
        events.record(session, name[:100], "auth.sign_in_failed", address=address)
        return None
    throttle.clear(session, ACCOUNT_SCOPE, name)
    session_id = start_session(session, user, address)
    events.record(session, user.name, "auth.signed_in", address=address)
    return SignIn(user, session_id)


def sign_out(session: Session, session_id: str, actor: str, address: str) -> None:
    """End the session on the server and record it (the caller commits)."""
    if end_session(session, session_id) is not None:
        events.record(session, actor, "auth.signed_out", address=address)


def bearer(session: Session, secret: str, address: str, limits: SignInLimits) -> Bearer | None:
    """The live token for `secret`, or None. Raises TooManyAttempts while the address is blocked (even for a valid
    token, so a guess that happens to hit is refused too)."""
    limit = limits.tokens_per_address
    found, failures = find_bearer(session, secret, address, limit.window)
    if found is None or failures >= limit.attempts:
        wait = throttle.retry_after(session, FAILURE_SCOPE, address, limit)
        if wait is not None:
            raise TooManyAttempts(wait)
    return found


def record_bearer_failure(session: Session, address: str, limits: SignInLimits) -> None:
    """Count a failed token lookup against the address (the caller commits)."""
    throttle.record_failure(session, FAILURE_SCOPE, address, limits.tokens_per_address)
