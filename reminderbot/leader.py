"""Which replica leads: the one that polls Telegram, and without Redis the one that sends.

Several replicas on one PostgreSQL database elect a leader with a session advisory lock held
on a connection of its own. Telegram answers a second poller with 409 Conflict, and without
a shared budget (``REDIS_URL``) two senders would each take Telegram's whole limit. The lock
goes with its connection: when the leader dies, PostgreSQL frees it at once and another
replica takes it at its next try (every ``RETRY_SECONDS``). A leader that loses its
connection stops leading at once and tries again like the others.

On SQLite (one process) there is no election: see :func:`leadership_for`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import HTTPXRequest, RequestData

from reminderbot.config import Settings

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the leader (the maintenance job and migrations use others).
LEADER_LOCK = 0x72626F7402  # "rbot" 2
# How often a replica that does not lead tries to, and the leader checks its connection.
RETRY_SECONDS = 2.0


class Leadership:
    """This replica's part in the election; ``is_leader`` says whether it leads now."""

    def __init__(
        self,
        database_url: str,
        *,
        sends: bool,
        polls: bool,
        key: int = LEADER_LOCK,
        retry: float = RETRY_SECONDS,
    ) -> None:
        self.sends = sends  # only the leader sends (no shared budget)
        self.polls = polls  # only the leader polls (no webhook)
        self._url = database_url
        self._key = key
        self._retry = retry
        self._engine: AsyncEngine | None = None
        self._connection: AsyncConnection | None = None
        self._leading = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        """Whether this replica holds the lock now."""
        return self._leading.is_set()

    @property
    def running(self) -> bool:
        """Whether this replica takes part now (between ``start`` and ``stop``)."""
        return self._task is not None

    async def start(self) -> None:
        """Try once now (a lone replica leads before it polls), then keep trying."""
        self._engine = create_async_engine(
            self._url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        await self._try()
        self._task = asyncio.create_task(self._keep(), name="reminderbot-leadership")

    async def stop(self) -> None:
        """Give the lock up (closing its connection) and stop trying."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def wait(self) -> None:
        """Return once this replica leads."""
        await self._leading.wait()

    async def may_poll(self, params: dict[str, Any]) -> bool:
        """Whether a getUpdates call may go to Telegram: a long poll waits until this replica
        leads; a short one (PTB's last call when stopping) is skipped unless it leads."""
        if self.is_leader or not self.polls:
            return True
        if not params.get("timeout"):
            return False
        await self.wait()
        return True


    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._retry)
            await self._try()

    async def _try(self) -> None:
        """Take the lock when free; as leader, check the connection that holds it."""
        assert self._engine is not None
        try:
            if self._connection is None:
                self._connection = await asyncio.wait_for(self._engine.connect(), self._retry)
            if self.is_leader:
                await asyncio.wait_for(self._connection.execute(text("SELECT 1")), self._retry)
                return
            taken = await asyncio.wait_for(
                self._connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
                ),
                self._retry,
            )
        except Exception as exc:  # the connection (and with it the lock, if held) is gone
            if self.is_leader:
                log.warning("lost the leader lock (%s); this replica stops %s",
                            type(exc).__name__, self._role())
            self._leading.clear()
            await self._drop()
            return
        if taken:
            self._leading.set()
            log.info("this replica leads: it %s", self._role())

    def _role(self) -> str:
        roles = [what for what, on in (("sends", self.sends), ("polls", self.polls)) if on]
        return " and ".join(roles)

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self._leading.clear()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


def leadership_for(settings: Settings) -> Leadership | None:
    """The election a process of these settings takes part in (None: it leads alone).

    On PostgreSQL: one sender when there is no shared budget (``REDIS_URL``), one poller
    when there is no webhook (``WEBHOOK_URL``); with both, every replica does everything.
    """
    if not settings.database_url.startswith("postgresql"):
        return None
    sends = not settings.redis_url
    polls = not getattr(settings, "webhook_url", None)
    if not (sends or polls):
        return None
    return Leadership(settings.database_url, sends=sends, polls=polls)


# What Telegram answers a getUpdates call with no updates.
_NO_UPDATES = b'{"ok":true,"result":[]}'


class LeaderPolling(HTTPXRequest):
    """PTB's getUpdates request, made only by the leading replica.

    Telegram answers a second poller with 409 Conflict and hands each update to one of them;
    a replica that does not lead waits here instead (PTB stops the wait when it stops).
    """

    def __init__(self, leadership: Leadership | None) -> None:
        # Two: PTB's last getUpdates at shutdown (it confirms what was fetched) can find the
        # cancelled long poll's connection not yet given back, and logged an ERROR then.
        super().__init__(connection_pool_size=2)
        self.leadership = leadership

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Wait until this replica leads, then poll (a short poll is answered empty here)."""
        if self.leadership is not None and url.endswith("/getUpdates"):
            params = request_data.parameters if request_data is not None else {}
            if not await self.leadership.may_poll(params):
                return 200, _NO_UPDATES
        return await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout,
            pool_timeout,
        )
