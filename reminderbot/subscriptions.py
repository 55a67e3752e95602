"""A user's opt-in state: consent, stop, pause and resume, snooze, and erasing everything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reminderbot.db.models import (
    Base,
    Schedule,
    ScheduleKind,
    ScheduleState,
    StopReason,
    User,
    UserStatus,
)
from reminderbot.preferences import (
    Planner,
    Preferences,
    drop_one_shots,
    preferences_of,
    recurring_rows,
    replan,
)
from reminderbot.schedule import WakingWindow

SNOOZE = timedelta(minutes=30)
SNOOZABLE = (ScheduleKind.HYDRATION, ScheduleKind.CHECKIN)


@dataclass(frozen=True)
class Plan:
    """What a user's reminders look like right after they opt in or resume."""

    preferences: Preferences
    first_hydration: datetime | None
    next_checkin: datetime | None


async def find_user(session: AsyncSession, telegram_user_id: int) -> User | None:
    """The stored user for a Telegram user id, if they ever opted in."""
    found: User | None = await session.scalar(
        select(User).where(User.telegram_user_id == telegram_user_id)
    )
    return found


async def opt_in(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    chat_id: int,
    language: str,
    now: datetime,
    planner: Planner,
    source: str | None = None,
) -> Plan:
    """Turn reminders on (first time, or after /stop with the settings kept) from ``now``.

    ``source`` (the partner code of a deep link) is kept only on a first opt-in.
    """
    user = await find_user(session, telegram_user_id)
    if user is None:
        user = User(
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            language=language,
            created_at=now,
            source=source,
        )
        user.wake_start, user.wake_end = WakingWindow().start, WakingWindow().end
        session.add(user)
    user.chat_id = chat_id
    user.status = UserStatus.ACTIVE
    user.paused_until = None
    user.consented_at = now
    user.stopped_at = None
    user.stop_reason = None
    await session.flush()
    rows = await recurring_rows(session, user)
    tolerance = rows[ScheduleKind.TOLERANCE]
    if tolerance.weekday is None:
        tolerance.weekday = now.astimezone(planner.zone(user)).weekday()
    replan(user, rows, planner, now)
    await session.flush()
    return _plan(user, rows, planner)


def _plan(user: User, rows: dict[str, Schedule], planner: Planner) -> Plan:
    preferences = preferences_of(user, rows, planner)
    hydration, checkin = rows[ScheduleKind.HYDRATION], rows[ScheduleKind.CHECKIN]
    return Plan(
        preferences=preferences,
        first_hydration=hydration.next_due_at if hydration.state == ScheduleState.ON else None,
        next_checkin=checkin.next_due_at if checkin.state == ScheduleState.ON else None,
    )


async def stop(
    session: AsyncSession,
    telegram_user_id: int,
    now: datetime,
    reason: StopReason = StopReason.USER,
) -> int | None:
    """End every reminder of a user, keeping their settings; return their row id, or None.

    ``reason`` BLOCKED (Telegram refused delivery) has the data erased after a grace period.
    """
    user = await find_user(session, telegram_user_id)
    if user is None or user.status == UserStatus.STOPPED:
        return None
    user.status = UserStatus.STOPPED
    user.stopped_at = now
    user.stop_reason = reason
    user.paused_until = None
    await drop_one_shots(session, user)
    return user.id


async def pause(
    session: AsyncSession, user: User, until: datetime | None, planner: Planner, now: datetime
) -> None:
    """Send nothing until ``until`` (None: until /resume); then go on from the next slot."""
    user.status = UserStatus.PAUSED
    user.paused_until = until
    await drop_one_shots(session, user)
    rows = await recurring_rows(session, user)
    replan(user, rows, planner, now)


async def resume(session: AsyncSession, user: User, planner: Planner, now: datetime) -> Plan:
    """End a pause: reminders go on from the next future slot, none for the missed ones."""
    user.status = UserStatus.ACTIVE
    user.paused_until = None
    rows = await recurring_rows(session, user)
    replan(user, rows, planner, now)
    await session.flush()
    return _plan(user, rows, planner)


async def snooze(session: AsyncSession, user: User, kind: str, now: datetime) -> datetime:
    """Send a ``kind`` reminder once more in 30 minutes; later slots stay as they are."""
    if kind not in SNOOZABLE:
        raise ValueError("not a reminder that can be snoozed")
    due = now + SNOOZE
    pending = await session.scalar(
        select(Schedule).where(
            Schedule.user_id == user.id,
            Schedule.once.is_(True),
            Schedule.kind == kind,
            Schedule.state == ScheduleState.ON,
        )
    )
    if pending is None:
        pending = Schedule(
            user_id=user.id, kind=kind, once=True, sent_count=0, skipped_count=0
        )
        session.add(pending)
    pending.state = ScheduleState.ON
    pending.next_due_at = due
    await session.flush()
    return due


async def erase(session: AsyncSession, telegram_user_id: int) -> bool:
    """Delete every row that belongs to the user, in every table; False if none existed."""
    user = await find_user(session, telegram_user_id)
    if user is None:
        return False
    for table in reversed(Base.metadata.sorted_tables):
        if "user_id" in table.c:
            await session.execute(delete(table).where(table.c.user_id == user.id))
    await session.execute(delete(User).where(User.id == user.id))
    return True

