"""Server-side sessions, token expiry / scope / last use, failed sign-in records

- `user_session`: one row per signed-in browser session (the cookie holds a random id, the row its SHA-256), so
  signing out ends the session on the server and idle sessions expire.
- `api_token`: `label` becomes `name`; new `expires_at` (existing tokens keep None: valid until revoked),
  `last_used_at`, and `pilot_id` for tokens scoped to one pilot's ingestion.
- `auth_failure`: failed sign-ins and bearer-token lookups, counted per account and per address for throttling
  (shared by every worker because it lives in the database).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("label", new_column_name="name", existing_type=sa.String(100))
        batch_op.add_column(sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("pilot_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_api_token_pilot_id_pilot", "pilot", ["pilot_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_api_token_pilot_id"), ["pilot_id"], unique=False)

    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)

    op.create_table(
        "auth_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_auth_failure_at"), "auth_failure", ["at"], unique=False)
    op.create_index("ix_auth_failure_scope_key_at", "auth_failure", ["scope", "key", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_auth_failure_scope_key_at", table_name="auth_failure")
    op.drop_index(op.f("ix_auth_failure_at"), table_name="auth_failure")
    op.drop_table("auth_failure")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_pilot_id"))
        batch_op.drop_constraint("fk_api_token_pilot_id_pilot", type_="foreignkey")
        batch_op.drop_column("pilot_id")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
        batch_op.alter_column("name", new_column_name="label", existing_type=sa.String(100))
