"""The pilot: its registered plan and where it is in its lifecycle (draft -> running -> concluded)."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from pilots.models._time import utcnow


class Pilot(SQLModel, table=True):
    """A registered pilot.

    `arms`, `strata`, `metrics` and `design` are JSON documents validated by the API data models in
    `pilots.schemas`; once the pilot is launched the plan is locked and `plan_hash` holds its canonical hash.
    `simulated` pilots were launched in simulation mode with a randomization time in the past (`launched_at`).
    `registered_start_date` is the start date as registered when launch moved a past one to the launch day.
    `information_plan` holds the variance models and planned information schedule frozen at launch
    (`pilots.results.frozen`; part of the locked plan and its hash); pilots launched before it existed have none.
    `data_version` increases with every accepted batch of outcomes and every batch of late joiners, so cached results
    know when they are stale. `owner` is the name of the user who created the pilot (only an admin may hand it to
    someone else). `seed` stays empty until launch draws it, unless an admin set it to reproduce a recorded
    randomization. `outcomes_purged_at` is set when the retention policy deleted the raw audits (rollups, results and
    the decision record stay).

    The `decision*` columns are the decision record written when the pilot is concluded: what people decided
    (`roll_out`, `do_not_roll_out`, `stopped`), why, who and when, and the engine's recommendation at that moment.
    They are null for pilots concluded before decisions were recorded (and for running and draft pilots).
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    hypothesis: str = ""
    owner: str = Field(max_length=100)
    layer: str | None = Field(default=None, max_length=100, index=True)
    unit: str = Field(default="moderator", max_length=20)
    arms: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    strata: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    seed: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    metrics: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    design: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    start_date: date
    end_date: date
    pre_period_start: date | None = None
    status: str = Field(default="draft", max_length=20, index=True)
    plan_hash: str | None = Field(default=None, max_length=64)
    data_version: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    launched_at: datetime | None = None
    concluded_at: datetime | None = None
    outcomes_purged_at: datetime | None = None
    simulated: bool = False
    registered_start_date: date | None = None
    information_plan: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    decision: str | None = Field(default=None, max_length=20)
    decision_rationale: str | None = None
    decision_by: str | None = Field(default=None, max_length=100)
    decision_at: datetime | None = None
    decision_recommendation: str | None = Field(default=None, max_length=20)
    decision_provisional: bool | None = None
