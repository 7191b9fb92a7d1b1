"""People and the API tokens they use. Secrets are stored only as hashes."""

from datetime import datetime

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
    """A bearer token, stored as the SHA-256 of the secret (the secret has 256 bits of entropy)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    label: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
