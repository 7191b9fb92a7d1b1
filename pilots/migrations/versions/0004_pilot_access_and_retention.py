"""pilot collaborators, seed drawn at launch, retention purge marker

A pilot's collaborators may change it as its owner does. The randomization seed is drawn at launch, so drafts carry
none (seeds stored on drafts were chosen by hand or at random when the draft was made: they are cleared, and launch
draws a fresh one). `outcomes_purged_at` marks pilots whose raw audits the retention policy deleted.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pilot_collaborator",
        sa.Column("pilot_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["pilot_id"], ["pilot.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("pilot_id", "user_id"),
    )
    op.create_index("ix_pilot_collaborator_user_id", "pilot_collaborator", ["user_id"], unique=False)
    with op.batch_alter_table("pilot") as batch:
        batch.alter_column("seed", existing_type=sa.BigInteger(), nullable=True)
        batch.add_column(sa.Column("outcomes_purged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE pilot SET seed = NULL WHERE status = 'draft'")


def downgrade() -> None:
    op.execute("UPDATE pilot SET seed = 0 WHERE seed IS NULL")
    with op.batch_alter_table("pilot") as batch:
        batch.drop_column("outcomes_purged_at")
        batch.alter_column("seed", existing_type=sa.BigInteger(), nullable=False)
    op.drop_index("ix_pilot_collaborator_user_id", table_name="pilot_collaborator")
    op.drop_table("pilot_collaborator")
