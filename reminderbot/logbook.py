"""What users log: glasses of water per local day and check-in answers (codes only)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reminderbot.db.models import CheckinAnswer, HydrationDay, User, UserStatus
from reminderbot.subscriptions import find_user
from reminderbot.texts import CHECKIN_ANSWERS


async def log_glass(
    session: AsyncSession, telegram_user_id: int, now: datetime, default_zone: str
) -> int | None:
    """Add one glass to the user's local today; return today's count (None: not a user)."""
    user = await find_user(session, telegram_user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        return None
    day = now.astimezone(ZoneInfo(user.timezone or default_zone)).date()
    row = await session.scalar(
        select(HydrationDay)
        .where(HydrationDay.user_id == user.id, HydrationDay.day == day)
        .with_for_update()
    )
    if row is None:
        row = HydrationDay(user_id=user.id, day=day, glasses=0)
        session.add(row)
    row.glasses += 1
    await session.flush()
    return row.glasses


async def record_checkin(
    session: AsyncSession, telegram_user_id: int, answer: str, now: datetime
) -> User | None:
    """Store a check-in answer code; return the user (None: not a user, nothing stored)."""
    if answer not in CHECKIN_ANSWERS:
        raise ValueError("unknown check-in answer")
    user = await find_user(session, telegram_user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        return None
    session.add(CheckinAnswer(user_id=user.id, answered_at=now, answer=answer))
    return user
