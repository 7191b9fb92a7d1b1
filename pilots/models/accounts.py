"""People, their API tokens, their signed-in sessions and failed sign-in attempts. Secrets are stored only as
hashes."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from pilots.models._time import utcnow


class User(SQLModel, table=True):
    """A person with a role: admin, pm, analyst or viewer."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    role: str = Field(max_length=20)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """A bearer token, stored as the SHA-256 of the secret (the secret has 256 bits of entropy).

    `expires_at` is None only for tokens issued before tokens expired (they stay valid until revoked). A token with a
    `pilot_id` may only ingest outcomes into that pilot. `last_used_at` is refreshed at most once a minute.
    """

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    name: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    pilot_id: int | None = Field(default=None, foreign_key="pilot.id", index=True)


class UserSession(SQLModel, table=True):
    """A signed-in browser session. The cookie carries a random session id; only its SHA-256 is stored here.

    Signing out sets `ended_at`, so a copied cookie stops working; a session idle for longer than the configured
    time is refused. `last_seen_at` is refreshed at most once a minute.
    """

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    secret_hash: str = Field(unique=True, max_length=64)
    address: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class AuthFailure(SQLModel, table=True):
    """One failed sign-in or bearer-token lookup, counted per account or per address for throttling.

    Rows older than the throttling window are deleted as new ones arrive, so the table stays small.
    """

    __tablename__ = "auth_failure"
    __table_args__ = (Index("ix_auth_failure_scope_key_at", "scope", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=20)
    key: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow, index=True)
