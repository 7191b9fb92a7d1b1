"""The audit trail: every state change, who made it and what it was."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from pilots.models._time import utcnow


class Event(SQLModel, table=True):
    """One recorded state change (pilot created, plan edited, launched, roster changed, outcomes ingested...)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=50)
    pilot_id: int | None = Field(default=None, foreign_key="pilot.id", index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
