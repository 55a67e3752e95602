"""The async engine and session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys for ON DELETE CASCADE; WAL and a busy timeout so the bot's handlers and
    # its dispatcher (or a second process such as `reminderbot migrate`) don't trip over locks.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """An engine for ``url`` (sqlite+aiosqlite or postgresql+asyncpg)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
    else:
        # Plans for the values at hand: a prepared statement's generic plan guesses a third of
        # the schedule is due and reads every row of a million-user table on each tick.
        engine = create_async_engine(url, pool_pre_ping=True, connect_args={
            "server_settings": {"plan_cache_mode": "force_custom_plan"}})
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
