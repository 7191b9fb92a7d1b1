"""Per-moderator series of the pilot period's rollups (unit_series), folded up to a batch (unit_fold)

The results read every `unit_day` row of the pilot period: 1,575,000 rows at 50,000 moderators and 8 weeks, whose
driver fetch alone took 1.6 s of a 4.5 s request. `unit_series` keeps, per pilot and moderator, that moderator's
pilot-period rows (day offset from the start date, the five counts and the two handle-time sums, exactly as stored in
`unit_day`) packed into one binary value, so a results request reads one row per moderator plus the rows changed since
(`pilots.results.unit_series`). `unit_fold` says up to which batch (`qa_day.batch`: every accepted batch writes
`qa_day` rows for each moderator-day it adds to) and for which pilot period the series reach; it also keeps the
pre-period sums per moderator as the results' `GROUP BY` last returned them (`pre_moderators`, a JSON list, and
`pre_sums`, float64 values), valid while no batch after `pre_batch` has pre-period rows.

No backfill: the first latest-results request of a large pilot builds the series from the rows it reads anyway.
Downgrading drops both tables.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unit_series",
        sa.Column("pilot_id", sa.Integer(), nullable=False),
        sa.Column("moderator_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("series", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["pilot_id"], ["pilot.id"]),
        sa.PrimaryKeyConstraint("pilot_id", "moderator_id"),
    )
    op.create_table(
        "unit_fold",
        sa.Column("pilot_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("pre_batch", sa.Integer(), nullable=True),
        sa.Column("pre_start", sa.Date(), nullable=True),
        sa.Column("pre_moderators", sa.Text(), nullable=True),
        sa.Column("pre_sums", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["pilot_id"], ["pilot.id"]),
        sa.PrimaryKeyConstraint("pilot_id"),
    )


def downgrade() -> None:
    op.drop_table("unit_fold")
    op.drop_table("unit_series")
