"""Which database errors are worth a fresh connection: the server's, never the statement's."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError

from reminderbot.dbretry import is_connection_lost


def wrapped(error: Exception) -> DBAPIError:
    """``error`` as SQLAlchemy hands it on (``orig``), without an invalidated connection."""
    return DBAPIError("SELECT 1", None, error, connection_invalidated=False)


def test_a_postgresql_server_starting_up_or_shutting_down_is_a_lost_connection() -> None:
    # asyncpg raises these unwrapped while it connects, right after a restart.
    for error in (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
                  asyncpg.exceptions.AdminShutdownError("terminating connection due to "
                                                        "administrator command"),
                  asyncpg.exceptions.ConnectionFailureError("connection failure")):
        assert is_connection_lost(error), type(error).__name__
        assert is_connection_lost(wrapped(error)), type(error).__name__


def test_a_broken_statement_is_not_a_lost_connection() -> None:
    duplicate = asyncpg.exceptions.UniqueViolationError("duplicate key value")
    assert not is_connection_lost(duplicate)
    assert not is_connection_lost(IntegrityError("INSERT", None, duplicate))
    assert not is_connection_lost(ValueError("a bug"))
