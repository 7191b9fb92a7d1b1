"""outcome.item_id: the content item an audit judged (double audits for calibration)

Nullable, so every stored audit stays valid: an audit without an item id simply takes no part in the agreement
(calibration) statistics. No index: calibration reads a pilot's audits once per results computation, and an index
would be maintained by every ingestion batch.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 00:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outcome", schema=None) as batch_op:
        batch_op.add_column(sa.Column("item_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcome", schema=None) as batch_op:
        batch_op.drop_column("item_id")
