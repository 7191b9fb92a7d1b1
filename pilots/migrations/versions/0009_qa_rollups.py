"""QA rollups: qa_day (per day, moderator, policy, queue, auditor sums) and qa_grade (graded items), backfilled

The QA analyses read these instead of grouping the raw audits on every results request, and they survive the
retention purge. Both are backfilled from the stored outcomes with the rules ingestion follows (`pilots.qa_rollups`):
absent policy, queue or auditor as '', one grade per (item, auditor), the first stored (lowest id). Pilots purged
before this migration have no outcomes left to backfill from. On SQLite `qa_day` is WITHOUT ROWID, like `unit_day`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMS = ("audits", "correct", "critical_audits", "critical", "handle_audits", "handle_sum", "handle_sum2")


def _text(name: str) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False)


def upgrade() -> None:
    op.create_table(
        "qa_day",
        sa.Column("pilot_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(_text(name) for name in ("moderator_id", "policy", "queue", "auditor_id")),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in SUMS[:5]),
        *(sa.Column(name, sa.Float(), nullable=False) for name in SUMS[5:]),
        sa.ForeignKeyConstraint(["pilot_id"], ["pilot.id"]),
        sa.PrimaryKeyConstraint("pilot_id", "day", "moderator_id", "policy", "queue", "auditor_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "qa_grade",
        sa.Column("pilot_id", sa.Integer(), nullable=False),
        *(_text(name) for name in ("item_id", "auditor_id", "moderator_id")),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["pilot_id"], ["pilot.id"]),
        sa.PrimaryKeyConstraint("pilot_id", "item_id", "auditor_id"),
    )
    blank = "coalesce(policy, ''), coalesce(queue, ''), coalesce(auditor_id, '')"
    op.execute(
        f"INSERT INTO qa_day (pilot_id, day, moderator_id, policy, queue, auditor_id, {', '.join(SUMS)}) "
        f"SELECT pilot_id, day, moderator_id, {blank}, count(*), sum(CASE WHEN correct THEN 1 ELSE 0 END), "
        "count(critical), sum(CASE WHEN critical THEN 1 ELSE 0 END), count(handle_time_s), "
        "coalesce(sum(handle_time_s), 0), coalesce(sum(handle_time_s * handle_time_s), 0) "
        f"FROM outcome GROUP BY pilot_id, day, moderator_id, {blank}"
    )
    op.execute(
        "INSERT INTO qa_grade (pilot_id, item_id, auditor_id, moderator_id, day, correct, critical) "
        "SELECT o.pilot_id, o.item_id, o.auditor_id, o.moderator_id, o.day, o.correct, o.critical FROM outcome o "
        "JOIN (SELECT min(id) AS id FROM outcome WHERE item_id IS NOT NULL AND auditor_id IS NOT NULL "
        "GROUP BY pilot_id, item_id, auditor_id) AS first ON first.id = o.id"
    )


def downgrade() -> None:
    op.drop_table("qa_grade")
    op.drop_table("qa_day")
