"""Announcements (`reminderbot announce`): their text, and one one-shot row per recipient.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_announcements_content_hash")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announcement_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_schedules_announcement_id_announcements"),
            "announcements",
            ["announcement_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(
            "uq_schedules_announcement_user", ["announcement_id", "user_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_constraint("uq_schedules_announcement_user", type_="unique")
        batch_op.drop_constraint(
            op.f("fk_schedules_announcement_id_announcements"), type_="foreignkey"
        )
        batch_op.drop_column("announcement_id")
    op.drop_table("announcements")
