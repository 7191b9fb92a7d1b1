"""results cache, covering index for reading rollups

The covering index lets the results engine read a pilot's rollups for a date range as an index-only range scan
(2x faster on SQLite at 5,000 moderators x 56 days than visiting table rows through the primary-key index).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COVERING = (
    "pilot_id",
    "day",
    "moderator_id",
    "audits",
    "correct",
    "critical_audits",
    "critical",
    "handle_audits",
    "handle_sum",
    "handle_sum2",
)


def upgrade() -> None:
    op.create_table(
        "results_cache",
        sa.Column("pilot_id", sa.Integer(), nullable=False),
        sa.Column("as_of_key", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("computed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["pilot_id"], ["pilot.id"]),
        sa.PrimaryKeyConstraint("pilot_id", "as_of_key"),
    )
    op.create_index("ix_unit_day_results", "unit_day", [*COVERING], unique=False)


def downgrade() -> None:
    op.drop_index("ix_unit_day_results", table_name="unit_day")
    op.drop_table("results_cache")
