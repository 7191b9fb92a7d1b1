"""decision record on concluded pilots

What people decided when they concluded a pilot (roll out, do not roll out, stopped for another reason), why, who and
when, with the engine's recommendation at that moment (and whether it was still provisional). Every column is
nullable: pilots concluded before this migration simply have no decision record.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("decision", lambda: sqlmodel.sql.sqltypes.AutoString(length=20)),
    ("decision_rationale", lambda: sqlmodel.sql.sqltypes.AutoString()),
    ("decision_by", lambda: sqlmodel.sql.sqltypes.AutoString(length=100)),
    ("decision_at", lambda: sqlmodel.sql.sqltypes.UTCDateTime()),
    ("decision_recommendation", lambda: sqlmodel.sql.sqltypes.AutoString(length=20)),
    ("decision_provisional", sa.Boolean),
)


def upgrade() -> None:
    with op.batch_alter_table("pilot") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pilot") as batch:
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
