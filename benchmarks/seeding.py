"""Many users straight into a benchmark database, fast: one opted in, the rest copies of it.

One user is opted in the way the bot does it (``subscriptions.opt_in``); its rows, read back
at the driver level, are the template. Every other user is a copy with its own ids and due
times, written with ``COPY`` on PostgreSQL and ``executemany`` on SQLite (a million users in a
minute or so, where opting each one in would take hours).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from reminderbot.config import Settings
from reminderbot.db.migrate import upgrade
from reminderbot.db.models import ScheduleKind
from reminderbot.db.session import make_engine, make_sessionmaker
from reminderbot.preferences import Planner
from reminderbot.subscriptions import opt_in

FIRST_USER_ID = 40_000_000  # Telegram user id and chat id of user n: FIRST_USER_ID + n
CHUNK = 20_000  # rows per executemany or COPY

# When each of user n's rows is due: {kind: due time}.
DueTimes = Callable[[int], dict[str, datetime]]


async def seed_users(settings: Settings, users: int, due: DueTimes, *, start: datetime) -> None:
    """Migrate, opt user 0 in at ``start``, then copy it ``users - 1`` times; every row's
    due time comes from ``due(n)`` (kinds it leaves out keep the template's)."""
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        planner = Planner(settings.default_timezone, settings.reminder_spread_minutes)
        async with make_sessionmaker(engine).begin() as session:
            await opt_in(session, telegram_user_id=FIRST_USER_ID, chat_id=FIRST_USER_ID,
                         language="en", now=start, planner=planner)
    finally:
        await engine.dispose()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        await asyncio.to_thread(_seed_sqlite, str(url.database), users, due)
    else:
        await _seed_postgresql(url.set(drivername="postgresql").render_as_string(
            hide_password=False), users, due)


def _rows(users: int, template_user: dict[str, Any], template_rows: list[dict[str, Any]],
          due: DueTimes, stamp: Callable[[datetime], Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """("users" or "schedules", row) for users 0 .. users - 1 (user 0 updated in place)."""
    user_id, schedule_id = template_user["id"], max(row["id"] for row in template_rows)
    for n in range(users):
        times = due(n)
        if n:
            user_id += 1
            yield "users", {**template_user, "id": user_id,
                            "telegram_user_id": FIRST_USER_ID + n, "chat_id": FIRST_USER_ID + n}
        for row in template_rows:
            copy = dict(row)
            if n:
                schedule_id += 1
                copy.update(id=schedule_id, user_id=user_id)
            if row["kind"] in times:
                copy["next_due_at"] = stamp(times[row["kind"]])
            yield "schedules", copy


def _sqlite_stamp(when: datetime) -> str:
    """A UTC datetime as SQLAlchemy stores it in SQLite."""
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _seed_sqlite(path: str, users: int, due: DueTimes) -> None:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        template_user = dict(db.execute("SELECT * FROM users").fetchone())
        template_rows = [dict(r) for r in db.execute("SELECT * FROM schedules ORDER BY id")]
        db.execute("PRAGMA synchronous = OFF")  # a throwaway file: no need to wait for the disk
        db.execute("DELETE FROM schedules")
        batches: dict[str, list[dict[str, Any]]] = {"users": [], "schedules": []}

        def flush(table: str) -> None:
            rows = batches[table]
            if rows:
                columns = list(rows[0])
                db.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})",
                    [tuple(row[c] for c in columns) for row in rows],
                )
                rows.clear()

        for table, row in _rows(users, template_user, template_rows, due, _sqlite_stamp):
            batches[table].append(row)
            if len(batches[table]) >= CHUNK:
                flush("users")  # users before the schedules that refer to them
                flush("schedules")
        flush("users")
        flush("schedules")
        db.commit()
        db.execute("ANALYZE")
        db.commit()
    finally:
        db.close()


def _pg_stamp(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None)


async def _seed_postgresql(dsn: str, users: int, due: DueTimes) -> None:
    db = await asyncpg.connect(dsn)
    try:
        template_user = dict(await db.fetchrow("SELECT * FROM users"))
        template_rows = [dict(r) for r in await db.fetch("SELECT * FROM schedules ORDER BY id")]
        await db.execute("DELETE FROM schedules")
        batches: dict[str, list[dict[str, Any]]] = {"users": [], "schedules": []}

        async def flush(table: str) -> None:
            rows = batches[table]
            if rows:
                columns = list(rows[0])
                await db.copy_records_to_table(
                    table, records=[tuple(row[c] for c in columns) for row in rows],
                    columns=columns,
                )
                rows.clear()

        for table, row in _rows(users, template_user, template_rows, due, _pg_stamp):
            batches[table].append(row)
            if len(batches[table]) >= CHUNK:
                await flush("users")
                await flush("schedules")
        await flush("users")
        await flush("schedules")
        for table in ("users", "schedules"):  # ids go on after the copies
            await db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT max(id) FROM {table}))")
        await db.execute("VACUUM ANALYZE users")
        await db.execute("VACUUM ANALYZE schedules")
    finally:
        await db.close()


def all_at(slot: datetime, *, later: timedelta = timedelta(hours=6)) -> DueTimes:
    """Every user's water reminder due at ``slot``; check-ins and the weekly question later."""
    return lambda n: {ScheduleKind.HYDRATION: slot, ScheduleKind.CHECKIN: slot + later,
                      ScheduleKind.TOLERANCE: slot + later}
