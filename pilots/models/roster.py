"""The roster of moderators and their (immutable) assignments to arms."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from pilots.models._time import utcnow


class RosterEntry(SQLModel, table=True):
    """A moderator on a pilot's roster, with the attributes used for stratification and balance checks."""

    __tablename__ = "roster_entry"
    __table_args__ = (UniqueConstraint("pilot_id", "moderator_id"),)

    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", index=True)
    moderator_id: str = Field(max_length=100)
    team: str = Field(default="", max_length=100)
    site: str = Field(default="", max_length=100)
    language: str = Field(default="", max_length=50)
    tenure_months: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    late_joiner: bool = False
    added_at: datetime = Field(default_factory=utcnow)


class Assignment(SQLModel, table=True):
    """A moderator's arm. Written once at launch (or when a late joiner is added) and never changed.

    `unit_id` is the randomized unit: the moderator id, or the team name for team-randomized pilots.
    `sequence` is the unit's position in its stratum's permuted-block sequence, which is what lets late joiners
    continue the sequence deterministically. `data_from` is the first day whose audits count as the moderator's pilot
    data (`pilots.assignment.cutoff`): nothing from before randomization is ever analysed as pilot data.
    """

    __table_args__ = (
        UniqueConstraint("pilot_id", "moderator_id"),
        Index("ix_assignment_pilot_unit", "pilot_id", "unit_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pilot_id: int = Field(foreign_key="pilot.id", index=True)
    moderator_id: str = Field(max_length=100)
    unit_id: str = Field(max_length=100)
    arm: str = Field(max_length=100)
    stratum: str = Field(max_length=500)
    sequence: int
    late_joiner: bool = False
    assigned_at: datetime = Field(default_factory=utcnow)
    data_from: date | None = Field(default=None, nullable=False)


@event.listens_for(Assignment, "before_insert")
def _data_from(_mapper, _connection, assignment: Assignment) -> None:
    """An assignment stored without `data_from` gets it from `assigned_at` (the rule of `pilots.assignment.cutoff`)."""
    if assignment.data_from is None:
        from pilots.assignment.cutoff import data_from  # the domain rule; imported here, models load first

        assignment.data_from = data_from(assignment.assigned_at)
