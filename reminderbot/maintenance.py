"""The daily maintenance job: users who blocked the bot are erased after a grace period.

A block is seen when Telegram refuses a reminder (the dispatcher stops the user with reason
``blocked``). ``ERASE_BLOCKED_AFTER_DAYS`` later every row about them goes, in every table,
through ``subscriptions.erase``. Several replicas may run the job: on PostgreSQL a transaction
advisory lock lets one of them do the work and the others skip it; SQLite has one process.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reminderbot.db.models import StopReason, User, UserStatus
from reminderbot.subscriptions import erase

log = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key of this job (any constant no other job of the bot uses).
ERASE_LOCK = 0x72626F7401  # "rbot" 1
# How often the job runs.
INTERVAL = timedelta(days=1)


async def _lock(session: AsyncSession) -> bool:
    """This transaction may do the job: on PostgreSQL, no other replica is doing it now."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(ERASE_LOCK))))


async def erase_blocked(
    sessions: async_sessionmaker[AsyncSession], now: datetime, after_days: int
) -> int | None:
    """Erase every user stopped by a block at least ``after_days`` ago; return how many.

    ``after_days`` 0 keeps everyone. None: another replica holds the lock and does the work.
    """
    if after_days <= 0:
        return 0
    cutoff = now - timedelta(days=after_days)
    async with sessions.begin() as session:
        if not await _lock(session):
            return None
        due = (
            await session.scalars(
                select(User.telegram_user_id).where(
                    User.status == UserStatus.STOPPED,
                    User.stop_reason == StopReason.BLOCKED,
                    User.stopped_at <= cutoff,
                )
            )
        ).all()
        for telegram_user_id in due:
            await erase(session, telegram_user_id)
    if due:
        log.info("erased %d users who blocked the bot %d or more days ago", len(due), after_days)
    return len(due)
