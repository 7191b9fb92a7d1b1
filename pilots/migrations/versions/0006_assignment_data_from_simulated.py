"""Pilot data start at assignment; simulated pilots; the information plan frozen at launch

* `assignment.data_from`: the first day whose audits count as the unit's pilot data (the first whole UTC day from
  its assignment: the assignment day when assigned at 00:00 UTC, else the next day). Back-filled from `assigned_at`,
  so pilots launched before this migration are analysed from their moderators' assignment on, like new ones. NOT NULL
  on PostgreSQL; SQLite cannot add that constraint to an existing table, and the model sets it on every insert.
* `pilot.simulated`: the pilot was launched in simulation mode with a randomization time in the past (false for
  every existing pilot).
* `pilot.registered_start_date`: the start date as registered, when launch moved a past start date to the launch day
  (null otherwise, and for every existing pilot).
* `pilot.information_plan`: the variance models and planned information schedule frozen at launch (null for
  existing pilots, which keep fitting them as before).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _data_from(assigned_at: datetime | str):
    """Same rule as `pilots.assignment.cutoff.data_from` (kept here so the migration never changes with the code)."""
    if isinstance(assigned_at, str):
        assigned_at = datetime.fromisoformat(assigned_at)
    at = assigned_at.replace(tzinfo=UTC) if assigned_at.tzinfo is None else assigned_at.astimezone(UTC)
    day = at.date()
    return day if at.time() == time(0) else day + timedelta(days=1)


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD / DROP COLUMN on both databases: a batch (copy-and-swap) migration would have to drop
    # the `pilot` table, which every other table references.
    op.add_column("pilot", sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("pilot", sa.Column("registered_start_date", sa.Date(), nullable=True))
    op.add_column("pilot", sa.Column("information_plan", sa.JSON(), nullable=True))
    op.add_column("assignment", sa.Column("data_from", sa.Date(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, assigned_at FROM assignment")).all()
    update = sa.text("UPDATE assignment SET data_from = :day WHERE id = :id")
    for start in range(0, len(rows), 1000):
        params = [{"id": row[0], "day": _data_from(row[1])} for row in rows[start : start + 1000]]
        connection.execute(update, params)
    if connection.dialect.name != "sqlite":  # SQLite cannot add NOT NULL to a column; the model always sets it
        op.alter_column("assignment", "data_from", existing_type=sa.Date(), nullable=False)


def downgrade() -> None:
    op.drop_column("assignment", "data_from")
    for name in ("information_plan", "registered_start_date", "simulated"):
        op.drop_column("pilot", name)
