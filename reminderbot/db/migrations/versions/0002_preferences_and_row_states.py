"""Preferences and row states: stored language, pause, one-shot rows, explicit on/off/done.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
        )
        batch_op.add_column(sa.Column("paused_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("provider_suggested_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE users SET language = 'es' WHERE lower(language_code) LIKE 'es%'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("language_code")

    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_constraint("uq_schedules_user_id", type_="unique")
        batch_op.add_column(
            sa.Column("once", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("state", sa.String(length=8), nullable=False, server_default="on")
        )
        batch_op.add_column(sa.Column("weekday", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_slot_local", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_schedules_user_id", ["user_id"], unique=False)
    op.create_index(
        "uq_schedules_recurring",
        "schedules",
        ["user_id", "kind"],
        unique=True,
        sqlite_where=sa.text("once = 0"),
        postgresql_where=sa.text("once = false"),
    )


def downgrade() -> None:
    op.drop_index("uq_schedules_recurring", table_name="schedules")
    op.execute("DELETE FROM schedules WHERE once")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_schedules_user_id")
        batch_op.drop_column("last_slot_local")
        batch_op.drop_column("weekday")
        batch_op.drop_column("state")
        batch_op.drop_column("once")
        batch_op.create_unique_constraint("uq_schedules_user_id", ["user_id", "kind"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language_code", sa.String(length=16), nullable=True))
    op.execute("UPDATE users SET language_code = language")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("provider_suggested_at")
        batch_op.drop_column("paused_until")
        batch_op.drop_column("language")
