"""QA rollups: what the QA analyses (policy and queue effects, auditor checks, agreement) read instead of raw audits.

Both are maintained by ingestion in the batch's transaction, next to `unit_day`, and survive the retention purge of
the raw audits (`pilots.retention`), so a concluded pilot's QA sections compute exactly as before the purge.
"""

from datetime import date

from sqlalchemy import Column, Date, Float, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Table
from sqlmodel import Field, SQLModel

# Per pilot x day x moderator x policy x queue x auditor: the `unit_day` sums of those audits, one row per ingestion
# batch that had such audits (append-only, migration 0010: no key to look up on every insert, which made the
# PostgreSQL upsert cost several times a plain COPY); readers sum the rows of a key. Absent policy, queue or
# auditor is ''. A Core table, not an ORM model: its rows have no identity.
qa_day = Table(
    "qa_day",
    SQLModel.metadata,
    Column("pilot_id", Integer, ForeignKey("pilot.id"), nullable=False),
    Column("day", Date, nullable=False),
    *(Column(name, String(100), nullable=False) for name in ("moderator_id", "policy", "queue", "auditor_id")),
    *(Column(name, Integer, nullable=False) for name in ("audits", "correct", "critical_audits", "critical")),
    Column("handle_audits", Integer, nullable=False),
    Column("handle_sum", Float, nullable=False),
    Column("handle_sum2", Float, nullable=False),
    Index("ix_qa_day_pilot_day", "pilot_id", "day"),
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
