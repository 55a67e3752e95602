"""An index for the dispatcher's every claim: users whose timed pause has ended.

Without it each claim reads the whole users table (a million users: tens of milliseconds).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_users_status_paused_until", "users", ["status", "paused_until"])


def downgrade() -> None:
    op.drop_index("ix_users_status_paused_until", table_name="users")
