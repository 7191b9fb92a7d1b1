"""Cached results documents: one row per pilot and `as_of`, valid while the pilot's data and status are unchanged."""

from datetime import datetime

from sqlalchemy import Column, PrimaryKeyConstraint, Text
from sqlmodel import Field, SQLModel

from pilots.models._time import utcnow


class ResultsCache(SQLModel, table=True):
    """The last computed results document of a pilot for one `as_of` (`latest` when none).

    `fingerprint` is what the document depends on besides the rollups: data version, status and the engine version.
    A row whose fingerprint differs from the pilot's current one is stale and is replaced by an upsert.
    """

    __tablename__ = "results_cache"
    __table_args__ = (PrimaryKeyConstraint("pilot_id", "as_of_key"),)

    pilot_id: int = Field(foreign_key="pilot.id")
    as_of_key: str = Field(max_length=10)
    data_version: int
    fingerprint: str = Field(max_length=100)
    document: str = Field(sa_column=Column(Text, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow)
