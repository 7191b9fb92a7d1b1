"""QA audit outcomes and their per-unit daily rollups."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from pilots.models._time import utcnow


class Outcome(SQLModel, table=True):
    """One QA audit of a moderator's decision. `audit_id` is unique within a pilot; `day` is the UTC date of
    `audited_at`, kept as a column so rollups and windows never parse timestamps."""

    __table_args__ = (UniqueConstraint("pilot_id", "audit_id", name="uq_outcome_pilot_audit"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    pilot_id: int = Field(foreign_key="pilot.id")
    audit_id: str = Field(max_length=100)
    moderator_id: str = Field(max_length=100)
    audited_at: datetime
    day: date
    correct: bool
    critical: bool | None = None
    handle_time_s: float | None = None
    policy: str | None = Field(default=None, max_length=100)
    queue: str | None = Field(default=None, max_length=100)
    auditor_id: str | None = Field(default=None, max_length=100)
    # The content item audited (migration 0007); two audits of one item by different auditors are a double audit.
    item_id: str | None = Field(default=None, max_length=100)
    ingested_at: datetime = Field(default_factory=utcnow)


SUMS_COLUMNS = ("audits", "correct", "critical_audits", "critical", "handle_audits", "handle_sum", "handle_sum2")


class UnitDay(SQLModel, table=True):
    """Per pilot x moderator x day: the counts and sums that every ratio metric needs.

    Maintained in the same transaction as the outcomes, so results read units x days rows, never raw audits.
    Team-level analyses sum moderators' rows. `critical_audits` and `handle_audits` count the audits where the
    optional field was present: they are the denominators of those metrics.
    """

    __tablename__ = "unit_day"
    __table_args__ = (
        # Day first, so an ingestion batch's new rows append instead of scattering (migration 0003).
        PrimaryKeyConstraint("pilot_id", "day", "moderator_id"),
        # Covering index for the results engine's date-range reads (migration 0002). PostgreSQL only: on SQLite the
        # table is WITHOUT ROWID, stored in key order with every column, which covers those reads by itself.
        Index("ix_unit_day_results", "pilot_id", "day", "moderator_id", *SUMS_COLUMNS),
        {"sqlite_with_rowid": False},
    )

    pilot_id: int = Field(foreign_key="pilot.id")
    moderator_id: str = Field(max_length=100)
    day: date
    audits: int = 0
    correct: int = 0
    critical_audits: int = 0
    critical: int = 0
    handle_audits: int = 0
    handle_sum: float = 0.0
    handle_sum2: float = 0.0


# Per pilot and moderator: the moderator's `unit_day` rows of the pilot period (start date through end date) packed
# into one value (`pilots.results.series_records.RECORD` records in day order), up to the batch in `unit_fold`.
# Migration 0012. Core tables: the results engine reads and writes them through the DBAPI cursor.
unit_series = Table(
    "unit_series",
    SQLModel.metadata,
    Column("pilot_id", Integer, ForeignKey("pilot.id"), primary_key=True, autoincrement=False),
    Column("moderator_id", String(100), primary_key=True),
    Column("series", LargeBinary, nullable=False),
)

# How far a pilot's `unit_series` reach: every `unit_day` row a batch up to `batch` changed (the batches' `qa_day`
# rows name them), for the pilot period `start_date`..`end_date` they were folded for. The `pre_*` columns keep the
# pre-period sums per moderator from `pre_start` as the results' query returned them after batch `pre_batch`.
unit_fold = Table(
    "unit_fold",
    SQLModel.metadata,
    Column("pilot_id", Integer, ForeignKey("pilot.id"), primary_key=True, autoincrement=False),
    Column("batch", Integer, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("pre_batch", Integer, nullable=True),
    Column("pre_start", Date, nullable=True),
    Column("pre_moderators", Text, nullable=True),
    Column("pre_sums", LargeBinary, nullable=True),
)
