"""qa_day append-only: no unique key, an index on (pilot_id, day); readers sum the rows of a key

Ingestion appended-or-added each batch's QA day sums with an upsert on the six-column key (pilot, day, moderator,
policy, queue, auditor). On PostgreSQL that upsert probes the key for every row and cost several times a plain
`COPY` of the same rows (about 100 against 25 ms for a 10,000-audit batch), taking ingestion from 0.56-0.64 of the
`COPY` ceiling to 0.34-0.38; on SQLite an upsert and an append cost the same. Now each batch appends its rows (a key
several batches touched has several rows) and every reader sums them, which the QA read always did (`GROUP BY`).
Downgrading sums the rows of each key back into one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("pilot_id", "day", "moderator_id", "policy", "queue", "auditor_id")
SUMS = ("audits", "correct", "critical_audits", "critical", "handle_audits", "handle_sum", "handle_sum2")


def _create(name: str, *, keyed: bool) -> None:
    op.create_table(
        name,
        sa.Column("pilot_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(
            sa.Column(column, sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False)
            for column in ("moderator_id", "policy", "queue", "auditor_id")
        ),
        *(sa.Column(column, sa.Integer(), nullable=False) for column in SUMS[:5]),
        *(sa.Column(column, sa.Float(), nullable=False) for column in SUMS[5:]),
        sa.ForeignKeyConstraint(["pilot_id"], ["pilot.id"]),
        *((sa.PrimaryKeyConstraint(*KEY),) if keyed else ()),
        **({"sqlite_with_rowid": False} if keyed else {}),
    )


def upgrade() -> None:
    _create("qa_day_log", keyed=False)
    columns = ", ".join((*KEY, *SUMS))
    op.execute(f"INSERT INTO qa_day_log ({columns}) SELECT {columns} FROM qa_day")
    op.drop_table("qa_day")
    op.rename_table("qa_day_log", "qa_day")
    op.create_index("ix_qa_day_pilot_day", "qa_day", ["pilot_id", "day"])


def downgrade() -> None:
    _create("qa_day_keyed", keyed=True)
    key = ", ".join(KEY)
    sums = ", ".join(f"sum({column})" for column in SUMS)
    op.execute(f"INSERT INTO qa_day_keyed ({key}, {', '.join(SUMS)}) SELECT {key}, {sums} FROM qa_day GROUP BY {key}")
    op.drop_index("ix_qa_day_pilot_day", table_name="qa_day")
    op.drop_table("qa_day")
    op.rename_table("qa_day_keyed", "qa_day")
