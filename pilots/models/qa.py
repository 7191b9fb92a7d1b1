"""QA rollups: what the QA analyses (policy and queue effects, auditor checks, agreement) read instead of raw audits.

Both are maintained by ingestion in the batch's transaction, next to `unit_day`, and survive the retention purge of
the raw audits (`pilots.retention`), so a concluded pilot's QA sections compute exactly as before the purge.
"""

from datetime import date

from sqlalchemy import PrimaryKeyConstraint
from sqlmodel import Field, SQLModel


class QaDay(SQLModel, table=True):
    """Per pilot x day x moderator x policy x queue x auditor: the `unit_day` sums of those audits.

    Absent policy, queue or auditor is stored as '' (the key cannot hold NULL). The key starts with the day, like
    `unit_day`'s, so a batch's new rows append; on SQLite the table is WITHOUT ROWID (one b-tree per upsert).
    """

    __tablename__ = "qa_day"
    __table_args__ = (
        PrimaryKeyConstraint("pilot_id", "day", "moderator_id", "policy", "queue", "auditor_id"),
        {"sqlite_with_rowid": False},
    )

    pilot_id: int = Field(foreign_key="pilot.id")
    day: date
    moderator_id: str = Field(max_length=100)
    policy: str = Field(default="", max_length=100)
    queue: str = Field(default="", max_length=100)
    auditor_id: str = Field(default="", max_length=100)
    audits: int = 0
    correct: int = 0
    critical_audits: int = 0
    critical: int = 0
    handle_audits: int = 0
    handle_sum: float = 0.0
    handle_sum2: float = 0.0


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
