"""Alembic environment: runs on the connection `reminderbot.db.migrate` hands it."""

from __future__ import annotations

from alembic import context

from reminderbot.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations with `reminderbot migrate`.")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
