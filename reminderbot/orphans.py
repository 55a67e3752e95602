"""Rows a dead process of this host had claimed, given back when the bot starts.

A process killed while dispatching (SIGKILL, a crash, the machine's OOM killer) leaves its
claimed rows leased for up to five minutes. Started again on the same host, the bot gives
them back at once instead: a row still waiting for its turn goes out now, not five minutes
late. A row whose send was on the wire at the kill may have reached Telegram; it goes again
(at most the sends in flight at that moment are doubled, as after the lease; nothing is lost).
Claims of other hosts, and of processes still alive, are left to their lease; announcement rows
to ``announce``, which counts one that may have gone as sent (nobody gets it twice).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reminderbot.db.models import Schedule

log = logging.getLogger(__name__)


def ended(worker: str) -> bool:
    """Whether ``worker`` (``host:pid:…``, see ``Dispatcher``) was a process of this host
    that is gone. Our own pid is never gone (a container's bot is always pid 1: its old
    claims wait for their lease)."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


async def give_back_orphans(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Release the rows claimed by dead processes of this host (one UPDATE); how many."""
    async with sessions.begin() as session:
        workers = (await session.scalars(
            select(Schedule.claimed_by).distinct().where(
                Schedule.claimed_by.is_not(None), Schedule.claimed_until > now)
        )).all()
        dead = [worker for worker in workers if worker is not None and ended(worker)]
        if not dead:
            return 0
        released = await session.execute(
            update(Schedule)
            # Announcement rows are `announce`'s to recover: one that may have gone is done.
            .where(Schedule.claimed_by.in_(dead), Schedule.announcement_id.is_(None))
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    count = int(getattr(released, "rowcount", 0) or 0)
    log.warning("%d reminders claimed by a process that died were given back", count)
    return count
