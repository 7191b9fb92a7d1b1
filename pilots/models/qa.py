"""QA rollups: what the QA analyses (policy and queue effects, auditor checks, agreement) read instead of raw audits.

Both are maintained by ingestion in the batch's transaction, next to `unit_day`, and survive the retention purge of
the raw audits (`pilots.retention`), so a concluded pilot's QA sections compute exactly as before the purge.
"""

from datetime import date

from sqlalchemy import (
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
)
from sqlmodel import Field, SQLModel

# Per pilot x day x moderator x policy x queue x auditor: the `unit_day` sums of those audits, one row per ingestion
# batch that had such audits (append-only, migration 0010: no key to look up on every insert, which made the
# PostgreSQL upsert cost several times a plain COPY); readers sum the rows of a key. Absent policy, queue or
# auditor is ''. `batch` is the pilot's data version the batch created (0 for rows written before migration 0011),
# so the rows a reader has not folded into `qa_level` yet are `batch > qa_fold.batch`. A Core table, not an ORM
# model: its rows have no identity.
qa_day = Table(
    "qa_day",
    SQLModel.metadata,
    Column("pilot_id", Integer, ForeignKey("pilot.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("batch", Integer, nullable=False, server_default="0"),
    *(Column(name, String(100), nullable=False) for name in ("moderator_id", "policy", "queue", "auditor_id")),
    *(Column(name, Integer, nullable=False) for name in ("audits", "correct", "critical_audits", "critical")),
    Column("handle_audits", Integer, nullable=False),
    Column("handle_sum", Float, nullable=False),
    Column("handle_sum2", Float, nullable=False),
    Index("ix_qa_day_pilot_day", "pilot_id", "day"),
    Index("ix_qa_day_pilot_batch", "pilot_id", "batch"),
)

_SUMS = (
    *(Column(name, Integer, nullable=False) for name in ("audits", "correct", "critical_audits", "critical")),
    Column("handle_audits", Integer, nullable=False),
    Column("handle_sum", Float, nullable=False),
    Column("handle_sum2", Float, nullable=False),
)

# The `qa_day` sums of one dimension at a time (0 policy, 1 queue, 2 auditor), per moderator and period (0 the
# pilot period from the moderator's `data_from`, 1 the pre-period; set-aside days are not kept), summed over every
# `qa_day` row dated on or before `through` (the end date for the latest results, a look's day for the replay of an
# earlier decision) of batches up to `qa_fold.batch`. The results service folds new batches in when it reads them
# (`pilots.results.qa_levels`); those results read these few rows instead of grouping `qa_day`.
qa_level = Table(
    "qa_level",
    SQLModel.metadata,
    Column("pilot_id", Integer, ForeignKey("pilot.id"), nullable=False),
    Column("through", Date, nullable=False),
    Column("dimension", SmallInteger, nullable=False),
    Column("level", String(100), nullable=False),
    Column("moderator_id", String(100), nullable=False),
    Column("period", SmallInteger, nullable=False),
    *_SUMS,
    PrimaryKeyConstraint("pilot_id", "through", "dimension", "level", "moderator_id", "period"),
    sqlite_with_rowid=False,
)

# How far a pilot's `qa_level` rows through a day reach: every `qa_day` row with `batch <= batch` dated on or
# before `through` is in them (`folded_rows` of them, the latest dated `last_day`).
qa_fold = Table(
    "qa_fold",
    SQLModel.metadata,
    Column("pilot_id", Integer, ForeignKey("pilot.id"), primary_key=True, autoincrement=False),
    Column("through", Date, primary_key=True),
    Column("batch", Integer, nullable=False),
    Column("folded_rows", Integer, nullable=False),
    Column("last_day", Date, nullable=True),
)


class QaGrade(SQLModel, table=True):
    """One auditor's grade of one content item (the first one stored): what inter-rater agreement needs, without
    audit ids or timestamps. The purge keeps only the items two or more auditors graded."""

    __tablename__ = "qa_grade"
    __table_args__ = (PrimaryKeyConstraint("pilot_id", "item_id", "auditor_id"),)

    pilot_id: int = Field(foreign_key="pilot.id")
    item_id: str = Field(max_length=100)
    auditor_id: str = Field(max_length=100)
    moderator_id: str = Field(max_length=100)
    day: date
    correct: bool
    critical: bool | None = None
