"""Who besides the owner may change a pilot: its collaborators."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from pilots.models._time import utcnow


class PilotCollaborator(SQLModel, table=True):
    """A user who may change a pilot as its owner does (edit, roster, launch, ingest, conclude)."""

    __tablename__ = "pilot_collaborator"

    pilot_id: int = Field(foreign_key="pilot.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)
    added_by: str = Field(max_length=100)
    added_at: datetime = Field(default_factory=utcnow)
