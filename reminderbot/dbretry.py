"""Database writes that must land: tried again, each time on a fresh connection, until a deadline.

The dispatcher records a confirmed send this way: if the write is lost the lease runs out and
the reminder goes out a second time. A write is tried again only when the connection failed
(the database restarted, a connection was killed, SQLite was busy), never for a bug such as
a broken constraint. The engine's ``pool_pre_ping`` (PostgreSQL) swaps out dead pooled
connections when the next attempt checks one out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from time import monotonic
from typing import TypeVar

from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import (
    TimeoutError as PoolTimeoutError,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_WAIT = 0.1  # seconds before the second attempt; doubled each time, up to MAX_WAIT
MAX_WAIT = 2.0


# PostgreSQL's SQLSTATE classes that blame the server, not the statement: connection
# exceptions (08) and operator intervention (57P: shutting down, starting up after a restart).
_SERVER_SQLSTATES = ("08", "57P")


def _sqlstates(exc: BaseException) -> Iterator[str]:
    """The SQLSTATE codes along ``exc``'s chain: the driver's own exception (asyncpg raises
    some, such as "the database system is starting up", unwrapped when it connects) and
    SQLAlchemy's wrapper of it (``orig``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for candidate in (current, getattr(current, "orig", None)):
            code = getattr(candidate, "sqlstate", None)
            if isinstance(code, str):
                yield code
        # Only what raised it (``raise ... from``): an error met while handling a lost
        # connection is not one itself.
        current = current.__cause__


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection failed (worth a fresh one), not the statement."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(
        exc, OperationalError | InterfaceError | PoolTimeoutError | OSError | TimeoutError
    ):
        return True
    return any(code.startswith(_SERVER_SQLSTATES) for code in _sqlstates(exc))


async def write_until(
    sessions: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    deadline: float,
    what: str,
) -> T:
    """Run ``work`` in a transaction of its own; on a lost connection, run it again (it must be
    safe to repeat: its first commit may have landed unseen) until ``deadline`` (a
    ``time.monotonic()`` value) would pass. ``what`` names it in log lines (no personal data).
    """
    wait = FIRST_WAIT
    failures = 0
    while True:
        try:
            async with sessions.begin() as session:
                result = await work(session)
        except Exception as exc:  # the driver's own errors too (see is_connection_lost)
            if not is_connection_lost(exc):
                raise
            failures += 1
            if monotonic() + wait >= deadline:
                log.error("%s: the database write did not land in time (%s, %d attempts)",
                          what, type(exc).__name__, failures)
                raise
            # One line per write, not per attempt: an outage would flood the log otherwise.
            level = logging.WARNING if failures == 1 else logging.DEBUG
            log.log(level, "%s: the database write failed (%s); trying again", what,
                    type(exc).__name__)
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_WAIT)
            continue
        if failures:
            log.info("%s: the database write landed after %d failed attempts", what, failures)
        return result
