"""Everything stored about one user, read from every table that holds their rows."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reminderbot.db.models import Base, User

# Internal bookkeeping of the dispatcher: no information about the person.
_INTERNAL_COLUMNS = frozenset({"claimed_until", "claimed_by"})


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


async def export_user(session: AsyncSession, user: User) -> dict[str, list[dict[str, Any]]]:
    """Every row that belongs to ``user``, table by table (the ``users`` row first).

    Walks the metadata, so a table added later is exported without a change here.
    """
    document: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name == User.__tablename__:
            condition = table.c.id == user.id
        elif "user_id" in table.c:
            condition = table.c.user_id == user.id
        else:
            continue
        rows = (await session.execute(select(table).where(condition))).mappings().all()
        document[table.name] = [
            {
                name: _json_value(value)
                for name, value in row.items()
                if name not in _INTERNAL_COLUMNS
            }
            for row in rows
        ]
    return document
