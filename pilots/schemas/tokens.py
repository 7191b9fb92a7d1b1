"""API data models for tokens: what `POST /tokens` accepts and what the token routes return (never a stored
secret; the secret appears once, in the answer that issued it)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from pilots.accounts.tokens import MAX_TOKEN_DAYS
from pilots.schemas.common import InputModel, OutputModel
from pilots.schemas.fields import Person


class TokenCreate(InputModel):
    """A new token for the caller. Without `expires_in_days` it lives the configured default (90 days unless set);
    with `pilot_id` it may only ingest outcomes into that pilot."""

    model_config = ConfigDict(strict=True)

    name: Person = Field(examples=["nightly QA import"])
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_TOKEN_DAYS, examples=[30])
    pilot_id: int | None = Field(default=None, ge=1, examples=[1])


class TokenPublic(OutputModel):
    """A token as listed: who owns it, what it is for, its state and its last use (at most a minute stale)."""

    id: int
    name: str
    user: str
    state: Literal["active", "expired", "revoked"]
    pilot_id: int | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    """The new token, with its secret: send it as `Authorization: Bearer <token>`. It is not shown again."""

    token: str


class TokenList(OutputModel):
    """Your tokens, newest first (every user's for an admin)."""

    tokens: list[TokenPublic]
